"""The plan: local migration files against the ledger of applied versions.

Pure: files and ledger rows in, pending files, batches and findings out. An
applied file is compared with the statements stored when it was applied: a
difference the parser sees is an edit (error); one only in whitespace or
comments is a warning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from dragonfly_ci.findings import Finding, Location
from dragonfly_ci.migrations.cli_split import is_split_of
from dragonfly_ci.migrations.cli_split import split as cli_split
from dragonfly_ci.migrations.files import MigrationFile
from dragonfly_ci.migrations.ledger import LedgerRow
from dragonfly_ci.migrations.statements import (
    ParsedFile,
    ParseFailure,
    Statement,
    may_need_no_transaction,
    parse,
)
from dragonfly_ci.rules import finding

# Words every transaction-control statement starts with (END; also closes PL/pgSQL
# blocks, so it only makes a file a candidate; the parse decides).
_MAYBE_TRANSACTION_CONTROL = re.compile(
    r"\b(commit|rollback|abort|savepoint|release|prepare\s+transaction)\b|\bbegin\s*(work|transaction)?\s*;"
    r"|\bstart\s+transaction\b|\bend\s*(work|transaction)?\s*;",
    re.IGNORECASE,
)
# The first tokens of the statements that begin or end a transaction (PREPARE may be
# PREPARE TRANSACTION). The scanner is cheap next to a parse and never looks into
# dollar-quoted bodies, where PL/pgSQL's BEGIN and END live.
_TRANSACTION_FIRST_TOKENS = {"BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "PREPARE"}
_COMMENT_TOKENS = {"SQL_COMMENT", "C_COMMENT"}


def _may_control_transaction(text: str) -> bool:
    """False only when no statement of the file can begin or end a transaction."""
    from pglast.parser import scan

    if not _MAYBE_TRANSACTION_CONTROL.search(text):
        return False
    try:
        tokens = scan(text)
    except Exception:  # noqa: BLE001 - not even scannable: the parse (or the server) will say why
        return True
    at_start = True
    for token in tokens:
        if token.name in _COMMENT_TOKENS:
            continue
        if at_start and token.name in _TRANSACTION_FIRST_TOKENS:
            return True
        at_start = token.name == "ASCII_59"
    return False


_PG_DELTA_NO_TRANSACTION = re.compile(r"\A--\s*pg-delta:\s*transaction\s*=\s*false\s*$", re.MULTILINE)


# BEGIN, START TRANSACTION, COMMIT/END and ROLLBACK/ABORT; savepoints stay valid in a batch.
_ENDS_OR_BEGINS = {"TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK",
                   "TRANS_STMT_PREPARE", "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED"}


def ends_transaction(stmt: Statement) -> bool:
    """A statement that would begin or end the batch's transaction."""
    return stmt.kind == "TransactionStmt" and stmt.node.get("kind") in _ENDS_OR_BEGINS


@dataclass
class PendingFile:
    file: MigrationFile

    @cached_property
    def statements(self) -> list[str]:
        """As the Supabase CLI stores them in the ledger."""
        return cli_split(self.file.text)

    @cached_property
    def parsed(self) -> ParsedFile | None:
        try:
            return parse(self.file.text)
        except ParseFailure:
            return None  # PostgreSQL will report it, at its line

    @cached_property
    def outside_transaction(self) -> bool:
        """Statements PostgreSQL refuses in a transaction: the file runs alone, outside the batch.

        A first line `-- pg-delta: transaction=false` asks for that too, as the
        Supabase CLI honours it."""
        if _PG_DELTA_NO_TRANSACTION.match(self.file.text):
            return True
        if not may_need_no_transaction(self.file.text):
            return False
        return bool(self.parsed and self.parsed.needs_no_transaction)

    @cached_property
    def adds_enum_value(self) -> bool:
        """ALTER TYPE ... ADD VALUE: the value is unusable until its transaction commits,
        so the batch ends after this file (as `supabase db push`, a transaction per
        file, lets later files use it)."""
        if "value" not in self.file.text.lower() or not self.parsed:
            return False
        return any(s.kind == "AlterEnumStmt" and s.node.get("newVal") for s in self.parsed.statements)

    @cached_property
    def controls_transaction(self) -> bool:
        """The file says BEGIN/COMMIT itself: run its statements one by one, without those.
        Only files whose text could hold such a statement are parsed to know."""
        if not _may_control_transaction(self.file.text):
            return False
        return bool(self.parsed) and any(ends_transaction(s) for s in self.parsed.statements)


@dataclass
class Plan:
    pending: list[PendingFile] = field(default_factory=list)
    applied: list[LedgerRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.severity.value == "error" for f in self.findings)

    def batches(self) -> list[list[PendingFile]]:
        """Consecutive files share one transaction; a file that cannot run in one stands
        alone, and a file that adds an enum value ends its transaction."""
        batches: list[list[PendingFile]] = []
        for item in self.pending:
            closed = not batches or batches[-1][0].outside_transaction or batches[-1][-1].adds_enum_value
            if item.outside_transaction or closed:
                batches.append([item])
            else:
                batches[-1].append(item)
        return batches


