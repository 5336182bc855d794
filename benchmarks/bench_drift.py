"""Benchmark schema drift detection against migra on the same pair of databases.

One scratch embedded server (the shadow's throwaway settings, listening on
127.0.0.1 so migra reaches it over TCP like any server). On the synthetic
history (benchmarks/synthetic.py, 1,000 files by default) it builds two
databases that differ in the last 10% of the files: A with every file, B with
the first 90% (B is a template copy of A taken before the last files run).
Then, in the same run, best of `--repeat`:

* ours: connect to both, `take_snapshot` of each and `checks.drift.compare`,
  in-process (the SourceIndex that locates findings is built once, untimed,
  and timed on its own: it reads files, not databases);
* migra: `migra --unsafe <urlA> <urlB>` as a subprocess (exit 2 means "found
  differences"), and the same with `--with-privileges`, since migra compares
  grants only when asked, and comments never.

Prints both, the ratio (target: ours at least 10x faster than plain migra) and
writes benchmarks/out/drift.json.

    python benchmarks/bench_drift.py [--files 1000] [--repeat 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import generate  # noqa: E402

from dragonfly_ci.checks.drift import compare  # noqa: E402
from dragonfly_ci.migrations.apply import apply_files  # noqa: E402
from dragonfly_ci.migrations.files import discover  # noqa: E402
from dragonfly_ci.migrations.sources import SourceIndex, build_index  # noqa: E402
from dragonfly_ci.postgres.catalog import Snapshot, resolve_types, take_snapshot  # noqa: E402
from dragonfly_ci.postgres.connect import connect  # noqa: E402
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, start_embedded  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_FILE = HERE / "out" / "drift.json"
TARGET_RATIO = 10.0  # migra's time / ours, at least


def build_pair(server: EmbeddedServer, project: Path) -> tuple[str, str, list]:
    """A = every file; B = the first 90%. Returns (A, B, files)."""
    files, _ = discover(project / "supabase" / "migrations", lambda p: p.relative_to(project).as_posix())
    cut = len(files) * 9 // 10
    a = create_database(server, prefix="drift_a")
    with connect(server.conninfo(a), autocommit=True) as conn:
        outcome = apply_files(conn, files[:cut])
        if outcome.failure:
            raise RuntimeError(f"the synthetic history failed to apply: {outcome.failure.message}")
    # A template copy needs its source idle: the connection above is closed.
    b = create_database(server, prefix="drift_b", template=a)
    with connect(server.conninfo(a), autocommit=True) as conn:
        outcome = apply_files(conn, files[cut:])
        if outcome.failure:
            raise RuntimeError(f"the synthetic history failed to apply: {outcome.failure.message}")
    return a, b, files


def snapshot_of(conninfo: str) -> Snapshot:
    with connect(conninfo) as conn:
        return take_snapshot(conn)


def time_ours(server: EmbeddedServer, a: str, b: str, sources: SourceIndex) -> tuple[float, list]:
    """Both snapshots at once, as the gate reads production while its shadow builds:
    each is mostly waiting on its own server backend."""
    start = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        expected, actual = pool.map(snapshot_of, [server.conninfo(a), server.conninfo(b)])
    findings = compare(expected, actual, sources)
    return time.perf_counter() - start, findings


def time_ours_sequential(server: EmbeddedServer, a: str, b: str, sources: SourceIndex) -> float:
    start = time.perf_counter()
    expected, actual = snapshot_of(server.conninfo(a)), snapshot_of(server.conninfo(b))
    compare(expected, actual, sources)
    return time.perf_counter() - start


def migra_command() -> list[str] | None:
    script = Path(sys.executable).parent / "migra"
    return [str(script)] if script.exists() else None


def time_migra(command: list[str], url_a: str, url_b: str,
               *extra: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([*command, "--unsafe", *extra, url_a, url_b], capture_output=True, text=True)
    return time.perf_counter() - start, proc


def statements(sql: str) -> int:
    return sum(1 for chunk in sql.split(";\n") if chunk.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="migration files (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, best kept (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic history seed")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write the JSON")
    args = parser.parse_args(argv)

    results: dict = {
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                    "cpus": os.cpu_count()},
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

            ours, findings = [], []
            for _ in range(args.repeat):
                seconds, findings = time_ours(server, a, b, sources)
                ours.append(seconds)
            results["ours_s"] = {"best": min(ours), "runs": ours}
            sequential = [time_ours_sequential(server, a, b, sources) for _ in range(args.repeat)]
            results["ours_sequential_s"] = {"best": min(sequential), "runs": sequential}
            results["ours_findings"] = dict(Counter(f.rule for f in findings))
            located = sum(1 for f in findings if f.location)
            results["ours_findings_located"] = located
            print(f"ours:  best {min(ours):.3f} s (one snapshot after the other: "
                  f"{min(sequential):.3f} s); {len(findings)} findings "
                  f"({located} at a migration line): {results['ours_findings']}", flush=True)

            command = migra_command()
            if command is None:
                results["migra"] = {"error": "migra is not installed next to this Python: "
                                    "pip install migra psycopg2-binary"}
            else:
                for label, extra in (("migra", ()), ("migra_with_privileges", ("--with-privileges",))):
                    runs, proc = [], None
                    for _ in range(args.repeat):
                        seconds, proc = time_migra(command, server.url(a), server.url(b), *extra)
                        runs.append(seconds)
                    # migra exits 2 when it found differences, 0 when none, 1 on errors.
                    if proc.returncode not in (0, 2):
                        results[label] = {"error": f"exit {proc.returncode}", "stderr": proc.stderr[-3000:]}
                        print(f"{label}: failed (exit {proc.returncode}):\n{proc.stderr[-1500:]}")
                        continue
                    results[label] = {"best": min(runs), "runs": runs,
                                      "statements": statements(proc.stdout)}
                    print(f"{label}: best {min(runs):.3f} s; {statements(proc.stdout)} statements",
                          flush=True)
                imported = subprocess.run(
                    [sys.executable, "-c", "import time; t = time.perf_counter(); import migra, "
                     "schemainspect, sqlbag; print(time.perf_counter() - t)"],
                    capture_output=True, text=True)
                if imported.returncode == 0:
                    results["migra_import_s"] = float(imported.stdout.strip())
    finally:
        server.stop()

    migra = results.get("migra", {})
    if "best" in migra:
        results["ratio"] = migra["best"] / results["ours_s"]["best"]
        verdict = "PASS" if results["ratio"] >= TARGET_RATIO else "MISS"
        print(f"\nratio migra / ours: {results['ratio']:.1f}x (target >= {TARGET_RATIO:.0f}x) {verdict}")
        privileged = results.get("migra_with_privileges", {})
        if "best" in privileged:
            results["ratio_with_privileges"] = privileged["best"] / results["ours_s"]["best"]
            print(f"ratio migra --with-privileges / ours: {results['ratio_with_privileges']:.1f}x")
        if "migra_import_s" in results:
            print(f"(migra's own imports take {results['migra_import_s']:.2f} s of each of its runs)")
    else:
        print(f"\nmigra could not be measured: {migra.get('error')}")
    print("ours compares comments and grants too (migra never compares comments, and grants "
          "only with --with-privileges), and locates each finding at a migration line.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
