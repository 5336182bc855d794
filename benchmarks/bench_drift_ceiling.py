"""How fast drift's two-phase read could ever be on this machine: its ceiling against migra.

bench_drift.py measures drift as it is. This script measures, on the same pair
(built the same way) and in the same run, what bounds it, each `--repeat`
times (medians):

* ours: connect to both databases, fingerprint both, read what may differ
  and compare, as bench_drift.py times `schema-consistency`'s work;
* names only: the same, but each fingerprint query hashes names and numbers
  only: no definition is formatted and no OID is looked up. This is NOT sound
  (it misses most differences) and is never used; it is the cheapest
  fingerprint any design that reads both catalogs whole could have. The read
  phase reads and compares exactly what `ours` does (the real plan's
  selection), so only the fingerprint differs;
* split: ours, each side's fingerprint queries spread over two connections
  (four backends), to see whether a side's work can use more CPUs;
* migra: its Python API in-process, as bench_drift.py's like-for-like verdict.

The ratios printed (migra / each) say what each design could reach at best.

    python benchmarks/bench_drift_ceiling.py [--files 1000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_contract_gate import write_results  # noqa: E402
from bench_drift import build_pair, time_migra_in_process  # noqa: E402
from synthetic import generate  # noqa: E402

from dragonfly_ci.checks.drift import compare  # noqa: E402
from dragonfly_ci.migrations.sources import SourceIndex, build_index  # noqa: E402
from dragonfly_ci.postgres import fingerprints  # noqa: E402
from dragonfly_ci.postgres.catalog import (  # noqa: E402
    _VERSION_SQL,
    _catalog_transaction,
    _fetch_all,
    resolve_types,
    take_snapshot,
)
from dragonfly_ci.postgres.connect import connect  # noqa: E402
from dragonfly_ci.postgres.server import start_embedded  # noqa: E402

OUT_FILE = Path(__file__).resolve().parent / "out" / "drift_ceiling.json"


def _names_only(part: str, from_: str, group: str) -> str:
    return fingerprints._per_relation(f"hash_record_extended(row({part}), 0)", from_, group)


# Names and numbers only, straight from each catalog row: unsound, a floor.
NAMES_ONLY = [
    _VERSION_SQL,
    f"""with {fingerprints._RELS}
    select r.oid, r.schema, r.name, false, hash_record_extended(row(r.relkind, c.relrowsecurity), 0)
    from rels r join pg_class c on c.oid = r.oid""",
    fingerprints._FUNCTIONS_FINGERPRINT_SQL,  # functions are few: as ours
    _names_only("a.attnum, a.attname, a.attnotnull",
                "from rels r join pg_attribute a on a.attrelid = r.oid "
                "where a.attnum > 0 and not a.attisdropped", "a.attrelid"),
    _names_only("x.indkey::int2[], x.indisunique",
                "from rels r join pg_index x on x.indrelid = r.oid", "x.indrelid"),
    _names_only("con.conname, con.contype, con.conkey",
                "from rels r join pg_constraint con on con.conrelid = r.oid", "con.conrelid"),
    _names_only("p.polname", "from rels r join pg_policy p on p.polrelid = r.oid", "p.polrelid"),
    _names_only("t.tgname", "from rels r join pg_trigger t on t.tgrelid = r.oid "
                "where not t.tgisinternal", "t.tgrelid"),
]


def _run(conn, queries: list[str]) -> list:
    with _catalog_transaction(conn, read_only=True):
        return _fetch_all(conn, queries)


def timed(conninfos: tuple[str, str], fingerprint: Callable, chosen: fingerprints.Plan,
          sources: SourceIndex, connections_per_side: int = 1) -> float:
    """Connect, fingerprint both sides (as `fingerprint(pool, connections)` does), read the
    plan's selection from both and compare; seconds."""
    start = time.perf_counter()
    with ThreadPoolExecutor(2 * connections_per_side) as pool:
        conns = list(pool.map(connect, [c for c in conninfos for _ in range(connections_per_side)]))
        try:
            fingerprint(pool, conns)
            expected, actual = pool.map(take_snapshot, conns[::connections_per_side],
                                        [chosen.expected, chosen.actual])
        finally:
            for conn in conns:
                conn.close()
    compare(expected, actual, sources)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--out", type=Path, default=OUT_FILE)
    args = parser.parse_args(argv)

    def as_ours(pool, conns):
        list(pool.map(fingerprints.take_fingerprints, conns))

    def names_only(pool, conns):
        list(pool.map(_run, conns, [NAMES_ONLY] * len(conns)))

    def split(pool, conns):
        halves = []
        for conn in conns[::2]:
            queries = fingerprints.fingerprint_queries(conn.info.server_version)
            # About even halves: columns, indexes and constraints on the second connection.
            halves += [queries[:4] + queries[7:], queries[4:7]]
        list(pool.map(_run, conns, halves))

    server = start_embedded(tcp=True)
    try:
        with tempfile.TemporaryDirectory(prefix="dfceiling-") as tmp:
            a, b, files = build_pair(server, generate(Path(tmp) / "project", args.files, 0))
            conninfos = (server.conninfo(a), server.conninfo(b))
            sources = build_index(files)
            with connect(conninfos[0]) as conn_a, connect(conninfos[1]) as conn_b:
                sources.normalise_args(resolve_types(conn_a, sources.written_types()))
                chosen = fingerprints.plan(fingerprints.take_fingerprints(conn_a),
                                           fingerprints.take_fingerprints(conn_b))
            runs: dict[str, list[float]] = {"ours": [], "names_only": [], "split": [], "migra": []}
            load_before = os.getloadavg()
            for _ in range(args.repeat):  # interleaved
                runs["ours"].append(timed(conninfos, as_ours, chosen, sources))
                runs["names_only"].append(timed(conninfos, names_only, chosen, sources))
                runs["split"].append(timed(conninfos, split, chosen, sources, connections_per_side=2))
                migra = time_migra_in_process(server.url(a), server.url(b))
                if migra is not None:
                    runs["migra"].append(migra)
    finally:
        server.stop()

    results = {"files": args.files, "repeat": args.repeat, "cpus": os.cpu_count(),
               "load_average": {"before": load_before, "after": os.getloadavg()},
               **{f"{k}_s": statistics.median(v) for k, v in runs.items() if v}}
    print(f"{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    for label in ("ours", "names_only", "split"):
        seconds = results[f"{label}_s"]
        line = f"{label:11} {seconds * 1000:6.1f} ms (connect, fingerprint, read, compare)"
        if runs["migra"]:
            results[f"ratio_{label}"] = results["migra_s"] / seconds
            line += f"; migra in-process {results['migra_s']:.3f} s / this = {results[f'ratio_{label}']:.1f}x"
        print(line)
    if not runs["migra"]:
        print("migra is not importable: pip install migra psycopg2-binary")
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
