"""The report for people at a terminal: findings by file, what was checked, one verdict."""

from __future__ import annotations

from collections.abc import Callable

from dragonfly_ci.findings import Finding, GateResult
from dragonfly_ci.report._words import counts, seconds

_RESET = "\x1b[0m"
_STYLES = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[33m",
    "notice": "\x1b[36m",
    "path": "\x1b[1m",
    "dim": "\x1b[2m",
    "passed": "\x1b[1;32m",
    "failed": "\x1b[1;31m",
}
# Wide enough for the usual `supabase/migrations/<version>_<name>.sql:120:5`; a
# longer path only pushes its own line out of alignment instead of every line.
_MAX_WHERE_WIDTH = 60
_SEVERITY_WIDTH = len("warning")

Paint = Callable[[str, str], str]


def render(result: GateResult, *, color: bool, strict: bool = False) -> str:
    """The whole report, without a trailing newline; the verdict is the last line."""

    def paint(style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if color else text

    lines: list[str] = []
    findings = result.sorted_findings()
    where_width = min(max((len(_where(f)) for f in findings), default=0), _MAX_WHERE_WIDTH)
    rule_width = max((len(f.rule) for f in findings), default=0)
    for group in _groups_by_file(findings):
        for f in group:
            lines.extend(_finding_lines(f, paint, where_width, rule_width))
        lines.append("")

    if result.checks:
        name_width = max(len(c.name) for c in result.checks)
        for check in result.checks:
            style = {"passed": "passed", "skipped": "dim"}.get(check.verdict, "failed")
            lines.append(f"  {check.name:<{name_width}}  {paint(style, check.verdict):<8}  "
                         f"{seconds(check.seconds):>7}  {check.detail}".rstrip())
        lines.append("")

    for key, value in result.facts.items():
        lines.append(f"{paint('dim', key + ':')} {' '.join(str(value).split())}")
    if result.facts:
        lines.append("")

    lines.append(verdict(result, strict=strict, paint=paint))
    return "\n".join(lines)


def verdict(result: GateResult, *, strict: bool = False, paint: Paint | None = None) -> str:
    """`contract-gate: FAILED — 2 errors, 1 warning, 3 notices (1.2 s)`."""
    passed = result.passed(strict=strict)
    word = "passed" if passed else "FAILED"
    if paint:
        word = paint("passed" if passed else "failed", word)
    mode = " (strict)" if strict else ""
    return f"{result.gate}: {word}{mode} — {counts(result)} ({seconds(result.duration_s)})"


def _groups_by_file(findings: list[Finding]) -> list[list[Finding]]:
    """Groups in order of first appearance, so the file with the first error leads;
    findings that point at no file come last, whatever their severity."""
    groups: dict[str | None, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.location.file if f.location else None, []).append(f)
    unplaced = groups.pop(None, [])
    return [*groups.values(), *([unplaced] if unplaced else [])]


def _where(f: Finding) -> str:
    # Without a file, the object the finding is about is the next best anchor.
    if f.location:
        return str(f.location)
    return f.subject or "-"


def _finding_lines(f: Finding, paint: Paint, where_width: int, rule_width: int) -> list[str]:
    # Pad outside the colour codes so escape sequences never count as width.
    where = _where(f)
    where_pad = " " * (where_width - len(where))
    severity_pad = " " * (_SEVERITY_WIDTH - len(f.severity.value))
    if f.location:
        where = paint("path", where)
    message, *more = f.message.splitlines() or [""]
    lines = [
        f"  {where}{where_pad}  {paint(f.severity.value, f.severity.value)}{severity_pad}  "
        f"{f.rule.ljust(rule_width)}  {message}".rstrip()
    ]
    lines.extend(f"      {line}" for line in more)
    if f.hint:
        hint, *hint_more = f.hint.splitlines()
        lines.append(paint("dim", f"      hint: {hint}"))
        lines.extend(paint("dim", f"            {line}") for line in hint_more)
    return lines
