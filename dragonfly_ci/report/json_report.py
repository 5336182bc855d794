"""The JSON report: every finding and fact, in a shape scripts can rely on."""

from __future__ import annotations

import json

from dragonfly_ci.findings import Finding, GateResult


def render(result: GateResult, *, strict: bool = False) -> str:
    document = {
        "gate": result.gate,
        "passed": result.passed(strict=strict),
        # `passed` depends on it: without it, false with zero errors is a puzzle.
        "strict": strict,
        "counts": {
            "error": result.errors,
            "warning": result.warnings,
            "notice": result.notices,
        },
        "duration_s": round(result.duration_s, 3),
        "facts": dict(result.facts),
        "checks": [
            {"name": c.name, "verdict": c.verdict, "detail": c.detail, "seconds": round(c.seconds, 3)}
            for c in result.checks
        ],
        "findings": [_finding(f) for f in result.sorted_findings()],
    }
    return json.dumps(document, indent=2)


def _finding(f: Finding) -> dict[str, object]:
    loc = f.location
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "message": f.message,
        "hint": f.hint,
        "subject": f.subject,
        "location": (
            {"file": loc.file, "line": loc.line, "end_line": loc.end_line, "column": loc.column}
            if loc
            else None
        ),
    }
