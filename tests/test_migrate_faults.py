"""The hard guarantees of `dragonfly-ci migrate`, with real processes against a real server.

- A migrator killed with SIGKILL at any moment leaves the database exactly as it was.
- Racing migrators: one applies, the others find nothing to do, nothing is applied twice.
- A migrator that cannot get the lock in time exits 3 and names the holder.
- A waiting migrator holds no transaction, so it cannot deadlock with a running
  `create index concurrently`.

The migrators run as `python -m dragonfly_ci migrate --db-url URL --format json`
subprocesses against a private server listening on TCP, as a CI runner would
reach a hosted database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.migrations.lock import LOCK_KEY
from dragonfly_ci.postgres.catalog import Snapshot, take_snapshot
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database, start_embedded

PROJECT_FILE = "version: 1\nsupabase_dir: supabase\nshadow:\n  platform: none\n"
APP = "dragonfly-ci migrate"  # the application_name migrators connect with
KILL_STEP_S = 0.040
KILLS = 12


@pytest.fixture(scope="module")
def tcp_server() -> Iterator[EmbeddedServer]:
    server = start_embedded(tcp=True)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Target:
    name: str
    url: str
    monitor: psycopg.Connection  # autocommit; the test's own eyes on the database

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.monitor.execute(sql, params).fetchall()

    def others(self) -> list[dict[str, Any]]:
        """pg_stat_activity of every other client session on this database."""
        cursor = self.monitor.execute(
            "select pid, application_name, state, xact_start, query_start, wait_event_type, wait_event, "
            "query, xact_start < query_start or state = 'idle in transaction' as in_transaction "
            "from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid() and backend_type = 'client backend'")
        names = [c.name for c in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def wait_quiet(self, timeout: float = 10.0) -> None:
        """Until no other session is left: a killed client's backend notices at its next read."""
        deadline = time.monotonic() + timeout
        while self.others():
            assert time.monotonic() < deadline, self.others()
            time.sleep(0.005)

    def state(self) -> tuple[Snapshot, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Catalog snapshot, ledger rows and audit rows (every column)."""
        ledger = runs = []
        if self.rows("select to_regclass('supabase_migrations.schema_migrations')")[0][0]:
            ledger = self.rows("select * from supabase_migrations.schema_migrations order by version")
        if self.rows("select to_regclass('dragonfly.migration_runs')")[0][0]:
            runs = self.rows("select * from dragonfly.migration_runs order by id")
        return take_snapshot(self.monitor), ledger, runs

    def versions(self) -> list[str]:
        return [row[0] for row in self.state()[1]]


@pytest.fixture
def target(tcp_server: EmbeddedServer) -> Iterator[Target]:
    name = create_database(tcp_server, prefix="faults")
    with connect(tcp_server.conninfo(name), autocommit=True) as monitor:
        yield Target(name, tcp_server.url(name), monitor)
    drop_database(tcp_server, name)


def make_project(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "dragonfly.yml").write_text(PROJECT_FILE)
    migrations = root / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, sql in files.items():
        (migrations / f"{name}.sql").write_text(sql)
    return root


def add(root: Path, files: dict[str, str]) -> None:
    for name, sql in files.items():
        (root / "supabase" / "migrations" / f"{name}.sql").write_text(sql)


def spawn(root: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.Popen(
        [sys.executable, "-m", "dragonfly_ci", "migrate", "--db-url", url, "--format", "json", *args],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, dict | None, str]:
    out, err = proc.communicate(timeout=timeout)
    report = json.loads(out) if out.strip().startswith("{") else None
    return proc.returncode, report, err


def applied_now(report: dict) -> list[str]:
    text = report["facts"]["applied now"]
    return [] if text == "none" else text.split(", ")


def wait_for(predicate: Any, timeout: float, what: str, step: float = 0.002) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


BASELINE = {"20240101000000_base": "create table public.base (id int primary key);\n"}


def slow_file(i: int) -> str:
    """Several statements, two of them sleeping, so a kill can land inside the file."""
    return (
        f"create table public.k{i} (id int primary key, v text);\n"
        f"insert into public.k{i} select g, md5(g::text) from generate_series(1, 500) g;\n"
        "select pg_sleep(0.03);\n"
        f"create index k{i}_v_idx on public.k{i} (v);\n"
        f"create view public.k{i}_count as select count(*) as n from public.k{i};\n"
        "select pg_sleep(0.02);\n"
        f"alter table public.k{i} add column w int not null default {i};\n"
        f"comment on table public.k{i} is 'file {i}';\n"
    )


PENDING = {f"2025010{i}000000_slow_{i}": slow_file(i) for i in range(1, 9)}


def test_sigkill_at_any_moment_leaves_the_database_as_it_was(tmp_path: Path, target: Target) -> None:
    started = time.monotonic()
    root = make_project(tmp_path / "repo", BASELINE)
    code, report, err = finish(spawn(root, target.url))
    assert code == 0, (report, err)
    add(root, PENDING)
    target.wait_quiet()
    before = target.state()
    versions = [name.split("_")[0] for name in PENDING]

    hits: list[str] = []  # what the migrator was doing at each kill
    committed = False
    for k in range(1, KILLS + 1):
        proc = spawn(root, target.url)
        # Until it connects a migrator has touched nothing: count from its connection.
        wait_for(lambda: target.others() or proc.poll() is not None, 30,  # noqa: B023
                 "the migrator to connect", step=0.001)
        time.sleep(k * KILL_STEP_S)
        doing = [f"{'in the batch' if s['in_transaction'] else s['state']}: {s['query'][:50]!r}"
                 for s in target.others() if s["application_name"] == APP]
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        if proc.returncode == 0:  # it finished first: later kills would find nothing to interrupt
            committed = True
            break
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err)
        target.wait_quiet()
        after = target.state()
        if after != before and target.versions()[1:] == versions:
            committed = True  # killed between COMMIT and exit: all applied, which is fine
            break
        hits.append(f"after {k * 40} ms: {doing[0] if doing else 'not yet migrating'}")
        assert after[1] == before[1], f"ledger changed by a kill {hits[-1]}"
        assert after[2] == before[2], f"audit rows changed by a kill {hits[-1]}"
        assert after[0] == before[0], f"schema changed by a kill {hits[-1]}"

    # The kills must have landed while the batch was open, not only around it.
    assert len([h for h in hits if "in the batch" in h]) >= KILLS // 2, hits

    code, report, err = finish(spawn(root, target.url))
    assert code == 0, (report, err)
    assert applied_now(report) == ([] if committed else versions)
    assert target.versions() == ["20240101000000", *versions]
    runs = target.rows("select outcome, versions from dragonfly.migration_runs order by id")
    assert runs == [("applied", ["20240101000000"]), ("applied", versions)]
    assert target.rows("select w from public.k8 limit 1") == [(8,)]
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("after_s", [0.05, 0.2, 0.35])
def test_ctrl_c_rolls_back_and_exits_3(tmp_path: Path, target: Target, after_s: float) -> None:
    root = make_project(tmp_path / "repo", BASELINE)
    code, report, err = finish(spawn(root, target.url))
    assert code == 0, (report, err)
    add(root, PENDING)
    target.wait_quiet()
    before = target.state()
    proc = spawn(root, target.url)
    wait_for(lambda: target.others() or proc.poll() is not None, 30, "the migrator to connect", step=0.001)
    time.sleep(after_s)
    assert [s for s in target.others() if s["in_transaction"]], "not interrupted inside the batch"
    proc.send_signal(signal.SIGINT)
    code, report, err = finish(proc, timeout=30)

    assert code == 3, (report, err)
    assert "interrupted" in err and "Traceback" not in err and "internal error" not in err, err
    target.wait_quiet()
    assert target.state() == before


def test_five_racing_migrators_apply_once(tmp_path: Path, target: Target) -> None:
    files = {f"2025020{i}000000_race_{i}": f"create table public.race_{i} (id int);\nselect pg_sleep(0.15);\n"
             for i in range(1, 5)}
    root = make_project(tmp_path / "repo", files)
    procs = [spawn(root, target.url) for _ in range(5)]
    results = [finish(p) for p in procs]

    assert [code for code, _, _ in results] == [0] * 5, [err for _, _, err in results]
    reports = [report for _, report, _ in results]
    versions = [name.split("_")[0] for name in files]
    appliers = [r for r in reports if applied_now(r)]
    assert len(appliers) == 1, [r["facts"] for r in reports]
    assert applied_now(appliers[0]) == versions
    assert target.rows("select version, count(*) from supabase_migrations.schema_migrations "
                       "group by version order by version") == [(v, 1) for v in versions]
    assert target.rows("select outcome, versions from dragonfly.migration_runs") == [("applied", versions)]


def test_a_migrator_that_cannot_get_the_lock_exits_3_naming_the_holder(
    tmp_path: Path, target: Target, tcp_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_project(tmp_path / "repo", {"20250301000000_t": "create table public.t (id int);\n"})
    before = target.state()
    with connect(tcp_server.conninfo(target.name), autocommit=True) as holder:
        holder.execute("set application_name = 'holder-from-test'")
        pid = holder.execute("select pg_backend_pid()").fetchone()[0]
        holder.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        monkeypatch.chdir(root)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        started = time.monotonic()
        code = main(["migrate", "--db-url", target.url, "--lock-wait", "1", "--format", "json"])
        waited = time.monotonic() - started
    out, err = capsys.readouterr()

    assert code == 3, (out, err)
    assert 1 <= waited < 5, waited
    assert "migration lock" in err
    assert f"pid {pid}" in err and "holder-from-test" in err, err
    assert target.state() == before  # not even the ledger table: nothing ran without the lock


def test_a_waiting_migrator_does_not_deadlock_with_create_index_concurrently(
    tmp_path: Path, target: Target, tcp_server: EmbeddedServer,
) -> None:
    root = make_project(tmp_path / "repo", {"20250401000000_t": "create table public.cic (id int, x int);\n"})
    code, report, err = finish(spawn(root, target.url))
    assert code == 0, (report, err)
    add(root, {"20250402000000_index": "create index concurrently cic_x_idx on public.cic (x);\n"})

    with connect(tcp_server.conninfo(target.name)) as writer:  # an open transaction writing the table
        writer.execute("insert into public.cic values (1, 1)")
        a = spawn(root, target.url, "--lock-timeout", "60s")
        a_pid = wait_for(lambda: [s["pid"] for s in target.others() if "concurrently" in (s["query"] or "")
                                  and s["wait_event_type"] == "Lock"], 30,
                         "the index build to wait for the writer")[0]
        b = spawn(root, target.url, "--lock-timeout", "60s")

        def waiting_migrator() -> list[dict[str, Any]]:
            return [s for s in target.others() if s["pid"] != a_pid and s["application_name"] == APP]

        wait_for(waiting_migrator, 30, "the second migrator to connect")
        samples: list[dict[str, Any]] = []
        for _ in range(40):  # about 0.8 s: several of its tries for the lock
            samples += waiting_migrator()
            time.sleep(0.02)
        writer.commit()
    code_a, report_a, err_a = finish(a, timeout=30)
    code_b, report_b, err_b = finish(b, timeout=30)

    assert code_a == 0, (report_a, err_a)
    assert applied_now(report_a) == ["20250402000000"]
    assert code_b == 0, (report_b, err_b)
    assert applied_now(report_b) == []
    assert any("pg_try_advisory_lock" in (s["query"] or "") for s in samples), samples
    # Between tries it holds no transaction and never waits on the lock inside PostgreSQL. (Not
    # `in_transaction`: a try's own statement, Parse to Execute, can show xact_start < query_start.)
    assert not [s for s in samples if s["state"] == "idle in transaction" or s["wait_event"] == "advisory"], \
        samples
    assert target.rows("select indisvalid from pg_index where indexrelid = 'public.cic_x_idx'::regclass") \
        == [(True,)]
    assert target.versions() == ["20250401000000", "20250402000000"]
