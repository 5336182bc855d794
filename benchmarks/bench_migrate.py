"""Benchmark `dragonfly-ci migrate` against `psql -1 -f all.sql` and `supabase db push`.

One scratch server for the whole run, started from the embedded PostgreSQL
binaries with the shadow's throwaway settings (as bench_contract_gate.py does),
listening on 127.0.0.1 so every tool reaches it the same way, over TCP. For each
size (number of pending migration files, a synthetic history from
benchmarks/synthetic.py) and each timed run, every tool gets a fresh empty
database (created and dropped untimed) and is timed as a whole process:

* ours: `dragonfly-ci migrate --db-url URL --format json`: lock, ledger, plan,
  every file with its ledger row and the audit row in one transaction;
* the limit: `psql -X -q -v ON_ERROR_STOP=1 -1 -f all.sql` (the files
  concatenated, no ledger at all);
* the peer: `supabase db push --db-url URL --yes`, the real Supabase CLI, when
  it is installed (`$SUPABASE_CLI`, else .cache/supabase-cli/node_modules/.bin/supabase).

Each run is checked (exit 0, one ledger row per file) before it counts. Then
one 1,000-file run of ours under cProfile gives the top costs. Prints a table
with ratios against the targets and writes benchmarks/out/migrate.json.

    python benchmarks/bench_migrate.py [--sizes 10,100,1000] [--repeat 3] [--no-profile]
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_contract_gate import (  # noqa: E402
    dragonfly_ci,
    machine,
    pg_bin_dir,
    pg_owner,
    summary,
    wait_ready,
    write_results,
)
from synthetic import generate  # noqa: E402

from dragonfly_ci.postgres.server import SHADOW_SETTINGS  # noqa: E402

OUT_FILE = HERE / "out" / "migrate.json"
REPO = HERE.parent
CLI_CACHE = REPO / ".cache" / "supabase-cli" / "node_modules" / ".bin" / "supabase"
TARGET_VS_PSQL = 1.15  # ours / psql, at TARGET_FILES files
TARGET_VS_CLI = 1.4  # supabase db push / ours, at TARGET_FILES files
TARGET_FILES = 1000
RUN_TIMEOUT_S = 900


# ---------------------------------------------------------------- the scratch server


class Scratch:
    """A throwaway server on 127.0.0.1 from the embedded binaries, shadow settings."""

    def __init__(self, bins: Path, owner: tuple[int, int] | None) -> None:
        self.bins = bins
        self.root = Path(tempfile.mkdtemp(prefix="dfmig-"))
        self.port = _free_port()
        user_kw = {"user": owner[0], "group": owner[1]} if owner else {}
        if owner:
            os.chown(self.root, *owner)
        data = self.root / "data"
        subprocess.run([str(bins / "initdb"), "-D", str(data), "--no-sync", "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--locale=C"], check=True, capture_output=True, **user_kw)
        settings = [arg for key, value in SHADOW_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        log = open(self.root / "server.log", "wb")  # noqa: SIM115 - handed to the server
        self.process = subprocess.Popen(
            [str(bins / "postgres"), "-D", str(data), "-k", str(self.root), "-h", "127.0.0.1",
             "-p", str(self.port), *settings],
            stdout=log, stderr=subprocess.STDOUT, **user_kw)
        log.close()
        try:
            wait_ready(self.process, data, self.root / "server.log")
        except BaseException:
            self.stop()
            raise

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run([str(self.bins / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-d", self.url(db), "-c", sql], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        self.psql("postgres", f'create database "{name}"')
        try:
            yield self.url(name)
        finally:
            self.psql("postgres", f'drop database if exists "{name}" with (force)')

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the tools


def supabase_cli() -> tuple[Path | None, str]:
    """The Supabase CLI to compare with, or None and why not."""
    configured = os.environ.get("SUPABASE_CLI")
    candidate = Path(configured) if configured else CLI_CACHE
    if not candidate.exists():
        where = f"$SUPABASE_CLI={configured}" if configured else f"{CLI_CACHE.relative_to(REPO)}"
        return None, (f"not installed ({where} does not exist); install the pinned CLI with "
                      "`bash tests/supabase_cli/install.sh` or set SUPABASE_CLI")
    try:
        out = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{candidate} does not run: {exc}"
    if out.returncode != 0:
        return None, f"{candidate} --version exited {out.returncode}: {out.stderr.strip()[-300:]}"
    return candidate, out.stdout.strip()


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """One whole process: wall time, exit code, the ends of its output."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "exit_code": proc.returncode, "stdout": proc.stdout[-3000:],
            "stderr": proc.stderr[-3000:]}