def make_plan(
    files: list[MigrationFile], ledger: list[LedgerRow], *, allow_out_of_order: bool = False
) -> Plan:
    plan = Plan(applied=list(ledger))
    local = {f.version: f for f in files}
    applied = {row.version: row for row in ledger}
    newest_applied = max(applied, default="")

    for row in ledger:
        file = local.get(row.version)
        if file is None:
            plan.findings.append(finding(
                "ledger/unknown-version",
                f"version {row.version} ({row.name or 'no name'}) is applied but has no local file"
                + (f"; the ledger row was written by {row.created_by}" if row.created_by else ""),
                hint="restore the file from git, or fetch it (`supabase migration fetch`) if it was "
                f"applied from the dashboard; if it must be forgotten: `supabase migration repair "
                f"--status reverted {row.version}`",
                subject=row.version,
            ))
            continue
        if row.created_by:
            plan.findings.append(finding(
                "ledger/written-outside-git",
                f"{file.display} was recorded by {row.created_by}, not by a migration tool",
                location=Location(file.display, 1),
                hint="make sure the file matches what was run on the database",
                subject=row.version,
            ))
        plan.findings += _compare_applied(file, row)

    for file in files:
        if file.version in applied:
            continue
        item = PendingFile(file)
        if file.version < newest_applied and not allow_out_of_order:
            plan.findings.append(finding(
                "ledger/out-of-order",
                f"{file.display} is pending but older than the newest applied version {newest_applied}",
                location=Location(file.display, 1),
                hint="give it a timestamp after the newest applied version (rename the file), or "
                "pass --allow-out-of-order if applying it late is safe",
                subject=file.version,
            ))
        how = " alone, outside a transaction" if item.outside_transaction else ""
        plan.findings.append(finding(
            "ledger/pending", f"{file.display} will be applied{how}",
            location=Location(file.display, 1), subject=file.version,
        ))
        plan.pending.append(item)
    return plan


def _compare_applied(file: MigrationFile, row: LedgerRow) -> list[Finding]:
    if row.statements is None:
        return [finding(
            "ledger/statements-unknown",
            f"{file.display}: the ledger stores no statements for it, so edits cannot be detected",
            location=Location(file.display, 1), subject=row.version,
        )]
    current = cli_split(file.text)
    stored = list(row.statements)
    if current == stored or is_split_of(file.text, stored):
        return []  # the same file, perhaps split by another Supabase CLI version
    index = _first_difference(current, stored)
    line = _line_of_statement(file.text, current, index)
    if index < len(current) and index < len(stored):
        line += _first_differing_line(current[index], stored[index])
    if _canonical(current) == _canonical(stored):
        return [finding(
            "ledger/applied-migration-reformatted",
            f"{file.display} was reformatted after it was applied (statement {index + 1} differs "
            "only in whitespace or comments)",
            location=Location(file.display, line),
            hint="restore the file as applied (git checkout) so the history stays byte-identical",
            subject=row.version,
        )]
    was = stored[index] if index < len(stored) else "(nothing)"
    return [finding(
        "ledger/applied-migration-edited",
        f"{file.display} was edited after it was applied: statement {index + 1} differs from "
        f"what ran ({_short(was)})",
        location=Location(file.display, line),
        hint="applied migrations are immutable: revert this edit and write a new migration "
        "(`dragonfly-ci rollback new <slug>` starts one)",
        subject=row.version,
    )]


def _first_difference(a: list[str], b: list[str]) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y and _canonical([x]) != _canonical([y]):
            return i
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _line_of_statement(text: str, statements: list[str], index: int) -> int:
    """1-based line where statement `index` starts in the file (the end, past the last)."""
    pos = 0
    for i, stmt in enumerate(statements):
        needle = stmt.strip()
        found = text.find(needle, pos) if needle else -1
        if found < 0:
            return 1
        if i == index:
            return text.count("\n", 0, found) + 1
        pos = found + len(needle)
    return text.rstrip().count("\n") + 1


def _first_differing_line(current: str, stored: str) -> int:
    """How many lines into the statement the first difference is."""
    for i, (a, b) in enumerate(zip(current.splitlines(), stored.splitlines(), strict=False)):
        if a != b:
            return i
    return min(current.count("\n"), stored.count("\n"))


def _canonical(statements: list[str]) -> list:
    """Parse trees without positions: equal exactly when only whitespace and comments differ."""
    from pglast import parser

    trees = []
    for stmt in statements:
        try:
            tree = json.loads(parser.parse_sql_json(stmt))
        except parser.ParseError:
            trees.append(" ".join(stmt.split()))
            continue
        trees += [_strip_locations(s["stmt"]) for s in tree.get("stmts", [])]
    return trees


def _strip_locations(node: object) -> object:
    if isinstance(node, dict):
        return {k: _strip_locations(v) for k, v in node.items()
                if k not in ("location", "stmt_location", "stmt_len", "arg_location")}
    if isinstance(node, list):
        return [_strip_locations(v) for v in node]
    return node


def _short(sql: str, limit: int = 80) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
