"""GitHub Actions: annotations (workflow commands), step outputs and the job summary.

GitHub shows at most 10 annotations of each level per step and 50 per job and
drops the rest without a word, so we choose which ones it shows: errors first,
on the lines a pull request changed first, and one notice that says how many
more there are and where to find them.
"""

from __future__ import annotations

import os

from actions_toolkit import core
from actions_toolkit.command import issue_command
from actions_toolkit.utils import AnnotationProperties, to_command_properties

from dragonfly_ci.findings import Finding, GateResult, Severity
from dragonfly_ci.report._words import plural

# (level, message, properties); properties are AnnotationProperties keyword
# arguments (title, file, start_line, end_line, start_column).
Annotation = tuple[str, str, dict[str, object]]

PER_LEVEL = 10
TOTAL = 50


def annotations(
    result: GateResult, *, per_level: int = PER_LEVEL, total: int = TOTAL
) -> list[Annotation]:
    """The annotations GitHub will actually show, errors first, within both caps."""
    findings = prioritised(result)
    caps = {severity: per_level for severity in Severity}
    chosen = _within_caps(findings, caps, total)
    if len(chosen) == len(findings):
        return [_annotation(f) for f in chosen]
    if per_level < 1 or total < 1:
        return []

    # Something is left out: keep one notice slot (and one of the total) for saying so.
    caps[Severity.NOTICE] -= 1
    chosen = _within_caps(findings, caps, total - 1)
    left_out = len(findings) - len(chosen)
    more = (
        f"{plural(left_out, 'more finding')} not shown as annotations "
        f"(GitHub shows at most {per_level} per level in a step); "
        f"the job summary lists all {len(findings)}."
    )
    return [
        *(_annotation(f) for f in chosen),
        ("notice", more, {"title": f"{result.gate}: {plural(left_out, 'more finding')}"}),
    ]


def prioritised(result: GateResult) -> list[Finding]:
    """Findings in the order annotations show them: by severity, and within one severity
    those on lines the pull request changed first (where a reviewer is looking)."""
    return sorted(result.sorted_findings(),
                  key=lambda f: (f.severity.rank, not result.on_changed_line(f)))


def emit_annotations(result: GateResult, *, per_level: int = PER_LEVEL, total: int = TOTAL) -> None:
    """Write the annotations to stdout as `::error file=…,line=…,title=…::message`."""
    for level, message, properties in annotations(result, per_level=per_level, total=total):
        wire = to_command_properties(AnnotationProperties(**properties))  # type: ignore[arg-type]
        # core.error() would send every property, unset ones as `file=,line=`; the
        # runner ignores those, but they clutter the raw log, so only set ones go.
        issue_command(level, {k: v for k, v in wire.items() if v is not None}, message)


def write_outputs(result: GateResult, *, strict: bool = False) -> None:
    """Step outputs `passed`, `errors`, `warnings`, `notices` and the gate's own
    (`result.outputs`); only inside Actions."""
    if not os.environ.get("GITHUB_OUTPUT"):
        return
    core.set_output("passed", "true" if result.passed(strict=strict) else "false")
    core.set_output("errors", str(result.errors))
    core.set_output("warnings", str(result.warnings))
    core.set_output("notices", str(result.notices))
    for name, value in result.outputs.items():
        core.set_output(name, value)


def append_summary(
    result: GateResult, markdown: str | None = None, *, strict: bool = False
) -> None:
    """Append to the step's job summary, rendering one when no markdown is given.

    Appending, never overwriting: several gates may share one step.
    """
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    if markdown is None:
        from dragonfly_ci.report.summary import render_markdown

        markdown = render_markdown(result, strict=strict)
    with open(path, "a", encoding="utf-8") as summary:
        # A blank line ends whatever block came before (a table would swallow our heading).
        if summary.tell():
            summary.write("\n")
        summary.write(markdown if markdown.endswith("\n") else markdown + "\n")


def _within_caps(findings: list[Finding], caps: dict[Severity, int], total: int) -> list[Finding]:
    taken = dict.fromkeys(Severity, 0)
    chosen: list[Finding] = []
    for f in findings:
        if len(chosen) >= total:
            break
        if taken[f.severity] < caps[f.severity]:
            taken[f.severity] += 1
            chosen.append(f)
    return chosen


def _annotation(f: Finding) -> Annotation:
    message = f"{f.message}\nHint: {f.hint}" if f.hint else f.message
    properties: dict[str, object] = {"title": f.rule}
    loc = f.location
    if loc:
        properties["file"] = loc.file
        if loc.line:
            properties["start_line"] = loc.line
            if loc.end_line:
                properties["end_line"] = loc.end_line
            # Workflow commands allow no column on an annotation spanning several lines.
            if loc.column and (loc.end_line is None or loc.end_line == loc.line):
                properties["start_column"] = loc.column
    return (f.severity.value, message, properties)
