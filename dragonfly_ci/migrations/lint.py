"""Lint migrations with squawk (PyPI package squawk-cli) for lock and rewrite hazards.

squawk's findings become `lint/<squawk rule>` findings, at squawk's own
severity (its "Warning" or "Error"), re-graded like every rule by the project
file's `rules:` (`lint/ban-drop-column: error`, `lint/*: notice`). squawk reads
a `.squawk.toml` from the folder it runs in (the repository root), so its own
configuration (excluded rules, `assume_in_transaction`, ...) works as usual.

squawk's JSON counts lines from 0 and columns in bytes from 0; findings count
both from 1, columns in characters, as GitHub annotations and SARIF
(`columnKind: unicodeCodePoints`) do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.findings import Finding, Location, Severity
from dragonfly_ci.migrations.files import MigrationFile
from dragonfly_ci.migrations.statements import ParseFailure, may_need_no_transaction, parse

_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING}
TIMEOUT_S = 120


def squawk_executable() -> str:
    """squawk from this Python's environment (the squawk-cli dependency), else from PATH."""
    beside = Path(sys.executable).parent / ("squawk.exe" if sys.platform == "win32" else "squawk")
    if beside.is_file():
        return str(beside)
    found = shutil.which("squawk")
    if found:
        return found
    raise CouldNotCheck("squawk is not installed, so the new migrations could not be linted",
                        hint="pip install squawk-cli (a dependency of dragonfly-ci: reinstall it)")


def lint(files: Sequence[MigrationFile], cwd: Path) -> list[Finding]:
    """squawk's findings on `files`, each at its file, line and column."""
    # Each file runs in a transaction, as `supabase db push` runs it, unless it holds a statement
    # that cannot (create index concurrently): squawk judges the two kinds differently.
    in_transaction, alone = [], []
    for file in files:
        (alone if _runs_outside_transaction(file) else in_transaction).append(file)
    findings: list[Finding] = []
    for group, assume in ((in_transaction, True), (alone, False)):
        if group:
            findings += _run(group, cwd, assume)
    return findings


def _runs_outside_transaction(file: MigrationFile) -> bool:
    if not may_need_no_transaction(file.text):
        return False
    try:
        return parse(file.text).needs_no_transaction
    except ParseFailure:
        return False


def _run(files: Sequence[MigrationFile], cwd: Path, assume_in_transaction: bool) -> list[Finding]:
    by_path = {str(f.path): f for f in files}
    args = [squawk_executable(), "--reporter", "json", "--no-error-on-unmatched-pattern"]
    args.append("--assume-in-transaction" if assume_in_transaction else "--no-assume-in-transaction")
    try:
        proc = subprocess.run([*args, *by_path], cwd=cwd, capture_output=True, timeout=TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CouldNotCheck(f"could not run squawk: {exc}") from None
    try:
        reported = json.loads(proc.stdout.decode("utf-8") or "[]")
        if not isinstance(reported, list):
            raise ValueError("not a list")
    except ValueError:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise CouldNotCheck(f"squawk failed (exit {proc.returncode}): {stderr[-500:] or 'no output'}",
                            hint="run squawk on the files by hand to see why") from None
    findings = []
    for item in reported:
        file = by_path.get(str(item.get("file")))
        if file is None:  # squawk names files as it was given them
            continue
        findings.append(_finding(item, file))
    return findings


def _finding(item: dict, file: MigrationFile) -> Finding:
    rule = str(item.get("rule_name") or "unknown")
    lines = file.text.encode("utf-8").split(b"\n")
    line, end_line = _int(item.get("line")), _int(item.get("line_end"))
    column = _character_column(lines, line, _int(item.get("column")))
    end = max(end_line, line)
    return Finding(
        rule=f"lint/{rule}",
        severity=_LEVELS.get(str(item.get("level", "")).lower(), Severity.NOTICE),
        message=f"{item.get('message') or rule} (squawk {rule})",
        location=Location(file.display, line + 1, end + 1 if end != line else None, column),
        hint=str(item.get("help") or f"see squawk's documentation of {rule}"),
        subject=file.display,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _character_column(lines: list[bytes], line: int, byte_column: int) -> int:
    """squawk's 0-based byte offset in a line as a 1-based character column."""
    if line >= len(lines):
        return 1
    text = lines[line][:byte_column].decode("utf-8", "replace")
    return len(text) + 1
