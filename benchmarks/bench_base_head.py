"""Benchmark `contract-gate --base REF` against the plain gate on the same history.

A git repository holds the synthetic history (benchmarks/synthetic.py, 1,000
files by default) committed on `main`, and a head commit that adds one
migration (a new function, a dropped column, a revoked grant). In one process,
with one embedded server, after an unmeasured warm-up of each, `--repeat`
interleaved runs of:

* single shadow: `contract_gate.run(project)`: discover, build one shadow from
  the head's 1,001 files, report (no contract: the synthetic project has none);
* base vs head: `contract_gate.run(project, base="main")`: also read `main`'s
  files from git, build the base, snapshot it, copy it for the head, apply the
  one new file, snapshot the head, compare the surfaces, locate the changes and
  lint the new file with squawk.

Prints the medians and their ratio (target: base vs head <= 2.2x the single
shadow) and writes benchmarks/out/base_head.json.

    python benchmarks/bench_base_head.py [--files 1000] [--repeat 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_contract_gate import machine, write_results  # noqa: E402
from synthetic import generate  # noqa: E402

from dragonfly_ci.config import load_project  # noqa: E402
from dragonfly_ci.gates import contract_gate  # noqa: E402
from dragonfly_ci.postgres.server import shared_embedded  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT_FILE = HERE / "out" / "base_head.json"
TARGET_RATIO = 2.2

NEW_MIGRATION = """\
-- The pull request: one new migration.
create or replace function public.pr_added(p_id uuid, p_note text default null)
returns boolean
language sql stable
as $$ select p_id is not null $$;
"""


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def make_repository(root: Path, files: int, seed: int, edit_base: bool = False) -> Path:
    generate(root, files, seed)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "switch", "-q", "-c", "head")
    newest = sorted((root / "supabase" / "migrations").iterdir())[-1].name.split("_")[0]
    name = f"{int(newest) + 1}_pull_request.sql"
    (root / "supabase" / "migrations" / name).write_text(NEW_MIGRATION)
    if edit_base:  # the head edits an applied file: nothing to reuse, both shadows built in full
        first = sorted((root / "supabase" / "migrations").iterdir())[0]
        first.write_text(first.read_text() + "\n-- edited in the pull request\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head")
    return root


def timed(project, base: str | None) -> tuple[float, dict]:  # noqa: ANN001 - Project
    started = time.perf_counter()
    result = contract_gate.run(project, base=base)
    seconds = time.perf_counter() - started
    if result.errors:
        raise SystemExit(f"the gate found errors, not a valid timing: {result.findings[:3]}")
    return seconds, dict(result.facts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="migration files at the base (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (3)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic history seed")
    parser.add_argument("--edit-base", action="store_true",
                        help="the head also edits the first base file, so nothing can be reused")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help="where to write the JSON")
    args = parser.parse_args(argv)

    server = shared_embedded()
    print(f"{server.label}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="dfbench-") as tmp:
        root = make_repository(Path(tmp) / "repo", args.files, args.seed, args.edit_base)
        cwd = Path.cwd()
        os.chdir(root)  # squawk and git run where a CI job would run them
        try:
            project = load_project(project_file=root / "dragonfly.yml", cwd=root)
            timed(project, None)  # warm-up: page cache, imports, the server's catalog caches
            _, facts = timed(project, "main")
            single, pair = [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                single.append(timed(project, None)[0])
                pair.append(timed(project, "main")[0])
        finally:
            os.chdir(cwd)

    ratio = statistics.median(pair) / statistics.median(single)
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"\n{args.files} base files + 1 new, medians of {args.repeat}:")
    print(f"  single shadow (contract-gate)         {statistics.median(single):7.3f} s")
    print(f"  base vs head (contract-gate --base)   {statistics.median(pair):7.3f} s")
    print(f"  ratio {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")
    for key in ("base shadow", "base built in", "surface changes", "lint"):
        if key in facts:
            print(f"  {key}: {facts[key]}")
    results = {
        "machine": machine(server=server.label),
        "files": args.files, "repeat": args.repeat, "seed": args.seed, "edit_base": args.edit_base,
        "single_s": single, "base_head_s": pair, "ratio": ratio, "target": TARGET_RATIO,
        "facts": facts,
    }
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