def run_ours(script: Path, project: Path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return timed([str(script), "migrate", "--db-url", url, "--format", "json"], project, env)


def run_psql(bins: Path, all_sql: Path, project: Path, url: str) -> dict:
    return timed([str(bins / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(all_sql),
                  "-d", url], project)


def run_cli(cli: Path, project: Path, url: str) -> dict:
    env = {**os.environ, "SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1"}
    return timed([str(cli), "db", "push", "--db-url", url, "--yes"], project, env)


def ledger_rows(server: Scratch, db: str) -> int:
    return int(server.psql(db, "select count(*) from supabase_migrations.schema_migrations"))


def relations(server: Scratch, db: str) -> int:
    return int(server.psql(db, "select count(*) from pg_class c join pg_namespace n on n.oid = "
                               "c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', "
                               "'pg_toast', 'supabase_migrations', 'dragonfly')"))


# ---------------------------------------------------------------- the profile


def profile_ours(server: Scratch, project: Path, top: int = 25) -> dict:
    """One run of ours under cProfile: the functions with the most own and cumulative time."""
    with tempfile.TemporaryDirectory() as tmp, server.database("bench_profile") as url:
        prof = Path(tmp) / "migrate.prof"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        result = timed([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "dragonfly_ci", "migrate",
                        "--db-url", url, "--format", "json"], project, env)
        if result["exit_code"] != 0:
            return {"error": f"exit {result['exit_code']}: {result['stderr'][-1500:]}"}
        stats = pstats.Stats(str(prof))
        total = stats.total_tt  # type: ignore[attr-defined]

        def rows(key: str) -> list[dict]:
            column = 2 if key == "tottime" else 3
            table = stats.stats  # type: ignore[attr-defined]
            entries = sorted(table.items(), key=lambda kv: kv[1][column], reverse=True)[:top]
            out = []
            for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in entries:
                where = func if file == "~" else f"{_short_path(file)}:{line}({func})"
                out.append({"function": where, "calls": ncalls, "tottime_s": round(tottime, 4),
                            "cumtime_s": round(cumtime, 4)})
            return out

        text = io.StringIO()
        pstats.Stats(str(prof), stream=text).sort_stats("cumulative").print_stats(30)
        return {"wall_s": result["seconds"], "profiled_total_s": total, "by_tottime": rows("tottime"),
                "by_cumtime": rows("cumtime"), "text": text.getvalue()[-12000:]}


def _short_path(path: str) -> str:
    for marker in ("/site-packages/", "/dragonfly_ci/", "/lib/python"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return ("dragonfly_ci/" if marker == "/dragonfly_ci/" else "") + tail
    return path


# ---------------------------------------------------------------- report


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def print_table(results: dict) -> None:
    print()
    print(f"{'files':>6} {'psql -1 s':>10} {'ours s':>8} {'ours/psql':>9} {'':>4} "
          f"{'db push s':>10} {'push/ours':>9} {'':>4}")
    for row in results["sizes"]:
        at_target = row["files"] == TARGET_FILES
        vs_psql, vs_cli = row.get("ours_vs_psql"), row.get("cli_vs_ours")
        print(f"{row['files']:>6} {fmt(row.get('psql_s', {}).get('median'), '.3f'):>10} "
              f"{fmt(row.get('ours_s', {}).get('median'), '.3f'):>8} {fmt(vs_psql, '.2f'):>9} "
              f"{verdict(vs_psql <= TARGET_VS_PSQL if at_target and vs_psql else None):>4} "
              f"{fmt(row.get('cli_s', {}).get('median'), '.3f'):>10} {fmt(vs_cli, '.2f'):>9} "
              f"{verdict(vs_cli >= TARGET_VS_CLI if at_target and vs_cli else None):>4}")
        for problem in row.get("problems", []):
            print(f"       {problem}")
    print(f"\ntargets at {TARGET_FILES} files: ours/psql <= {TARGET_VS_PSQL}; "
          f"supabase db push / ours >= {TARGET_VS_CLI} (ours at least that much faster).")
    if results["supabase_cli"]["path"] is None:
        print(f"supabase db push: could not be measured: {results['supabase_cli']['why']}")
    else:
        print(f"supabase db push: {results['supabase_cli']['version']} ({results['supabase_cli']['path']})")
    print("times are medians of whole processes against fresh databases on one scratch server (TCP).")


def print_profile(profile: dict) -> None:
    if "error" in profile:
        print(f"\nprofile failed: {profile['error']}")
        return
    print(f"\ncProfile of one {TARGET_FILES}-file run: wall {profile['wall_s']:.2f} s "
          f"(with profiler overhead), {profile['profiled_total_s']:.2f} s profiled")
    print(f"{'own s':>7} {'cum s':>7} {'calls':>8}  function (top by own time)")
    for entry in profile["by_tottime"][:15]:
        print(f"{entry['tottime_s']:>7.3f} {entry['cumtime_s']:>7.3f} {entry['calls']:>8}  "
              f"{entry['function']}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated numbers of migration files")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size and tool (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic history seed")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write the JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    bins = pg_bin_dir()
    script = dragonfly_ci()
    cli, cli_about = supabase_cli()
    version = subprocess.run([str(bins / "postgres"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    results: dict = {
        "machine": machine(postgres=version),
        "repeat": args.repeat, "seed": args.seed,
        "targets": {"ours_vs_psql_max": TARGET_VS_PSQL, "cli_vs_ours_min": TARGET_VS_CLI,
                    "at_files": TARGET_FILES},
        "supabase_cli": {"path": str(cli) if cli else None,
                         "version" if cli else "why": cli_about},
        "sizes": [],
    }
    print(f"{version}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; supabase CLI: "
          f"{cli_about if cli else 'not measured: ' + cli_about}", flush=True)

    server = Scratch(bins, pg_owner())
    try:
        with tempfile.TemporaryDirectory(prefix="dfbench-") as tmp:
            tmp_dir = Path(tmp)
            for n in sizes:
                project = generate(tmp_dir / f"project-{n}", n, args.seed)
                all_sql = tmp_dir / f"all-{n}.sql"
                with all_sql.open("wb") as out:
                    for path in sorted((project / "supabase" / "migrations").glob("*.sql")):
                        out.write(path.read_bytes() + b"\n")
                tools = {"ours": lambda url, p=project: run_ours(script, p, url),
                         "psql": lambda url, p=project, a=all_sql: run_psql(bins, a, p, url)}
                if cli:
                    tools["cli"] = lambda url, p=project: run_cli(cli, p, url)
                row: dict = {"files": n, "problems": []}
                times: dict[str, list[float]] = {name: [] for name in tools}
                objects: dict[str, int] = {}
                broken: set[str] = set()
                # One unmeasured warm-up each, then interleaved runs so drift hits all alike.
                for i in range(args.repeat + 1):
                    for name, run in tools.items():
                        if name in broken:
                            continue
                        with server.database(f"bench_{name}_{n}_{i}") as url:
                            result = run(url)
                            db = url.rsplit("/", 1)[1].split("?")[0]
                            problem = None
                            if result["exit_code"] != 0:
                                problem = f"{name} exited {result['exit_code']}: {result['stderr'][-800:]}"
                            elif name != "psql" and ledger_rows(server, db) != n:
                                problem = f"{name}: {ledger_rows(server, db)} ledger rows, expected {n}"
                            else:
                                objects[name] = relations(server, db)
                        if problem:
                            broken.add(name)
                            row["problems"].append(problem)
                            print(f"[{n} files] {problem}", flush=True)
                        elif i > 0:
                            times[name].append(result["seconds"])
                if len(set(objects.values())) > 1:
                    row["problems"].append(f"the tools built different numbers of relations: {objects}")
                for name, values in times.items():
                    if values and name not in broken:
                        row[f"{name}_s"] = summary(values)
                ours = row.get("ours_s", {}).get("median")
                if ours and "psql_s" in row:
                    row["ours_vs_psql"] = ours / row["psql_s"]["median"]
                if ours and "cli_s" in row:
                    row["cli_vs_ours"] = row["cli_s"]["median"] / ours
                results["sizes"].append(row)
                print(f"[{n} files] " + ", ".join(
                    f"{name} {row[name + '_s']['median']:.3f} s" for name in tools if name + "_s" in row),
                    flush=True)

            print_table(results)
            if not args.no_profile:
                project = tmp_dir / f"project-{TARGET_FILES}"
                if not project.exists():
                    project = generate(project, TARGET_FILES, args.seed)
                results["profile"] = profile_ours(server, project)
                print_profile(results["profile"])
    finally:
        server.stop()

    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
