"""Applying migration files to a real PostgreSQL, and where a failure is reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.findings import Severity
from dragonfly_ci.migrations.apply import MigrationFailed, apply_file, apply_files
from tests.conftest import migrations


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


def file_of(n: int) -> str:
    return f"supabase/migrations/2025010100000{n}_m{n}.sql"


def exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


def idle(conn: psycopg.Connection) -> bool:
    return conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_files_apply_in_order(tmp_path: Path, conn: psycopg.Connection) -> None:
    files = migrations(
        tmp_path,
        "create schema ops;\ncreate table ops.jobs (id int primary key);\n",
        "alter table ops.jobs add column status text not null default 'pending';\n",
        "insert into ops.jobs (id) values (1);\ncreate view ops.pending as "
        "select id, status from ops.jobs where status = 'pending';\n",
    )
    seen: list[tuple[str, float]] = []

    outcome = apply_files(conn, files, on_applied=lambda f, s: seen.append((f.display, s)))

    assert outcome.failure is None
    assert outcome.applied == files
    assert outcome.outside_transaction == []
    assert [name for name, _ in seen] == [file_of(1), file_of(2), file_of(3)]
    assert all(seconds >= 0 for _, seconds in seen)
    assert conn.execute("select id, status from ops.pending").fetchall() == [(1, "pending")]
    assert idle(conn)


SYNTAX_ERRORS = [
    pytest.param("create table a (x int);\nselect 1 as x fromm a;\n", 2, 15, id="ascii"),
    pytest.param("-- café → 😀 😀\ncomment on schema public is 'é→😀';\n\nselect 1 as x fromm a;\n", 4, 15,
                 id="multibyte-earlier-lines"),
    pytest.param("-- é\ncreate table a (x int);\n  select 'é→😀', '😀' as x fromm a;\n", 3, 26,
                 id="multibyte-same-line"),
    pytest.param("create table a (x int);\ncreate table b (y int, z nosuchtype);\n", 2, 26,
                 id="unknown-type"),
]


@pytest.mark.parametrize(("text", "line", "column"), SYNTAX_ERRORS)
def test_error_with_a_position_is_reported_at_file_line_and_column(
    tmp_path: Path, conn: psycopg.Connection, text: str, line: int, column: int
) -> None:
    outcome = apply_files(conn, migrations(tmp_path, "create table before (x int);\n", text))

    failure = outcome.failure
    assert failure is not None
    assert [f.display for f in outcome.applied] == [file_of(1)]
    assert failure.rule == "migration/apply-failed"
    assert failure.severity is Severity.ERROR
    assert failure.location.file == file_of(2)
    assert (failure.location.line, failure.location.column) == (line, column)
    assert failure.message.startswith(f"{file_of(2)} failed to apply: ")
    assert "(SQLSTATE 42" in failure.hint
    assert exists(conn, "before")
    assert not exists(conn, "a")
    assert idle(conn)


def test_syntax_error_message_names_the_token(tmp_path: Path, conn: psycopg.Connection) -> None:
    outcome = apply_files(conn, migrations(tmp_path, "select 'é' as x fromm t;\n"))

    assert 'syntax error at or near "fromm"' in outcome.failure.message
    assert "SQLSTATE 42601" in outcome.failure.hint


def test_check_violation_is_reported_at_its_statement(tmp_path: Path, conn: psycopg.Connection) -> None:
    text = (
        "create table a (x int check (x > 0));\n"  # 1
        "-- é → 😀\n"  # 2
        "insert into a values (1);\n"  # 3
        "\n"  # 4
        "  insert into a\n"  # 5
        "    values (-1);\n"  # 6
        "create table after (x int);\n"  # 7
    )

    outcome = apply_files(conn, migrations(tmp_path, text))

    failure = outcome.failure
    assert (failure.location.line, failure.location.column, failure.location.end_line) == (5, 3, 6)
    assert 'violates check constraint "a_x_check"' in failure.message
    assert "Failing row contains (-1)" in failure.message
    assert "SQLSTATE 23514" in failure.hint
    assert not exists(conn, "a") and not exists(conn, "after")
    assert idle(conn)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "create table a (x int);\n"  # 1
            "do $$\n"  # 2
            "begin\n"  # 3
            "  perform 1;\n"  # 4
            "  raise exception 'boom';\n"  # 5
            "end\n"  # 6
            "$$;\n", 5, id="body-after-dollar-quote"),
        pytest.param(
            "-- é → 😀\n"  # 1
            "create table a (x int);\n"  # 2
            "\n"  # 3
            "do language plpgsql $body$ begin\n"  # 4
            "  if true then\n"  # 5
            "    raise exception 'boom %', 'é';\n"  # 6
            "  end if;\n"  # 7
            "end $body$;\n", 6, id="body-on-the-do-line"),
    ],
)
def test_raise_in_a_do_block_is_reported_at_its_body_line(
    tmp_path: Path, conn: psycopg.Connection, text: str, line: int
) -> None:
    outcome = apply_files(conn, migrations(tmp_path, text))

    failure = outcome.failure
    assert failure.location.file == file_of(1)
    assert failure.location.line == line
    assert "boom" in failure.message
    assert "inline_code_block" in failure.message
    assert "SQLSTATE P0001" in failure.hint
    assert not exists(conn, "a")


def test_runtime_error_in_a_function_called_later(tmp_path: Path, conn: psycopg.Connection) -> None:
    text = (
        "create function f() returns int language plpgsql as $$\n"  # 1
        "begin\n"  # 2
        "  raise exception 'inside f';\n"  # 3
        "end $$;\n"  # 4
        "select 1;\n"  # 5
        "select f();\n"  # 6
    )

    failure = apply_files(conn, migrations(tmp_path, text)).failure

    assert failure.location.line == 6
    assert "inside f" in failure.message


def test_failing_file_leaves_nothing_and_later_files_are_not_applied(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    files = migrations(
        tmp_path,
        "create table one (x int);\n",
        "create table two (x int);\ninsert into one values (1);\ninsert into two values ('q');\n",
        "create table three (x int);\n",
    )

    outcome = apply_files(conn, files)

    assert outcome.applied == files[:1]
    assert outcome.failure.location.file == file_of(2)
    assert outcome.failure.location.line == 3
    assert exists(conn, "one")
    assert conn.execute("select count(*) from one").fetchone()[0] == 0
    assert not exists(conn, "two")
    assert not exists(conn, "three")


def test_apply_file_raises_migration_failed(tmp_path: Path, conn: psycopg.Connection) -> None:
    file, = migrations(tmp_path, "create table t (x int);\ncreate table t (x int);\n")

    with pytest.raises(MigrationFailed) as caught:
        apply_file(conn, file)

    assert caught.value.finding.location.line == 2
    assert 'relation "t" already exists' in str(caught.value)
    assert not exists(conn, "t")


def test_create_index_concurrently_runs_outside_a_transaction(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    files = migrations(
        tmp_path,
        "create table t (x int);\n",
        "-- é → 😀\ncreate index concurrently t_x on t (x);\n\ncreate index t_plain on t (x);\n",
        "drop index concurrently t_plain;\n",
    )

    outcome = apply_files(conn, files)

    assert outcome.failure is None
    assert outcome.applied == files
    assert [f.display for f in outcome.outside_transaction] == [file_of(2), file_of(3)]
    valid = conn.execute("select indisvalid from pg_index where indexrelid = 't_x'::regclass").fetchone()
    assert valid == (True,)
    assert not exists(conn, "t_plain")
    assert idle(conn)


def test_error_in_a_file_outside_a_transaction_is_located(tmp_path: Path, conn: psycopg.Connection) -> None:
    text = (
        "create table t (x int);\n"  # 1
        "create index concurrently t_x on t (x);\n"  # 2
        "-- é → 😀\n"  # 3
        "insert into t values ('é', 'zz');\n"  # 4
    )

    outcome = apply_files(conn, migrations(tmp_path, text))

    failure = outcome.failure
    assert outcome.outside_transaction == []
    assert (failure.location.line, failure.location.column) == (4, 28)
    assert "more expressions than target columns" in failure.message
    # statement by statement: what ran before the failure stays
    assert exists(conn, "t_x")


def test_syntax_error_in_a_file_with_concurrently(tmp_path: Path, conn: psycopg.Connection) -> None:
    text = "create table t (x int);\ncreate index concurrently t_x on t (x);\nselect 1 as x fromm t;\n"

    outcome = apply_files(conn, migrations(tmp_path, text))

    assert (outcome.failure.location.line, outcome.failure.location.column) == (3, 15)


def test_begin_without_commit_is_reported_and_rolled_back(tmp_path: Path, conn: psycopg.Connection) -> None:
    files = migrations(tmp_path, "create table one (x int);\n", "begin;\ncreate table two (x int);\n",
                       "create table three (x int);\n")

    outcome = apply_files(conn, files)

    failure = outcome.failure
    assert outcome.applied == files[:1]
    assert failure.location.file == file_of(2)
    assert failure.location.line == 1
    assert "BEGIN without COMMIT" in failure.message
    assert "COMMIT" in failure.hint
    assert idle(conn)
    assert exists(conn, "one")
    assert not exists(conn, "two")
    assert not exists(conn, "three")


def test_explicit_begin_and_commit_apply(tmp_path: Path, conn: psycopg.Connection) -> None:
    files = migrations(tmp_path, "begin;\ncreate table one (x int);\ninsert into one values (1);\ncommit;\n",
                       "create table two (x int);\n")

    outcome = apply_files(conn, files)

    assert outcome.failure is None
    assert outcome.applied == files
    assert outcome.outside_transaction == []
    assert conn.execute("select x from one").fetchall() == [(1,)]
    assert exists(conn, "two")
    assert idle(conn)


def test_explicit_transaction_failing_without_position_is_located(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    text = "begin;\ncreate table a (x int check (x > 0));\ninsert into a values (-1);\ncommit;\n"

    outcome = apply_files(conn, migrations(tmp_path, text))

    assert outcome.failure.location.line == 3
    assert idle(conn)
    assert not exists(conn, "a")


def test_explicit_transaction_failing_with_position_is_located(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    text = "begin;\ncreate table a (x int);\ninsert into a values ('q');\ncommit;\n"

    outcome = apply_files(conn, migrations(tmp_path, text))

    assert (outcome.failure.location.line, outcome.failure.location.column) == (3, 23)


def test_explicit_transaction_failing_leaves_the_connection_usable(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    text = "begin;\ncreate table a (x int);\ninsert into a values ('q');\ncommit;\n"

    apply_files(conn, migrations(tmp_path, text))

    assert idle(conn)


def test_error_after_a_commit_in_the_file_is_located(tmp_path: Path, conn: psycopg.Connection) -> None:
    text = "begin;\ncreate table a (x int check (x > 0));\ncommit;\ninsert into a values (-1);\n"

    outcome = apply_files(conn, migrations(tmp_path, text))

    assert "check constraint" in outcome.failure.message
    assert outcome.failure.location.line == 4
