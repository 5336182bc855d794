"""The job summary: GitHub-flavoured Markdown with every finding in one table."""

from __future__ import annotations

from dragonfly_ci.findings import Finding, GateResult, Severity
from dragonfly_ci.report._words import plural, seconds

# GitHub refuses a step summary over 1 MiB; stay a little under it.
MAX_BYTES = 1_000_000

_SEVERITY = {
    Severity.ERROR: "❌ error",
    Severity.WARNING: "⚠️ warning",
    Severity.NOTICE: "ℹ️ notice",
}
_TABLE_HEAD = "| Severity | Rule | Location | Message |\n| --- | --- | --- | --- |\n"


def render_markdown(result: GateResult, *, strict: bool = False, max_bytes: int = MAX_BYTES,
                    limit: str = "a job summary is limited to 1 MiB") -> str:
    """The summary, keeping under `max_bytes` by leaving out table rows (never the
    verdict or the facts) and saying how many were left out, and why (`limit`)."""
    head = _head(result, strict) + _checks(result)
    tail = _facts(result)
    findings = result.sorted_findings()
    if not findings:
        return head + "No findings.\n\n" + tail

    rows = [_row(f) for f in findings]
    full = head + _TABLE_HEAD + "".join(rows) + "\n" + tail
    if _size(full) <= max_bytes:
        return full

    # The note's count is not known yet; the total has at least as many digits.
    budget = max_bytes - _size(head + _TABLE_HEAD + "\n" + _left_out(len(rows), limit) + tail)
    shown: list[str] = []
    for row in rows:
        budget -= _size(row)
        if budget < 0:
            break
        shown.append(row)
    table = _TABLE_HEAD + "".join(shown) + "\n" if shown else ""
    return head + table + _left_out(len(rows) - len(shown), limit) + tail


def _head(result: GateResult, strict: bool) -> str:
    passed = result.passed(strict=strict)
    verdict = "✅" if passed else "❌"
    outcome = "passed" if passed else "failed"
    counts = " · ".join(
        f"**{n}** {word}" if n == 1 else f"**{n}** {word}s"
        for n, word in (
            (result.errors, "error"),
            (result.warnings, "warning"),
            (result.notices, "notice"),
        )
    )
    took = seconds(result.duration_s)
    head = f"## {verdict} {_cell(result.gate)} {outcome}\n\n{counts} · took {took}\n\n"
    if strict:
        head += "Strict mode: warnings fail the gate.\n\n"
    return head


def _row(f: Finding) -> str:
    where = "—"
    if f.location:
        loc = f.location
        where = _code(f"{loc.file}:{loc.line}" if loc.line else loc.file)
    elif f.subject:
        where = _code(f.subject)
    message = _cell(f.message)
    if f.hint:
        message += f"<br>**Hint:** {_cell(f.hint)}"
    return f"| {_SEVERITY[f.severity]} | {_code(f.rule)} | {where} | {message} |\n"


def _checks(result: GateResult) -> str:
    if not result.checks:
        return ""
    icons = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
    rows = "".join(
        f"| {_cell(c.name)} | {icons.get(c.verdict, '⛔')} {_cell(c.verdict)} | {_cell(c.detail)} "
        f"| {seconds(c.seconds)} |\n" for c in result.checks)
    return "| Check | Verdict | Details | Time |\n| --- | --- | --- | --- |\n" + rows + "\n"


def _facts(result: GateResult) -> str:
    if not result.facts:
        return ""
    items = "".join(f"- **{_cell(k)}**: {_cell(str(v))}\n" for k, v in result.facts.items())
    return f"### What was checked\n\n{items}"


def _left_out(count: int, limit: str) -> str:
    return (
        f"_{plural(count, 'more finding')} not shown: {limit}. "
        "The JSON report (`--format json`) lists every finding._\n\n"
    )


def _cell(text: str) -> str:
    """Text safe inside a table cell: a `|` would end the cell and a newline the row,
    and `<name>` would vanish as an unknown HTML tag."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "\\|")
    return "<br>".join(text.splitlines())


def _code(text: str) -> str:
    # A backtick inside would end the code span early; fall back to plain text.
    if "`" in text or "\n" in text:
        return _cell(text)
    # GFM ends a cell at `|` even inside a code span, so it is escaped there too.
    escaped = text.replace("|", "\\|")
    return f"`{escaped}`"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
