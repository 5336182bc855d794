"""A check run (GitHub's Checks API, through PyGithub) holding every finding as an annotation.

Workflow-command annotations are capped at 10 per level per step; a check run
takes them all, 50 per request: the first batch with the run, later batches by
updating it (GitHub appends them). A run with more than 50 is created
`in_progress` and completed with the last batch. Its name is distinct
(`dragonfly-ci <gate>`) so that it is not mistaken for the workflow's own job,
whose suite it may join. Needs a token with `checks: write`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dragonfly_ci.findings import Finding, GateResult, Severity
from dragonfly_ci.report._words import counts

if TYPE_CHECKING:
    from github.CheckRun import CheckRun
    from github.Repository import Repository

PER_REQUEST = 50
MAX_TEXT = 65_000  # GitHub refuses a summary over 65,535 characters
_LEVELS = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.NOTICE: "notice"}


def check_name(result: GateResult) -> str:
    return f"dragonfly-ci {result.gate}"


def conclusion(result: GateResult, strict: bool) -> str:
    # Fail closed: a gate that could not check is not a success.
    return "success" if result.passed(strict=strict) else "failure"


def annotations(result: GateResult) -> list[dict]:
    """Every finding with a file, in the order workflow-command annotations use."""
    from dragonfly_ci.report.github import prioritised

    return [_annotation(f) for f in prioritised(result) if f.location]


def create_check_run(repo: Repository, result: GateResult, head_sha: str, *, strict: bool) -> CheckRun:
    from dragonfly_ci.report.summary import render_markdown

    verdict = "passed" if result.passed(strict=strict) else "failed"
    output = {
        "title": f"{result.gate} {verdict}: {counts(result)}",
        "summary": render_markdown(result, strict=strict, max_bytes=MAX_TEXT,
                                   limit="a check run's summary is limited to 65,535 characters; "
                                   "every finding with a location is an annotation"),
    }
    batches = _batches(annotations(result))
    done = {"status": "completed", "conclusion": conclusion(result, strict)}
    first = batches[0] if batches else []
    run = repo.create_check_run(
        name=check_name(result), head_sha=head_sha, external_id=result.gate,
        output={**output, "annotations": first},
        **(done if len(batches) <= 1 else {"status": "in_progress"}),
    )
    for i, batch in enumerate(batches[1:], start=2):
        last = i == len(batches)
        run.edit(output={**output, "annotations": batch}, **(done if last else {}))
    return run


def _batches(items: list[dict]) -> list[list[dict]]:
    return [items[i:i + PER_REQUEST] for i in range(0, len(items), PER_REQUEST)]


def _annotation(f: Finding) -> dict:
    loc = f.location
    assert loc is not None
    start = loc.line or 1
    end = max(loc.end_line or start, start)
    annotation: dict = {
        "path": loc.file,
        "start_line": start,
        "end_line": end,
        "annotation_level": _LEVELS[f.severity],
        "title": f.rule,
        "message": f.message[:60_000],
    }
    if f.hint:
        annotation["raw_details"] = f"Hint: {f.hint}"[:60_000]
    # GitHub takes columns only on a one-line annotation.
    if loc.column and start == end:
        annotation["start_column"] = annotation["end_column"] = loc.column
    return annotation
