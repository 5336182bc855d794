"""Benchmark schema drift detection against migra on the same pair of databases.

One scratch embedded server (the shadow's throwaway settings, listening on
127.0.0.1 so migra reaches it over TCP like any server). On the synthetic
history (benchmarks/synthetic.py, 1,000 files by default) it builds two
databases that differ in the last 10% of the files: A with every file, B with
the first 90%, each from scratch, so that no OID names the same object in both
(as in a shadow and production). Then, in the same run, `--repeat` times each:

* ours: what the schema-consistency gate does, in-process: connect to both,
  fingerprint both, read in full what may differ (`postgres.fingerprints.
  read_pair`, each database on its own thread) and `checks.drift.compare` the
  two partial snapshots (the SourceIndex that locates findings is built once,
  untimed, and timed on its own: it reads files, not databases). The findings
  are checked to be the very ones a comparison of two full `take_snapshot`s
  gives;
* migra, like for like: its Python API (imported beforehand), from opening both
  connections to the migration SQL, as ours is timed; the ratio of the
  medians is the verdict (target: ours at least 10x faster);
* migra as users run it: `migra --unsafe <urlA> <urlB>` as a subprocess
  (exit 2 means "found differences"), and the same with `--with-privileges`,
  since migra compares grants only when asked, and comments never. Its
  interpreter start and imports (about 0.3 s) count there, so that ratio is
  printed for information only.

Prints the median and range of each over `--repeat` runs and writes
benchmarks/out/drift.json. Other work on the machine slows ours (two server
backends and the client at once) more than migra (one client, mostly): note
the load average printed next to the results.

    python benchmarks/bench_drift.py [--files 1000] [--repeat 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_contract_gate import machine, write_results  # noqa: E402
from synthetic import generate  # noqa: E402

from dragonfly_ci.checks.drift import compare  # noqa: E402
from dragonfly_ci.migrations.apply import apply_files  # noqa: E402
from dragonfly_ci.migrations.files import discover  # noqa: E402
from dragonfly_ci.migrations.sources import SourceIndex, build_index  # noqa: E402
from dragonfly_ci.postgres.catalog import resolve_types, take_snapshot  # noqa: E402
from dragonfly_ci.postgres.connect import connect  # noqa: E402
from dragonfly_ci.postgres.fingerprints import PARTS, plan, read_pair, take_fingerprints  # noqa: E402
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, start_embedded  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_FILE = HERE / "out" / "drift.json"
TARGET_RATIO = 10.0  # migra's time / ours, at least


def build_pair(server: EmbeddedServer, project: Path) -> tuple[str, str, list]:
    """A = every file; B = the first 90%, built apart (as a shadow and production are: no
    OID is shared). Returns (A, B, files)."""
    files, _ = discover(project / "supabase" / "migrations", lambda p: p.relative_to(project).as_posix())
    cut = len(files) * 9 // 10
    names = []
    for prefix, history in (("drift_b", files[:cut]), ("drift_a", files)):
        names.append(create_database(server, prefix=prefix))
        with connect(server.conninfo(names[-1]), autocommit=True) as conn:
            outcome = apply_files(conn, history)
            if outcome.failure:
                raise RuntimeError(f"the synthetic history failed to apply: {outcome.failure.message}")
    b, a = names
    return a, b, files


def time_ours(server: EmbeddedServer, a: str, b: str, sources: SourceIndex) -> tuple[float, list, dict]:
    """Both databases at once, as the gate reads production while its shadow builds:
    each is mostly waiting on its own server backend."""
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        conn_a, conn_b = pool.map(connect, [server.conninfo(a), server.conninfo(b)])
    with conn_a, conn_b:
        pair = read_pair(conn_a, conn_b)
    findings = compare(pair.expected, pair.actual, sources)
    seconds = time.perf_counter() - start
    chosen = pair.plan
    read = {"relations alike (not read)": len(chosen.alike_relations),
            "functions alike (not read)": len(chosen.alike_functions),
            "relations read (A, B)": [len(chosen.expected.bare_relations), len(chosen.actual.bare_relations)],
            "of which one side only": len(chosen.bare_relations),
            "relations whose columns, indexes, constraints, policies, triggers are read (A)": [
                len(getattr(chosen.expected, part)) for part in PARTS]}
    return seconds, findings, read


def time_ours_sequential(server: EmbeddedServer, a: str, b: str, sources: SourceIndex) -> float:
    start = time.perf_counter()
    with connect(server.conninfo(a)) as conn_a, connect(server.conninfo(b)) as conn_b:
        chosen = plan(take_fingerprints(conn_a), take_fingerprints(conn_b))
        expected, actual = take_snapshot(conn_a, chosen.expected), take_snapshot(conn_b, chosen.actual)
    compare(expected, actual, sources)
    return time.perf_counter() - start


def full_findings(server: EmbeddedServer, a: str, b: str, sources: SourceIndex) -> list:
    """The findings of two whole snapshots: what the fast path must give too."""
    with connect(server.conninfo(a)) as conn_a, connect(server.conninfo(b)) as conn_b:
        return compare(take_snapshot(conn_a), take_snapshot(conn_b), sources)


def summary(runs: list[float]) -> dict:
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs), "runs": runs}


def migra_command() -> list[str] | None:
    script = Path(sys.executable).parent / "migra"
    return [str(script)] if script.exists() else None


def time_migra(command: list[str], url_a: str, url_b: str,
               *extra: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([*command, "--unsafe", *extra, url_a, url_b], capture_output=True, text=True)
    return time.perf_counter() - start, proc


def time_migra_in_process(url_a: str, url_b: str) -> float | None:
    """migra's own work without its process: its Python API, imported beforehand, from
    opening both connections to the SQL, as ours is timed. None: migra is not importable."""
    try:
        from migra import Migration
        from sqlbag import S
    except ImportError:
        return None
    start = time.perf_counter()
    with S(url_a) as s0, S(url_b) as s1:
        migration = Migration(s0, s1)
        migration.set_safety(False)
        migration.add_all_changes()
        migration.sql  # noqa: B018 - computing it is the work
    return time.perf_counter() - start


def statements(sql: str) -> int:
    return sum(1 for chunk in sql.split(";\n") if chunk.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="migration files (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic history seed")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write the JSON")
    args = parser.parse_args(argv)

    results: dict = {
        "machine": machine(),
        "files": args.files, "repeat": args.repeat, "seed": args.seed,
        "target_ratio": TARGET_RATIO,
    }
    server = start_embedded(tcp=True)
    try:
        results["machine"]["postgres"] = server.version
        with tempfile.TemporaryDirectory(prefix="dfdrift-") as tmp:
            project = generate(Path(tmp) / "project", args.files, args.seed)
            started = time.perf_counter()
            a, b, files = build_pair(server, project)
            results["build_s"] = time.perf_counter() - started
            print(f"PostgreSQL {server.version}; built A ({len(files)} files) and B "
                  f"({len(files) * 9 // 10} files) in {results['build_s']:.1f} s", flush=True)

            started = time.perf_counter()
            sources = build_index(files)
            with connect(server.conninfo(a)) as conn:
                sources.normalise_args(resolve_types(conn, sources.written_types()))
            results["source_index_s"] = time.perf_counter() - started

            command = migra_command()
            if command is None:
                results["migra"] = {"error": "migra is not installed next to this Python: "
                                    "pip install migra psycopg2-binary"}
            # Interleaved, so a burst of other work on the machine hits both alike.
            runs: dict[str, list[float]] = {"ours": [], "migra": [], "migra_with_privileges": [],
                                            "migra_in_process": []}
            procs: dict[str, subprocess.CompletedProcess] = {}
            findings: list = []
            read: dict = {}
            load_before = os.getloadavg()
            for _ in range(args.repeat):
                seconds, findings, read = time_ours(server, a, b, sources)
                runs["ours"].append(seconds)
                for label, extra in (("migra", ()), ("migra_with_privileges", ("--with-privileges",))):
                    if command is not None:
                        seconds, procs[label] = time_migra(command, server.url(a), server.url(b), *extra)
                        runs[label].append(seconds)
                in_process = time_migra_in_process(server.url(a), server.url(b))
                if in_process is not None:
                    runs["migra_in_process"].append(in_process)
            results["load_average"] = {"before": load_before, "after": os.getloadavg()}
            results["ours_s"] = summary(runs["ours"])
            if runs["migra_in_process"]:
                results["migra_in_process_s"] = summary(runs["migra_in_process"])
            results["ours_read"] = read
            sequential = [time_ours_sequential(server, a, b, sources) for _ in range(args.repeat)]
            results["ours_sequential_s"] = summary(sequential)
            results["ours_findings"] = dict(Counter(f.rule for f in findings))
            located = sum(1 for f in findings if f.location)
            results["ours_findings_located"] = located
            results["same_findings_as_full_snapshots"] = findings == full_findings(server, a, b, sources)
            ours = results["ours_s"]
            print(f"ours:  median {ours['median']:.3f} s (range {ours['min']:.3f}-{ours['max']:.3f}; "
                  f"one side after the other: median {statistics.median(sequential):.3f} s); "
                  f"{len(findings)} findings ({located} at a migration line): {results['ours_findings']}; "
                  f"the same as two full snapshots give: {results['same_findings_as_full_snapshots']}",
                  flush=True)
            print(f"       read {read}", flush=True)

            for label, proc in procs.items():
                # migra exits 2 when it found differences, 0 when none, 1 on errors.
                if proc.returncode not in (0, 2):
                    results[label] = {"error": f"exit {proc.returncode}", "stderr": proc.stderr[-3000:]}
                    print(f"{label}: failed (exit {proc.returncode}):\n{proc.stderr[-1500:]}")
                    continue
                results[label] = {**summary(runs[label]), "statements": statements(proc.stdout)}
                timing = results[label]
                print(f"{label}: median {timing['median']:.3f} s (range {timing['min']:.3f}-"
                      f"{timing['max']:.3f}); {timing['statements']} statements", flush=True)
            if command is not None:
                imported = subprocess.run(
                    [sys.executable, "-c", "import time; t = time.perf_counter(); import migra, "
                     "schemainspect, sqlbag; print(time.perf_counter() - t)"],
                    capture_output=True, text=True)
                if imported.returncode == 0:
                    results["migra_import_s"] = float(imported.stdout.strip())
    finally:
        server.stop()

    load = results["load_average"]
    print(f"\nload average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load['before'])}; "
          f"after: {', '.join(f'{x:.2f}' for x in load['after'])} ({os.cpu_count()} CPUs)")
    migra = results.get("migra", {})
    in_process = results.get("migra_in_process_s")
    if in_process:
        # Like for like: both timed in-process, after imports, from opening the connections.
        results["ratio"] = in_process["median"] / results["ours_s"]["median"]
        results["ratio_range"] = [in_process["min"] / results["ours_s"]["max"],
                                  in_process["max"] / results["ours_s"]["min"]]
        verdict = "PASS" if results["ratio"] >= TARGET_RATIO else "MISS"
        print(f"ratio migra / ours, both in-process after imports (medians): migra "
              f"{in_process['median']:.3f} s, {results['ratio']:.1f}x (range {results['ratio_range'][0]:.1f}-"
              f"{results['ratio_range'][1]:.1f}x; target >= {TARGET_RATIO:.0f}x) {verdict}")
    if "median" in migra:
        results["ratio_whole_process"] = migra["median"] / results["ours_s"]["median"]
        print(f"migra's whole process (interpreter start and imports included) / ours in-process: "
              f"{results['ratio_whole_process']:.1f}x, not like for like")
        privileged = results.get("migra_with_privileges", {})
        if "median" in privileged:
            ratio = privileged["median"] / results["ours_s"]["median"]
            results["ratio_whole_process_with_privileges"] = ratio
            print(f"  the same with --with-privileges: {ratio:.1f}x")
        if "migra_import_s" in results:
            print(f"  (migra's own imports take {results['migra_import_s']:.2f} s of each of its runs)")
    if not in_process:
        print(f"\nmigra could not be measured in-process: {migra.get('error', 'migra is not importable')}")
    print("ours compares comments and grants too (migra never compares comments, and grants "
          "only with --with-privileges), and locates each finding at a migration line.")
    write_results(args.out, results)
    return 0 if results.get("same_findings_as_full_snapshots") else 1


if __name__ == "__main__":
    sys.exit(main())
