"""The one model every gate produces and every report sink renders."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "notice": 2}[self.value]


@dataclass(frozen=True)
class Location:
    """Where a finding points: a repository-relative path and 1-based lines."""

    file: str
    line: int | None = None
    end_line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.file
        if self.line:
            text += f":{self.line}"
            if self.column:
                text += f":{self.column}"
        return text


def latest(locations: Iterable[Location | None]) -> Location | None:
    """The last of them in migration order (files sort by version), None if there are none."""
    found = [loc for loc in locations if loc]
    return max(found, key=lambda loc: (loc.file, loc.line or 0)) if found else None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location | None = None
    hint: str = ""
    subject: str = ""  # the object the finding is about, e.g. ops.claim_pending_job

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)


@dataclass(frozen=True)
class SubCheck:
    """One row of a composite gate (prod-gate, preflight): a check and its verdict."""

    name: str
    verdict: str  # "passed" | "failed" | "could not check" | "skipped"
    detail: str = ""  # counts, or why it could not check / was skipped
    seconds: float = 0.0


@dataclass
class GateResult:
    """What a gate returns: its findings and the facts of what it checked."""

    gate: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    checks: list[SubCheck] = field(default_factory=list)  # composite gates only
    could_not_check: bool = False  # a sub-check could not run: never a pass
    # On a pull request: the lines it changed, by repository-relative path, so reports can
    # put the findings there first (annotations are capped).
    changed_lines: dict[str, frozenset[int]] = field(default_factory=dict)
    # Gate-specific step outputs the GitHub sink writes besides the counts, e.g.
    # migrate's `applied` (a JSON list of versions); values are strings.
    outputs: dict[str, str] = field(default_factory=dict)

    def on_changed_line(self, f: Finding) -> bool:
        loc = f.location
        if not loc or not loc.line or loc.file not in self.changed_lines:
            return False
        changed = self.changed_lines[loc.file]
        return any(line in changed for line in range(loc.line, max(loc.end_line or 0, loc.line) + 1))

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def notices(self) -> int:
        return self.count(Severity.NOTICE)

    def passed(self, strict: bool = False) -> bool:
        return self.errors == 0 and not (strict and self.warnings) and not self.could_not_check

    def sorted_findings(self) -> list[Finding]:
        """Errors first, then by file and line, so reports agree on order."""

        def key(f: Finding) -> tuple:
            loc = f.location
            return (
                f.severity.rank,
                loc.file if loc else "~",
                (loc.line or 0) if loc else 0,
                f.rule,
                f.message,
            )

        return sorted(self.findings, key=key)
