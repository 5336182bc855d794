"""`dragonfly-ci migrate` end to end: the CLI in-process on real projects, a real PostgreSQL.

Every test migrates a database of the session's embedded server that has the
platform roles (`bootstrap(conn, "supabase")`), as a hosted project has, and
reads back what the ledger, the audit table and the catalog say.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.migrations.cli_split import split
from dragonfly_ci.postgres.catalog import Snapshot, take_snapshot
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.platform import bootstrap
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database
from tests.conftest import add_migration

MIGRATIONS = "supabase/migrations"
FIRST = "20250101093000_create_ops_schema"  # the reference project's first file
LAST_VERSION = "20250319090000"


@dataclass(frozen=True)
class Db:
    name: str
    url: str  # what --db-url gets
    conninfo: str  # what the test connects with

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with connect(self.conninfo, autocommit=True) as conn:
            conn.execute(sql, params)

    def ledger(self) -> list[tuple[str, str, list[str]]]:
        """(version, name, statements) per applied version; [] without a ledger table."""
        if self.value("select to_regclass('supabase_migrations.schema_migrations')") is None:
            return []
        return self.rows("select version, name, statements from supabase_migrations.schema_migrations "
                         "order by version")

    def runs(self) -> list[tuple[str, list[str], str | None]]:
        """(outcome, versions, error) per audit row, oldest first."""
        if self.value("select to_regclass('dragonfly.migration_runs')") is None:
            return []
        return self.rows("select outcome, versions, error from dragonfly.migration_runs order by id")

    def snapshot(self) -> Snapshot:
        with connect(self.conninfo, autocommit=True) as conn:
            return take_snapshot(conn)

    def exists(self, relation: str) -> bool:
        return self.value("select to_regclass(%s) is not null", (relation,))


@pytest.fixture
def db(pg_server: EmbeddedServer) -> Iterator[Db]:
    """An empty database with the hosted platform's roles and schemas, as a new project has."""
    name = create_database(pg_server, prefix="migrate")
    with connect(pg_server.conninfo(name), autocommit=True) as conn:
        bootstrap(conn, "supabase")
    yield Db(name, pg_server.url(name), pg_server.conninfo(name))
    drop_database(pg_server, name)


def migrate(
    root: Path, *args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fmt: str | None = "json",
) -> tuple[int, dict | None, str, str]:
    """`dragonfly-ci migrate ARGS` in `root`: (exit code, JSON report or None, stdout, stderr)."""
    monkeypatch.chdir(root)
    argv = ["migrate", *args] + (["--format", fmt] if fmt else [])
    code = main(argv)
    out, err = capsys.readouterr()
    report = json.loads(out) if out.strip().startswith("{") else None
    return code, report, out, err


@pytest.fixture(autouse=True)
def _not_in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "DRAGONFLY_DEBUG"):
        monkeypatch.delenv(name, raising=False)


def files_of(root: Path) -> list[Path]:
    return sorted((root / MIGRATIONS).glob("*.sql"))


def version_of(path: Path) -> str:
    return path.name.split("_", 1)[0]


def rules(report: dict, severity: str | None = None) -> list[str]:
    return sorted(f["rule"] for f in report["findings"] if severity in (None, f["severity"]))


def only(report: dict, rule: str) -> dict:
    found = [f for f in report["findings"] if f["rule"] == rule]
    assert len(found) == 1, (rule, report["findings"])
    return found[0]


def applied_now(report: dict) -> list[str]:
    text = report["facts"]["applied now"]
    return [] if text == "none" else text.split(", ")


