"""SQL steps: in order, in ONE transaction that is always rolled back.

One transaction, so a later step sees what an earlier one did (queue a job,
then claim it); rolled back, so nothing remains. Each step runs under a
savepoint with its own statement_timeout: a failing step is undone alone and
the next steps still run.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.smoke.steps import Outcome, Step, check, plain

if TYPE_CHECKING:
    import psycopg


def run_sql_steps(url: str, steps: list[Step], *, purpose: str) -> list[Outcome]:
    """Connect (CouldNotCheck when that fails), run the steps, roll everything back."""
    from dragonfly_ci.postgres.connect import connect

    conn = connect(url, autocommit=False, purpose=purpose)
    try:
        conn.execute("set local application_name = 'dragonfly-ci smoke'")
        return [_run_step(conn, step, url, purpose) for step in steps]
    finally:
        if not conn.closed:
            conn.rollback()
        conn.close()


def _run_step(conn: psycopg.Connection, step: Step, url: str, purpose: str) -> Outcome:
    import psycopg
    from psycopg import sql

    assert step.sql is not None
    started = time.perf_counter()
    conn.execute("savepoint dragonfly_smoke_step")
    # 0 would mean no timeout at all
    conn.execute(sql.SQL("set local statement_timeout = {}").format(max(1, int(step.timeout_s * 1000))))
    conn.execute("reset role")
    if step.role:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(step.role)))
    try:
        cursor = conn.execute(step.sql.encode("utf-8"))
        rows, text, first = _result(cursor)
    except psycopg.Error as exc:
        if conn.closed or conn.broken:
            from dragonfly_ci.postgres.connect import scrub

            raise CouldNotCheck(
                f"lost the connection to {purpose} during smoke step {step.name!r}: "
                f"{scrub(str(exc).strip(), url)}",
                hint="check that the database is up and reachable, then run smoke again",
            ) from None
        conn.execute("rollback to savepoint dragonfly_smoke_step")
        detail, hint = _error(exc, step)
        return Outcome(step, False, time.perf_counter() - started, detail=detail, hint=hint)
    conn.execute("release savepoint dragonfly_smoke_step")
    mismatch = check(step.expect, rows=rows, text=text, value=first[0] if first else None,
                     has_value=bool(first))
    return Outcome(step, not mismatch, time.perf_counter() - started, detail=mismatch)


def _result(cursor: psycopg.Cursor) -> tuple[list[Any], str, tuple[Any, ...]]:
    """The last statement's rows (as JSON-like objects), the same as text, and the
    first row's first column (empty without one). A statement with no result set
    counts the rows it affected."""
    while cursor.nextset():
        pass
    if cursor.description is None:
        affected = max(cursor.rowcount, 0)
        return [{}] * affected, f"{affected} rows affected", ()
    names = [c.name for c in cursor.description]
    rows = [[plain(v) for v in row] for row in cursor.fetchall()]
    shown = [dict(zip(names, row, strict=True)) for row in rows]
    first = (rows[0][0],) if rows and rows[0] else ()
    return shown, json.dumps(shown, ensure_ascii=False, default=str), first


def _error(exc: Exception, step: Step) -> tuple[str, str]:
    import psycopg

    if isinstance(exc, psycopg.errors.QueryCanceled):
        return (f"expected {step.expect.describe('sql')}, got no answer: timed out after "
                f"{step.timeout_s:g} s (statement_timeout)",
                "raise the step's timeout if the path is slow by design, or find what blocks it")
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None) or ""
    primary = (diag.message_primary if diag else None) or str(exc).strip().splitlines()[0]
    detail = f"expected {step.expect.describe('sql')}, got SQL error {sqlstate}: {primary}".replace("  ", " ")
    if diag and diag.message_detail:
        detail += f" ({diag.message_detail})"
    hint = (diag.message_hint if diag else None) or (
        "the step ran inside a transaction that was rolled back; nothing it did remains")
    return detail, hint
