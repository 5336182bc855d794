"""`dragonfly-ci schema-consistency` (alias `drift`): the live schema against the migrations.

target database -> live fingerprints; migration files -> shadow -> expected
fingerprints; what they show may differ -> a partial Snapshot of each side
(postgres/fingerprints.py); compare -> findings at the migration lines behind
each object. Never prints, never exits: the CLI renders the GateResult.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dragonfly_ci.checks.drift import DEFAULT_IGNORED, ignored
from dragonfly_ci.config import Project
from dragonfly_ci.findings import GateResult
from dragonfly_ci.rules import apply_overrides

if TYPE_CHECKING:
    import psycopg

    from dragonfly_ci.postgres.fingerprints import Fingerprints
    from dragonfly_ci.targets import Target

GATE = "schema-consistency"

# Snapshot section -> (one, many), for the facts.
_NOUNS = {
    "schemas": ("schema", "schemas"), "functions": ("function", "functions"),
    "relations": ("relation", "relations"), "columns": ("column", "columns"),
    "indexes": ("index", "indexes"), "constraints": ("constraint", "constraints"),
    "policies": ("policy", "policies"), "triggers": ("trigger", "triggers"),
    "types": ("type", "types"), "extensions": ("extension", "extensions"),
    "publications": ("publication", "publications"),
    "event_triggers": ("event trigger", "event triggers"),
}


def _database_owner(conn: psycopg.Connection) -> str:
    """Who owns the database: the role the migrations' objects belong to by default."""
    row = conn.execute(
        "select pg_get_userbyid(datdba)::text from pg_database where datname = current_database()"
    ).fetchone()
    return row[0] if row else ""


def _read_live(conn: psycopg.Connection, target: Target) -> tuple[Fingerprints, str]:
    """The live fingerprints and database owner, in read-only transactions."""
    import psycopg

    from dragonfly_ci.errors import CouldNotCheck
    from dragonfly_ci.postgres.connect import scrub
    from dragonfly_ci.postgres.fingerprints import take_fingerprints

    try:
        conn.execute("set application_name = 'dragonfly-ci schema-consistency'")
        owner = _database_owner(conn)
    except psycopg.Error as exc:
        message = scrub(str(exc).strip(), target.url)
        raise CouldNotCheck(f"could not read {target.label}: {message}") from exc
    return take_fingerprints(conn), owner


def run(
    project: Project,
    target: Target,
    *,
    shadow_url: str | None = None,
    ignore_schemas: Iterable[str] | None = None,
) -> GateResult:
    from concurrent.futures import ThreadPoolExecutor

    from dragonfly_ci.checks.drift import compare, object_counts
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.migrations.sources import located_index
    from dragonfly_ci.postgres.connect import connect
    from dragonfly_ci.postgres.fingerprints import read_planned, take_fingerprints
    from dragonfly_ci.postgres.shadow import build_from_migrations

    started = time.perf_counter()
    if ignore_schemas is None:
        ignore_schemas = project.drift.get("ignore_schemas", DEFAULT_IGNORED)
    patterns = tuple(ignore_schemas)
    result = GateResult(GATE)
    result.facts["database"] = target.label
    files, skipped = discover(project.migrations_dir, project.display)
    result.findings += skipped

    # Connect first, so an unreachable database fails (exit 3) before the
    # seconds a shadow costs; then fingerprint it (over the network, for
    # production) on its own thread while the shadow builds, and read what
    # may differ on that thread again while the shadow's side is read. The
    # connection is used by one thread at a time.
    conn = connect(target.url, autocommit=True, purpose=f"the {target.env or 'target'} database")
    with conn, ThreadPoolExecutor(1, thread_name_prefix="live-snapshot") as pool:
        reading = pool.submit(_read_live, conn, target)
        url = project.resolve_shadow_url(shadow_url)
        with build_from_migrations(files, url, project.platform) as build:
            shadow, outcome = build.shadow, build.outcome
            result.facts["shadow"] = shadow.label
            result.facts["migrations applied"] = f"{len(outcome.applied)} of {len(files)}"
            if outcome.failure:
                result.findings.append(outcome.failure)
                result.facts["compared"] = "nothing: a migration failed to apply to the shadow"
                result.findings = apply_overrides(result.findings, project.rules)
                result.duration_s = time.perf_counter() - started
                return result
            expected_prints = take_fingerprints(shadow.conn)
            shadow_owner = _database_owner(shadow.conn)
            sources = located_index(files, shadow.conn)
            live_prints, live_owner = reading.result()  # raises what the reading raised
            pair = read_planned(shadow.conn, conn, expected_prints, live_prints, pool=pool,
                                skip_schema=lambda schema: ignored(schema, patterns))
            expected, actual, chosen = pair.expected, pair.actual, pair.plan

    aliases = {shadow_owner: live_owner} if shadow_owner and live_owner and shadow_owner != live_owner else {}
    live = target.env or "the database"
    result.findings += compare(expected, actual, sources, ignore_schemas=patterns,
                               role_aliases=aliases, live=live)
    counts = object_counts(expected, actual, sources, ignore_schemas=patterns, plan=chosen)
    result.facts["compared"] = ", ".join(
        f"{n} {_NOUNS[kind][n != 1]}" for kind, n in counts.items() if n) or "nothing"
    result.facts["ignored schemas"] = ", ".join(patterns) or "none"
    result.facts["server versions"] = (
        f"{live} PostgreSQL {actual.server_version}, shadow PostgreSQL {expected.server_version}")
    if aliases:
        result.facts["database owner"] = f"{live_owner} ({live}) stands for {shadow_owner} (shadow)"
    if sources.unparsed:
        result.facts["not located"] = ", ".join(sources.unparsed) + " (pglast could not parse them)"
    result.findings = apply_overrides(result.findings, project.rules)
    result.duration_s = time.perf_counter() - started
    return result