@pytest.fixture
def applied(project: Path, db: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Db:
    """`db` with the reference project migrated into it by `dragonfly-ci migrate`."""
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert len(db.ledger()) == len(files_of(project))
    return db


# ---------------------------------------------------------------- applying


def test_applies_the_reference_project_then_a_second_run_is_a_no_op(project, db, monkeypatch, capsys):
    files = files_of(project)
    versions = [version_of(p) for p in files]
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 0, (report, err)
    assert report["passed"] is True
    assert report["findings"] == []  # pending notices are not repeated once applied
    assert applied_now(report) == versions
    assert report["facts"]["how"] == f"{len(files)} file(s) in one transaction"
    # Progress goes to stderr in JSON mode: one line per file.
    for path in files:
        assert f"applied {MIGRATIONS}/{path.name}" in err

    ledger = db.ledger()
    assert [row[0] for row in ledger] == versions
    for (version, name, statements), path in zip(ledger, files, strict=True):
        assert name == path.stem.split("_", 1)[1]
        assert statements == split(path.read_text(encoding="utf-8")), version
    assert db.runs() == [("applied", versions, None)]
    tool = db.value("select tool from dragonfly.migration_runs")
    assert tool.startswith("dragonfly-ci ")
    for relation in ("ops.job_queue", "ops.worker_heartbeats", "ops.v_queue_health", "ops.v_worker_status",
                     "ops.job_queue_pending_priority_idx"):
        assert db.exists(relation), relation
    assert db.value("select to_regprocedure('ops.claim_pending_job(text[], integer, text)') is not null")

    before = (db.snapshot(), db.ledger(), db.runs())
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert report["findings"] == []
    assert applied_now(report) == []
    assert report["facts"]["pending"] == "0"
    assert "how" not in report["facts"]
    # Nothing applied, nothing recorded: the audit trail holds runs that changed something.
    assert (db.snapshot(), db.ledger(), db.runs()) == before


def test_dry_run_and_status_on_an_empty_database_change_nothing(project, db, monkeypatch, capsys):
    versions = [version_of(p) for p in files_of(project)]
    before = db.snapshot()

    code, report, _, err = migrate(project, "--db-url", db.url, "--dry-run", monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    assert [f["subject"] for f in report["findings"] if f["rule"] == "ledger/pending"] == versions
    assert rules(report) == ["ledger/pending"] * len(versions)
    assert report["facts"]["mode"] == "dry run: nothing was changed"
    assert applied_now(report) == []
    assert report["facts"]["pending"] == str(len(versions))

    code, report, _, err = migrate(project, "status", "--db-url", db.url, monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    assert report["gate"] == "migrate-status"
    assert report["facts"]["pending"] == ", ".join(versions)
    assert report["facts"]["applied"] == "0"
    assert report["facts"]["last applied"] == "none"
    assert "recent runs" not in report["facts"]

    # Not even the ledger table: a dry run on an empty database leaves it empty.
    assert db.value("select to_regnamespace('supabase_migrations')") is None
    assert db.value("select to_regnamespace('dragonfly')") is None
    assert db.snapshot() == before


def test_status_lists_pending_and_the_last_five_applied(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_sixth", "create table public.sixth (id int);\n")
    add_migration(project, "20990102000000_seventh", "create table public.seventh (id int);\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    add_migration(project, "20990103000000_eighth", "create table public.eighth (id int);\n")
    add_migration(project, "20990104000000_ninth",
                  "create index concurrently eighth_id_idx on public.eighth (id);\n")
    before = (db.snapshot(), db.ledger(), db.runs())

    code, report, _, err = migrate(project, "status", "--db-url", db.url, monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["pending"] == "20990103000000, 20990104000000"
    assert report["facts"]["applied"] == "7"
    assert report["facts"]["last applied"] == (
        "20990102000000 seventh; 20990101000000 sixth; 20250319090000 add_worker_status_view; "
        "20250305163000 claim_jobs_by_priority; 20250122110000 add_queue_health_view")
    assert report["facts"]["recent runs"].count(" applied ") == 2
    pending = [f for f in report["findings"] if f["rule"] == "ledger/pending"]
    assert [f["subject"] for f in pending] == ["20990103000000", "20990104000000"]
    assert "alone, outside a transaction" in pending[1]["message"]

    code, report, _, err = migrate(project, "--db-url", db.url, "--dry-run", monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["how"] == "1 file(s) in one transaction, then 1 file alone, outside a transaction"
    assert (db.snapshot(), db.ledger(), db.runs()) == before


# ---------------------------------------------------------------- failures roll the batch back


BAD_STATEMENTS = {
    # PostgreSQL gives a position: file, line and column come from it.
    "unknown table": ("insert into ops.no_such_table values (1);", 5, 13, "does not exist"),
    # No position for a utility statement: the replay finds the statement.
    "alter a missing table": ("alter table ops.no_such_table add column x int;", 5, 1, "does not exist"),
    # No position (raised at run time): the statement is found by replaying the file.
    "division by zero": ("select 1 / 0;", 5, 1, "division by zero"),
    # ... after a statement that needs an earlier file of the batch (the replay runs after those files).
    "division by zero after using an earlier file": (
        "insert into public.batch_one values (2);\nselect 1 / 0;", 6, 1, "division by zero"),
    # Raised inside a DO block: the line inside the block.
    "raise in a DO block": ("do $$\nbegin\n  raise exception 'no way';\nend\n$$;", 7, None, "no way"),
}


@pytest.mark.parametrize("bad", BAD_STATEMENTS.values(), ids=BAD_STATEMENTS.keys())
def test_a_file_failing_halfway_leaves_nothing_of_the_batch(project, applied, bad, monkeypatch, capsys):
    db = applied
    statement, line, column, message = bad
    before = (db.snapshot(), db.ledger(), db.runs())
    add_migration(project, "20990101000000_one", "create table public.batch_one (id int primary key);\n")
    add_migration(project, "20990102000000_two", (
        "create table public.batch_two (id int references public.batch_one);\n"
        "insert into public.batch_one values (1);\n"))
    third = add_migration(project, "20990103000000_three", (
        "-- the third of four: fails in its middle\n"
        "create table public.batch_three (id int);\n"
        "insert into public.batch_three values (3);\n"
        "\n"
        f"{statement}\n"
        "create table public.batch_three_b (id int);\n"))
    add_migration(project, "20990104000000_four", "create table public.batch_four (id int);\n")
    new = ["20990101000000", "20990102000000", "20990103000000", "20990104000000"]

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 1, (report, err)
    failure = only(report, "migration/apply-failed")
    assert failure["severity"] == "error"
    assert failure["location"]["file"] == f"{MIGRATIONS}/{third.name}"
    assert failure["location"]["line"] == line, failure
    if column is not None:
        assert failure["location"]["column"] == column, failure
    assert message in failure["message"]
    assert applied_now(report) == []
    # Nothing says "will be applied" after the run: the failure tells what happened to them.
    assert not [f for f in report["findings"] if f["rule"] == "ledger/pending"], report["findings"]
    for table in ("batch_one", "batch_two", "batch_three", "batch_three_b", "batch_four"):
        assert not db.exists(f"public.{table}"), table
    snapshot, ledger, runs = before
    assert db.ledger() == ledger
    assert db.snapshot() == snapshot
    *old_runs, (outcome, versions, error) = db.runs()
    assert old_runs == runs
    assert (outcome, versions) == ("failed", new)
    assert message in error


# ---------------------------------------------------------------- the plan against the ledger


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


FIRST_FILE = f"{MIGRATIONS}/{FIRST}.sql"
GRANT = "grant usage on schema ops to service_role;"  # line 16 of the first file


@pytest.mark.parametrize(("old", "new", "line"), [
    (GRANT, "grant usage on schema ops to service_role, authenticated;", 16),
    (GRANT, GRANT + "\ngrant usage on schema ops to authenticated;", 17),  # a statement added
    # Inside `create table ops.job_queue` (line 41, after a comment banner from line 37): the edited line.
    ("not null default 5,", "not null default 3,", 48),
], ids=["changed statement", "added statement", "changed default"])
def test_an_edited_applied_migration_blocks_everything(project, applied, old, new, line, monkeypatch,
                                                        capsys):
    db = applied
    edit(project / FIRST_FILE, old, new)
    add_migration(project, "20990101000000_pending", "create table public.not_yet (id int);\n")
    before = (db.snapshot(), db.ledger(), db.runs())

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 1, (report, err)
    edited = only(report, "ledger/applied-migration-edited")
    assert edited["severity"] == "error"
    assert edited["location"]["file"] == FIRST_FILE
    assert edited["location"]["line"] == line, edited
    assert edited["subject"] == FIRST.split("_")[0]
    assert applied_now(report) == []
    # The pending file is still reported as pending: it was not applied.
    assert only(report, "ledger/pending")["subject"] == "20990101000000"
    assert not db.exists("public.not_yet")
    assert (db.snapshot(), db.ledger(), db.runs()) == before


def test_a_cosmetic_edit_warns_and_pending_files_still_apply(project, applied, monkeypatch, capsys):
    db = applied
    edit(project / FIRST_FILE, GRANT, "grant usage\n  on schema ops /* workers only */ to   service_role;")
    add_migration(project, "20990101000000_pending", "create table public.now_applied (id int);\n")

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 0, (report, err)
    warning = only(report, "ledger/applied-migration-reformatted")
    assert warning["severity"] == "warning"
    assert warning["location"] == {"file": FIRST_FILE, "line": 16, "end_line": None, "column": None}
    assert rules(report) == ["ledger/applied-migration-reformatted"]
    assert applied_now(report) == ["20990101000000"]
    assert db.exists("public.now_applied")
    # The stored statements stay what ran.
    stored = db.value("select statements from supabase_migrations.schema_migrations where version = %s",
                      (FIRST.split("_")[0],))
    assert GRANT.rstrip(";") in stored

    code, report, _, _ = migrate(project, "--db-url", db.url, "--strict", monkeypatch=monkeypatch,
                                 capsys=capsys)
    assert code == 1 and report["passed"] is False


def test_a_deleted_applied_file_is_an_unknown_version(project, applied, monkeypatch, capsys):
    db = applied
    deleted = next(p for p in files_of(project) if p.name.startswith(LAST_VERSION))
    deleted.unlink()
    add_migration(project, "20990101000000_pending", "create table public.not_yet (id int);\n")
    before = (db.snapshot(), db.ledger(), db.runs())

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 1, (report, err)
    unknown = only(report, "ledger/unknown-version")
    assert unknown["severity"] == "error"
    assert unknown["subject"] == LAST_VERSION
    assert "add_worker_status_view" in unknown["message"]
    assert "migration repair --status reverted" in unknown["hint"]
    assert (db.snapshot(), db.ledger(), db.runs()) == before


def test_an_out_of_order_file_is_refused_unless_allowed(project, applied, monkeypatch, capsys):
    db = applied
    late = add_migration(project, "20250201000000_late", "create table public.late (id int);\n")
    before = (db.snapshot(), db.ledger(), db.runs())

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    refused = only(report, "ledger/out-of-order")
    assert refused["severity"] == "error"
    assert refused["location"]["file"] == f"{MIGRATIONS}/{late.name}"
    assert LAST_VERSION in refused["message"]
    assert (db.snapshot(), db.ledger(), db.runs()) == before

    code, report, _, err = migrate(project, "--db-url", db.url, "--allow-out-of-order",
                                   monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert applied_now(report) == ["20250201000000"]
    assert db.exists("public.late")
    assert "20250201000000" in [row[0] for row in db.ledger()]


HOSTED_COLUMNS = (
    "alter table supabase_migrations.schema_migrations "
    "add column created_by text, add column idempotency_key text unique, add column rollback text[]"
)


def test_dashboard_rows_in_the_hosted_six_column_ledger(project, applied, monkeypatch, capsys):
    db = applied
    db.execute(HOSTED_COLUMNS)
    # A migration run from the dashboard whose file was later committed...
    from_dashboard = "create table public.from_dashboard (id int);\n"
    add_migration(project, "20990101000000_from_dashboard", from_dashboard)
    db.execute(from_dashboard)
    db.execute("insert into supabase_migrations.schema_migrations "
               "(version, name, statements, created_by, idempotency_key) values (%s, %s, %s, %s, %s)",
               ("20990101000000", "from_dashboard", split(from_dashboard), "someone@example.com", "k-1"))
    # ...and one that exists only in the database.
    db.execute("insert into supabase_migrations.schema_migrations "
               "(version, name, statements, created_by, idempotency_key) values (%s, %s, %s, %s, %s)",
               ("20990102000000", "hotfix", ["create table public.hotfix (id int)"], "mcp", "k-2"))
    add_migration(project, "20990103000000_after", "create table public.after_dashboard (id int);\n")
    before = (db.snapshot(), db.ledger(), db.runs())

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    outside = only(report, "ledger/written-outside-git")
    assert outside["severity"] == "warning"
    assert outside["location"]["file"] == f"{MIGRATIONS}/20990101000000_from_dashboard.sql"
    assert "someone@example.com" in outside["message"]
    unknown = only(report, "ledger/unknown-version")
    assert unknown["severity"] == "error" and unknown["subject"] == "20990102000000"
    assert "mcp" in unknown["message"]
    assert (db.snapshot(), db.ledger(), db.runs()) == before

    # Forgotten as `supabase migration repair --status reverted` would: our insert works on six columns.
    db.execute("delete from supabase_migrations.schema_migrations where version = '20990102000000'")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert rules(report) == ["ledger/written-outside-git"]
    assert applied_now(report) == ["20990103000000"]
    assert db.rows("select name, statements, created_by, idempotency_key, rollback "
                   "from supabase_migrations.schema_migrations where version = '20990103000000'") == [
        ("after", split("create table public.after_dashboard (id int);\n"), None, None, None)]
    assert db.exists("public.after_dashboard")


# ---------------------------------------------------------------- transactions


def test_create_index_concurrently_runs_alone_between_two_batches(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_table", "create table public.big (id int, x int);\n")
    concurrent = add_migration(project, "20990102000000_index", (
        "-- Built without blocking writes: cannot run in a transaction.\n"
        "create index concurrently big_x_idx on public.big (x);\n"))
    add_migration(project, "20990103000000_column", "alter table public.big add column y int;\n")
    new = ["20990101000000", "20990102000000", "20990103000000"]

    code, report, _, err = migrate(project, "--db-url", db.url, "--dry-run", monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["how"] == ("1 file(s) in one transaction, then 1 file alone, outside a "
                                      "transaction, then 1 file(s) in one transaction")
    assert report["facts"]["outside a transaction"] == f"{MIGRATIONS}/{concurrent.name}"
    pending = {f["subject"]: f["message"] for f in report["findings"] if f["rule"] == "ledger/pending"}
    assert "alone, outside a transaction" in pending["20990102000000"]
    assert "outside" not in pending["20990101000000"] + pending["20990103000000"]

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert applied_now(report) == new
    assert [row[0] for row in db.ledger()][-3:] == new
    assert db.value("select indisvalid from pg_index where indexrelid = 'public.big_x_idx'::regclass")
    assert db.value("select count(*) from information_schema.columns where table_name = 'big' "
                    "and column_name = 'y'") == 1
    # One audit row per transaction that committed.
    assert db.runs()[1:] == [("applied", [v], None) for v in new]


OWN_TRANSACTION = (
    "begin;\n"
    "create table public.own_tx (id int);\n"
    "insert into public.own_tx values (1);\n"
    "commit;\n"
)


def test_a_file_with_its_own_begin_commit_does_not_commit_the_batch(project, applied, monkeypatch, capsys):
    db = applied
    before = (db.snapshot(), db.ledger(), db.runs())
    own = add_migration(project, "20990101000000_own_tx", OWN_TRANSACTION)
    add_migration(project, "20990102000000_after", "create table public.after_own (id int);\n")
    add_migration(project, "20990103000000_fails", "insert into public.own_tx values ('not a number');\n")

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    assert only(report, "migration/apply-failed")["location"]["file"].endswith("_fails.sql")
    # The file's COMMIT did not end the batch: its table went with the failure.
    assert not db.exists("public.own_tx")
    assert not db.exists("public.after_own")
    assert db.ledger() == before[1]
    assert db.snapshot() == before[0]

    (project / MIGRATIONS / "20990103000000_fails.sql").unlink()
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert db.value("select count(*) from public.own_tx") == 1
    stored = db.value("select statements from supabase_migrations.schema_migrations where version = %s",
                      ("20990101000000",))
    assert stored == split(own.read_text(encoding="utf-8"))


# Regression: the file runs statement by statement inside the batch, and PostgreSQL's error
# position is relative to the statement, not to the file.
def test_a_failure_in_a_file_with_its_own_transaction_is_at_its_line(project, applied, monkeypatch, capsys):
    db = applied
    bad = add_migration(project, "20990101000000_own_tx", (
        "begin;\n"
        "create table public.own_tx (id int);\n"
        "insert into public.no_such_table values (1);\n"
        "commit;\n"))

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)

    assert code == 1, (report, err)
    failure = only(report, "migration/apply-failed")
    assert failure["location"]["file"] == f"{MIGRATIONS}/{bad.name}"
    assert (failure["location"]["line"], failure["location"]["column"]) == (3, 13), failure


def test_lock_timeout_fails_fast_instead_of_waiting(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_first", "create table public.lt_first (id int);\n")
    add_migration(project, "20990102000000_alter", "alter table ops.job_queue add column note text;\n")
    before = (db.snapshot(), db.ledger())
    with connect(db.conninfo) as holder:  # a transaction: the lock is held until rollback
        holder.execute("lock table ops.job_queue in access exclusive mode")
        started = time.monotonic()
        code, report, _, err = migrate(project, "--db-url", db.url, "--lock-timeout", "200ms",
                                       monkeypatch=monkeypatch, capsys=capsys)
        elapsed = time.monotonic() - started
        holder.rollback()
    assert code == 1, (report, err)
    assert elapsed < 5, elapsed
    failure = only(report, "migration/apply-failed")
    assert failure["location"]["file"].endswith("20990102000000_alter.sql")
    assert "lock timeout" in failure["message"]
    assert not db.exists("public.lt_first")
    assert (db.snapshot(), db.ledger()) == before
    assert db.runs()[-1][:2] == ("failed", ["20990101000000", "20990102000000"])


def test_statement_timeout_stops_a_long_statement(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_slow", "create table public.slow (id int);\nselect pg_sleep(5);\n")
    started = time.monotonic()
    code, report, _, err = migrate(project, "--db-url", db.url, "--statement-timeout", "300ms",
                                   monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    assert time.monotonic() - started < 4
    failure = only(report, "migration/apply-failed")
    assert "statement timeout" in failure["message"]
    assert failure["location"]["line"] == 2
    assert not db.exists("public.slow")


# Regression: an invalid duration reached PostgreSQL inside the batch and exited 3, 'internal error'.
def test_an_invalid_duration_is_bad_input(project, applied, monkeypatch, capsys):
    add_migration(project, "20990101000000_pending", "create table public.not_yet (id int);\n")
    code, report, _, err = migrate(project, "--db-url", applied.url, "--lock-timeout", "soon",
                                   monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2, (report, err)
    assert "internal error" not in err
    assert "lock" in err


def test_an_empty_file_is_applied_and_recorded(project, applied, monkeypatch, capsys):
    # `supabase migration new` writes an empty file; teams commit them as placeholders.
    db = applied
    add_migration(project, "20990101000000_placeholder", "")
    add_migration(project, "20990102000000_only_comments", "-- nothing to do yet\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert applied_now(report) == ["20990101000000", "20990102000000"]
    rows = {v: s for v, _, s in db.ledger()}
    assert rows["20990101000000"] == split("")
    assert rows["20990102000000"] == split("-- nothing to do yet\n")

    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and report["findings"] == [], (report, err)


# What `supabase db dump` / `db pull` write at the top of a migration (pg_dump's header).
DUMP_HEADER = (
    "SET statement_timeout = 0;\n"
    "SET lock_timeout = 0;\n"
    "SET idle_in_transaction_session_timeout = 0;\n"
    "SET client_encoding = 'UTF8';\n"
    "SET standard_conforming_strings = on;\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "SET check_function_bodies = false;\n"
    "SET xmloption = content;\n"
    "SET client_min_messages = warning;\n"
    "SET row_security = off;\n"
    "\n"
    'CREATE TABLE IF NOT EXISTS "public"."dumped" ("id" bigint NOT NULL);\n'
)


# Regression: pg_dump's header (set_config('search_path', '', false)) leaked into the next files of
# the batch; the Supabase CLI runs RESET ALL before every file (pkg/migration/apply.go).
def test_a_dump_header_does_not_leak_into_the_next_file(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_remote_schema", DUMP_HEADER)
    add_migration(project, "20990102000000_profiles", "create table profiles (id int primary key);\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report and report["findings"], err)
    assert db.exists("public.dumped") and db.exists("public.profiles")


# Regression: a file's own `SET lock_timeout = 0` overrode the batch's lock_timeout for every later
# file, which then waited behind locks without limit.
def test_lock_timeout_still_protects_files_after_one_that_resets_it(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_remote_schema", DUMP_HEADER)
    add_migration(project, "20990102000000_alter", "alter table ops.job_queue add column note text;\n")
    holder = connect(db.conninfo)  # a transaction: holds the lock until it ends
    try:
        # Bounded: the server ends the holder's session after 2 s idle in its transaction.
        holder.execute("set idle_in_transaction_session_timeout = '2s'")
        holder.execute("lock table ops.job_queue in access exclusive mode")
        started = time.monotonic()
        code, report, _, err = migrate(project, "--db-url", db.url, "--lock-timeout", "200ms",
                                       monkeypatch=monkeypatch, capsys=capsys)
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    assert code == 1, (report, err)
    assert elapsed < 1.5, elapsed
    assert "lock timeout" in only(report, "migration/apply-failed")["message"]
    assert not db.exists("public.dumped")


# Regression: with one transaction for the whole batch, an enum value added by one file could not be
# used by the next (SQLSTATE 55P04); supabase db push and the contract gate accept this history.
def test_an_enum_value_added_by_one_file_can_be_used_by_the_next(project, applied, monkeypatch, capsys):
    db = applied
    add_migration(project, "20990101000000_mood", "create type public.mood as enum ('happy');\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report and report["findings"], err)
    add_migration(project, "20990102000000_add_value", "alter type public.mood add value 'sad';\n")
    add_migration(project, "20990103000000_use_value",
                  "create table public.diary (m public.mood not null default 'sad');\n")
    code, report, _, err = migrate(project, "--db-url", db.url, "--dry-run", monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report and report["findings"], err)
    assert report["facts"]["how"] == "1 file(s) in one transaction, then 1 file(s) in one transaction"
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report and report["findings"], err)
    assert applied_now(report) == ["20990102000000", "20990103000000"]
    assert db.runs()[-2:] == [("applied", ["20990102000000"], None), ("applied", ["20990103000000"], None)]


def test_a_failure_after_an_enum_value_keeps_the_committed_enum_batch(project, applied, monkeypatch,
                                                                       capsys):
    # The batch ends after a file that adds an enum value: what follows cannot undo it.
    db = applied
    add_migration(project, "20990101000000_mood", "create type public.mood as enum ('happy');\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    add_migration(project, "20990102000000_add_value", "alter type public.mood add value 'sad';\n")
    add_migration(project, "20990103000000_use_value",
                  "create table public.diary (m public.mood not null default 'sad');\n")
    add_migration(project, "20990104000000_broken", "select 1 / 0;\n")
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    assert only(report, "migration/apply-failed")["location"]["file"].endswith("_broken.sql")
    assert applied_now(report) == ["20990102000000"]
    assert [row[0] for row in db.ledger()][-2:] == ["20990101000000", "20990102000000"]
    assert db.value("select enum_range(null::public.mood)::text") == "{happy,sad}"
    assert not db.exists("public.diary")
    assert [r[:2] for r in db.runs()[-2:]] == [
        ("applied", ["20990102000000"]), ("failed", ["20990103000000", "20990104000000"])]


def test_reporting_the_plan_is_linear_in_the_pending_files(project, applied, monkeypatch):
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import migrate as gate
    from dragonfly_ci.migrations.plan import Plan
    from dragonfly_ci.targets import Target

    for i in range(200):
        add_migration(project, f"2099010100{i:04d}_n{i}", f"select {i};\n")
    scans = []
    original = Plan.blocked.fget
    monkeypatch.setattr(Plan, "blocked", property(lambda plan: scans.append(1) or original(plan)))
    monkeypatch.chdir(project)
    result = gate.run(load_project(None), Target(applied.url))
    assert result.facts["pending"] == "200" and result.errors == 0
    assert len(scans) <= 5, f"{len(scans)} scans of all the findings for 200 pending files"


# ---------------------------------------------------------------- targets and secrets


def write_environments(root: Path) -> None:
    with (root / "dragonfly.yml").open("a", encoding="utf-8") as f:
        f.write("environments:\n  staging:\n    db_url_env: STAGING_DB\n")


def test_env_resolves_the_url_from_the_named_variable(project, db, monkeypatch, capsys):
    write_environments(project)
    monkeypatch.setenv("STAGING_DB", db.url)
    code, report, _, err = migrate(project, "--env", "staging", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["database"].endswith("(environment staging)")
    assert len(applied_now(report)) == len(files_of(project))
    assert len(db.ledger()) == len(files_of(project))


def test_db_url_overrides_the_environments_database(project, db, monkeypatch, capsys):
    write_environments(project)
    monkeypatch.delenv("STAGING_DB", raising=False)  # the environment's own URL is not needed
    code, report, _, err = migrate(project, "--env", "staging", "--db-url", db.url,
                                   monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["database"].endswith("(environment staging)")
    assert len(db.ledger()) == len(files_of(project))


@pytest.mark.parametrize(("args", "message"), [
    (["--env", "staging"], "$STAGING_DB is not set"),
    (["--env", "prod"], "unknown environment 'prod' (known: staging)"),
    ([], "no database given"),
], ids=["variable unset", "unknown environment", "neither"])
def test_bad_targets_are_bad_input(project, db, args, message, monkeypatch, capsys):
    write_environments(project)
    monkeypatch.delenv("STAGING_DB", raising=False)
    before = db.snapshot()
    code, report, out, err = migrate(project, *args, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2, (out, err)
    assert message in err
    if "--env" in args and "--db-url" not in args:
        assert "dragonfly.yml:" in err  # names the file and line to fix
    assert db.snapshot() == before


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PASSWORD = "s3cr%40t%2Fpw"  # percent-encoded in the URL: "s3cr@t/pw"


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
@pytest.mark.parametrize("via", ["url", "conninfo", "env"])
def test_an_unreachable_database_exits_3_without_the_password(project, fmt, via, monkeypatch, capsys,
                                                              tmp_path):
    port = _closed_port()
    if via == "conninfo":
        target = ["--db-url", f"host=127.0.0.1 port={port} user=postgres password=s3cr@t/pw dbname=app"]
    else:
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/app"
        target = ["--db-url", url]
        if via == "env":
            write_environments(project)
            monkeypatch.setenv("STAGING_DB", url)
            target = ["--env", "staging"]
    if fmt == "github":
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code, _, out, err = migrate(project, *target, monkeypatch=monkeypatch, capsys=capsys, fmt=fmt)
    assert code == 3, (out, err)
    assert "could not connect" in err
    lines = out.splitlines()
    if fmt == "github":
        assert lines[0] == "::add-mask::s3cr@t/pw"
        lines = lines[1:]
    for secret in ("s3cr@t/pw", PASSWORD, "s3cr"):
        assert secret not in "\n".join(lines) + err, secret
    summary = tmp_path / "summary.md"
    assert not summary.exists() or "s3cr" not in summary.read_text()


def test_github_format_masks_first_and_groups_progress(project, db, pg_server, monkeypatch, capsys,
                                                       tmp_path):
    # Trust authentication ignores the password; it still must never be shown.
    url = db.url.replace("postgresql://postgres@", "postgresql://postgres:Hunter2pw@", 1)
    assert url != db.url
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    (tmp_path / "output").touch()  # the runner creates it
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/app")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")

    code, _, out, err = migrate(project, "--db-url", url, monkeypatch=monkeypatch, capsys=capsys, fmt=None)

    assert code == 0, (out, err)
    lines = out.splitlines()
    assert lines[0] == "::add-mask::Hunter2pw"
    assert "Hunter2pw" not in "\n".join(lines[1:]) + err
    assert "Hunter2pw" not in (tmp_path / "summary.md").read_text()
    groups = [i for i, line in enumerate(lines) if line.startswith("::group::")]
    ends = [i for i, line in enumerate(lines) if line == "::endgroup::"]
    assert len(groups) == len(ends) == 1
    assert lines[groups[0]] == (f"::group::5 migration(s) in one transaction: 20250101093000 … "
                                f"{LAST_VERSION}")
    inside = lines[groups[0] + 1:ends[0]]
    assert [line.split()[1] for line in inside if line.startswith("  applied ")] == [
        f"{MIGRATIONS}/{p.name}" for p in files_of(project)]
    assert re.search(r"^passed<<(\S+)\ntrue\n\1$", (tmp_path / "output").read_text(), re.M)
    assert db.rows("select actor, commit_sha, run_url from dragonfly.migration_runs") == [
        ("octocat", "0123456789abcdef", "https://github.com/acme/app/actions/runs/42")]


def test_github_format_annotates_the_failing_line(project, applied, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    bad = add_migration(project, "20990101000000_bad", "create table public.ok (id int);\n"
                        "insert into public.missing values (1);\n")
    code, _, out, err = migrate(project, "--db-url", applied.url, monkeypatch=monkeypatch, capsys=capsys,
                                fmt=None)
    assert code == 1, (out, err)
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, out
    assert f"file={MIGRATIONS}/{bad.name}" in errors[0] and "line=2" in errors[0], errors
    assert "::endgroup::" in out.split(errors[0])[0]  # the group is closed before the report
    assert "migration/apply-failed" in (tmp_path / "summary.md").read_text()


def test_rows_without_statements_are_reported_not_compared(project, applied, monkeypatch, capsys):
    # Old Supabase CLI versions stored no statements: edits cannot be detected, say so.
    db = applied
    db.execute("update supabase_migrations.schema_migrations set statements = null "
               "where version = '20250101093000'")
    (project / FIRST_FILE).write_text("-- rewritten\nselect 1;\n", encoding="utf-8")
    code, report, _, err = migrate(project, "status", "--db-url", db.url, monkeypatch=monkeypatch,
                                   capsys=capsys)
    assert code == 0, (report, err)
    unknown = only(report, "ledger/statements-unknown")
    assert unknown["severity"] == "notice" and unknown["subject"] == "20250101093000"
    assert "ledger/applied-migration-edited" not in rules(report)


def test_the_audit_row_names_the_git_author_and_commit_outside_actions(project, db, monkeypatch, capsys):
    import subprocess

    (project / ".git").rmdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(project)}
    for args in (["init", "-q"], ["config", "user.name", "Ada"], ["config", "user.email", "ada@example.com"],
                 ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=project, check=True, env=env, capture_output=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, check=True, env=env,
                         capture_output=True, text=True).stdout.strip()
    monkeypatch.setenv("HOME", str(project))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    code, report, _, err = migrate(project, "--db-url", db.url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert db.rows("select actor, commit_sha, run_url from dragonfly.migration_runs") == [
        ("Ada <ada@example.com>", sha, None)]
