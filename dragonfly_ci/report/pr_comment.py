"""One sticky pull-request comment per gate, found again by a hidden marker and edited in place.

Each run rewrites the same comment (the verdict, the findings table, what was
checked), so a pull request carries one current report rather than a trail of
stale ones. The body stays within GitHub's limit (65,536 characters) by
leaving out table rows and saying how many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dragonfly_ci.findings import GateResult

if TYPE_CHECKING:
    from github.Repository import Repository

MAX_BODY = 65_000  # GitHub's limit is 65,536 characters; bytes >= characters, so bytes are safe


def marker(gate: str) -> str:
    return f"<!-- dragonfly-ci:{gate} -->"


def body(result: GateResult, *, strict: bool, head_sha: str | None = None) -> str:
    from dragonfly_ci.report.summary import render_markdown

    head = marker(result.gate) + "\n"
    foot = f"\n_dragonfly-ci, for {head_sha[:7]}. This comment is updated on every run._\n" if head_sha \
        else "\n_dragonfly-ci. This comment is updated on every run._\n"
    room = MAX_BODY - len((head + foot).encode("utf-8"))
    return head + render_markdown(result, strict=strict, max_bytes=room,
                                  limit="a pull-request comment is limited to 65,536 characters; "
                                  "the check run and the job summary list them") + foot


def upsert(repo: Repository, number: int, result: GateResult, *, strict: bool,
           head_sha: str | None = None) -> str:
    """Edit this gate's comment on pull request `number`, or create it: "edited" | "created"."""
    text = body(result, strict=strict, head_sha=head_sha)
    issue = repo.get_issue(number)
    tag = marker(result.gate)
    for comment in issue.get_comments():
        if tag in (comment.body or ""):
            comment.edit(text)
            return "edited"
    issue.create_comment(text)
    return "created"
