"""The ledger of applied migrations: the Supabase CLI's own table, and our audit trail.

`supabase_migrations.schema_migrations` is read and written exactly as the
Supabase CLI does (the SQL below is the CLI's, pkg/migration/history.go), so a
team can mix `dragonfly-ci migrate` with `supabase db push`. Hosted projects
add `created_by`, `idempotency_key` and `rollback`; we read `created_by` when
present and never alter Supabase's table. What we add lives in our own schema,
`dragonfly`: one row per transaction a migrate run committed (usually one; a
file that must run alone gets its own) or tried and rolled back.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

LEDGER = "supabase_migrations.schema_migrations"

# The Supabase CLI's statements, verbatim (CreateMigrationTable, INSERT_MIGRATION_VERSION).
CREATE_LEDGER = (
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text",
)
INSERT_VERSION = (
    "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES(%s, %s, %s)"
)

CREATE_AUDIT = """
create schema if not exists dragonfly;
comment on schema dragonfly is 'dragonfly-ci bookkeeping: who applied which migrations, when.';
revoke all on schema dragonfly from public;
create table if not exists dragonfly.migration_runs (
  id          bigint generated always as identity primary key,
  started_at  timestamptz not null,
  duration_ms integer not null,
  outcome     text not null check (outcome in ('applied', 'failed')),
  versions    text[] not null,
  actor       text,
  commit_sha  text,
  run_url     text,
  tool        text not null,
  error       text
)
"""


@dataclass(frozen=True)
class LedgerRow:
    version: str
    name: str
    statements: tuple[str, ...] | None
    created_by: str | None = None  # set by the dashboard / Management API, never by the CLI


@dataclass(frozen=True)
class RunRecord:
    started_at: datetime
    duration_ms: int
    outcome: str
    versions: tuple[str, ...]
    actor: str | None
    commit_sha: str | None
    run_url: str | None
    error: str | None


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select attname from pg_attribute where attrelid = to_regclass(%s) and attnum > 0 "
        "and not attisdropped", (f"{schema}.{table}",)).fetchall()
    return {r[0] for r in rows}


def has_ledger(conn: psycopg.Connection) -> bool:
    return "version" in _columns(conn, "supabase_migrations", "schema_migrations")


def read_ledger(conn: psycopg.Connection) -> list[LedgerRow]:
    """Applied versions in version order; [] when the ledger does not exist yet."""
    columns = _columns(conn, "supabase_migrations", "schema_migrations")
    if "version" not in columns:
        return []
    statements = "statements" if "statements" in columns else "null::text[]"
    name = "coalesce(name, '')" if "name" in columns else "''"
    created_by = "created_by" if "created_by" in columns else "null::text"
    rows = conn.execute(
        f"select version, {name}, {statements}, {created_by} from {LEDGER} order by version"
    ).fetchall()
    return [LedgerRow(v, n, tuple(s) if s is not None else None, c) for v, n, s, c in rows]


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the ledger (as the CLI does) and our audit table if absent."""
    for statement in CREATE_LEDGER:
        conn.execute(statement)
    conn.execute(CREATE_AUDIT)


def record_version(conn: psycopg.Connection, version: str, name: str, statements: list[str]) -> None:
    conn.execute(INSERT_VERSION, (version, name, statements))


def record_versions(conn: psycopg.Connection, rows: list[tuple[str, str, list[str]]]) -> None:
    """Many ledger rows with the CLI's own INSERT, pipelined: one round trip, and the
    statements travel as bound parameters, never quoted into SQL text."""
    with conn.cursor() as cur:
        cur.executemany(INSERT_VERSION, rows)


def run_insert_sql(
    conn: psycopg.Connection,
    *,
    started_at: datetime,
    duration_ms: int,
    outcome: str,
    versions: list[str],
    tool: str,
    error: str | None = None,
    who: dict[str, str | None] | None = None,
) -> str:
    """The audit row as literal SQL, to send with the batch's last statements.
    `who`: provenance(), when the caller already asked (it runs git)."""
    from psycopg import sql

    who = who or provenance()
    values = [started_at, duration_ms, outcome, versions, who["actor"], who["commit_sha"],
              who["run_url"], tool, error]
    return sql.SQL(
        "insert into dragonfly.migration_runs (started_at, duration_ms, outcome, versions, actor, "
        "commit_sha, run_url, tool, error) values ({}, {}, {}, {}::text[], {}, {}, {}, {}, {})"
    ).format(*map(sql.Literal, values)).as_string(conn)


def record_run(conn: psycopg.Connection, **fields: object) -> None:
    conn.execute(run_insert_sql(conn, **fields))


def read_runs(conn: psycopg.Connection, limit: int = 5) -> list[RunRecord]:
    if "id" not in _columns(conn, "dragonfly", "migration_runs"):
        return []
    rows = conn.execute(
        "select started_at, duration_ms, outcome, versions, actor, commit_sha, run_url, error "
        "from dragonfly.migration_runs order by id desc limit %s", (limit,)).fetchall()
    return [RunRecord(r[0], r[1], r[2], tuple(r[3]), *r[4:]) for r in rows]


def provenance() -> dict[str, str | None]:
    """Who is migrating: the Actions actor and run, else the local git author and commit."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        run_url = None
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com")
            run_url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        return {"actor": env.get("GITHUB_ACTOR"), "commit_sha": env.get("GITHUB_SHA"), "run_url": run_url}
    return {"actor": _git("var", "GIT_AUTHOR_IDENT", strip_time=True),
            "commit_sha": _git("rev-parse", "HEAD"), "run_url": None}


def _git(*args: str, strip_time: bool = False) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    value = out.stdout.strip()
    if strip_time:  # "Name <email> 1700000000 +0000" -> "Name <email>"
        value = value.rsplit(" ", 2)[0]
    return value or None
