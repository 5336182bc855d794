"""Applying migration files, and saying exactly where one failed.

Each file runs as one simple-protocol query: PostgreSQL executes a
multi-statement query as one implicit transaction, so a file is atomic (as
`supabase db push` makes it) and costs one round trip. Files with statements
that refuse a transaction block (`create index concurrently`, ...) run
statement by statement outside one. When a file fails, the error's position
gives file, line and column; errors without a position (raised at run time in
PL/pgSQL, say) are pinned to their statement by replaying the file one
statement at a time in a transaction that is rolled back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dragonfly_ci.findings import Finding, Location
from dragonfly_ci.migrations.files import MigrationFile
from dragonfly_ci.migrations.statements import (
    ParsedFile,
    ParseFailure,
    SourceText,
    Statement,
    may_need_no_transaction,
    parse,
)
from dragonfly_ci.rules import finding

if TYPE_CHECKING:
    import psycopg


@dataclass
class ApplyOutcome:
    applied: list[MigrationFile]
    failure: Finding | None = None
    outside_transaction: list[MigrationFile] | None = None


class MigrationFailed(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def apply_files(
    conn: psycopg.Connection,
    files: Iterable[MigrationFile],
    on_applied: Callable[[MigrationFile, float], None] | None = None,
) -> ApplyOutcome:
    """Apply files in order on an autocommit connection; stop at the first failure."""
    outcome = ApplyOutcome(applied=[], outside_transaction=[])
    for i, file in enumerate(files):
        started = time.perf_counter()
        if i:
            # As the Supabase CLI does: what one file SETs (a dump header's
            # set_config('search_path', '', false)) must not leak into the next.
            conn.execute("reset all")
        try:
            if apply_file(conn, file):
                outcome.outside_transaction.append(file)
        except MigrationFailed as failed:
            outcome.failure = failed.finding
            break
        outcome.applied.append(file)
        if on_applied:
            on_applied(file, time.perf_counter() - started)
    return outcome


def apply_file(conn: psycopg.Connection, file: MigrationFile) -> bool:
    """Apply one file; True when it had to run outside a transaction."""
    import psycopg

    text = file.text
    parsed = _parse_if_needed(text)
    if parsed is not None and parsed.needs_no_transaction:
        for stmt in parsed.statements:
            sql = parsed.source.slice_bytes(stmt.start, stmt.end)
            try:
                conn.execute(sql)
            except psycopg.Error as exc:
                raise MigrationFailed(failure_at(file, exc, parsed, stmt)) from None
        return True
    try:
        conn.execute(text)
    except psycopg.Error as exc:
        _rollback_if_open(conn)  # a file with its own BEGIN leaves a failed transaction
        raise MigrationFailed(locate_failure(conn, file, exc)) from None
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("rollback")
        raise MigrationFailed(finding(
            "migration/apply-failed",
            f"{file.display} leaves a transaction open (BEGIN without COMMIT)",
            location=Location(file.display, 1),
            hint="end the file with COMMIT, or drop its BEGIN: each file already runs in a transaction",
        ))
    return False


def _rollback_if_open(conn: psycopg.Connection) -> None:
    import psycopg

    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("rollback")


def _parse_if_needed(text: str) -> ParsedFile | None:
    if not may_need_no_transaction(text):
        return None
    try:
        return parse(text)
    except ParseFailure:
        return None  # PostgreSQL will report the syntax error with its position


def locate_failure(conn: psycopg.Connection, file: MigrationFile, exc: Exception) -> Finding:
    """The finding for a file that failed with `exc`, at the line that failed.

    The database must be as it was before the file ran (rolled back, or rolled
    back to a savepoint taken before it); it is left that way.
    """
    if getattr(exc.diag, "statement_position", None):
        return failure_at(file, exc, None, None)
    try:
        parsed = parse(file.text)
    except ParseFailure:
        return failure_at(file, exc, None, None)
    culprit, culprit_exc = _replay(conn, parsed, exc)
    return failure_at(file, culprit_exc, parsed, culprit)


def _replay(
    conn: psycopg.Connection, parsed: ParsedFile, original: Exception
) -> tuple[Statement | None, Exception]:
    """Find the statement that raises `original` again, in a transaction rolled back after.

    Each statement runs under a savepoint, so one that fails for another reason
    (a value an enum gained in this very transaction, say) does not hide the
    real culprit further on. The file's own BEGIN/COMMIT are skipped. Inside a
    caller's transaction (a migrate batch) the replay nests in a savepoint.
    """
    import psycopg

    def same(e: Exception) -> bool:
        return (e.diag.sqlstate, e.diag.message_primary) == (
            original.diag.sqlstate, original.diag.message_primary)

    first_failure: tuple[Statement, Exception] | None = None
    nested = conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    conn.execute("savepoint dragonfly_replay_file" if nested else "begin")
    try:
        for stmt in parsed.statements:
            if stmt.kind == "TransactionStmt":
                continue
            conn.execute("savepoint dragonfly_replay")
            try:
                conn.execute(parsed.source.slice_bytes(stmt.start, stmt.end))
            except psycopg.Error as replay_exc:
                if same(replay_exc):
                    return stmt, replay_exc
                first_failure = first_failure or (stmt, replay_exc)
                conn.execute("rollback to savepoint dragonfly_replay")
    finally:
        conn.execute("rollback to savepoint dragonfly_replay_file" if nested else "rollback")
    if first_failure:
        return first_failure[0], original
    return None, original


_PLPGSQL_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")


def failure_at(
    file: MigrationFile,
    exc: Exception,
    parsed: ParsedFile | None,
    stmt: Statement | None,
    prefix_chars: int = 0,
) -> Finding:
    diag = exc.diag
    source = parsed.source if parsed else None
    line = column = None
    end_line = None
    position = getattr(diag, "statement_position", None)
    if position:
        char = max(int(position) - 1 - prefix_chars, 0)
        if stmt is not None and source is not None:
            char += source.char_of_byte(stmt.start)
        if source is None:
            source = SourceText(file.text)
        line, column = source.line_col_of_char(char)
    elif stmt is not None:
        line, column, end_line = stmt.line, stmt.column, stmt.end_line
        body_line = _do_block_line(stmt, source, diag.context or "")
        if body_line:
            line, column, end_line = body_line, None, None
    message = (diag.message_primary or str(exc)).strip()
    detail = f" ({diag.message_detail})" if diag.message_detail else ""
    where = f" [{diag.context.strip().splitlines()[0]}]" if diag.context else ""
    return finding(
        "migration/apply-failed",
        f"{file.display} failed to apply: {message}{detail}{where}",
        location=Location(file.display, line or 1, end_line, column),
        hint=(diag.message_hint or "fix this migration; the files after it were not applied")
        + (f" (SQLSTATE {diag.sqlstate})" if diag.sqlstate else ""),
    )


def _do_block_line(stmt: Statement, source: SourceText | None, context: str) -> int | None:
    """Map 'inline_code_block line N' in a DO block to the file's line."""
    match = _PLPGSQL_LINE.search(context)
    if not match or stmt.kind != "DoStmt" or source is None:
        return None
    for arg in stmt.node.get("args", []):
        elem = arg.get("DefElem", {})
        if elem.get("defname") == "as" and elem.get("location", -1) >= 0:
            # PL/pgSQL counts lines from the start of the body literal.
            body_line, _ = source.line_col_of_byte(elem["location"])
            return body_line + int(match.group(1)) - 1
    return None
