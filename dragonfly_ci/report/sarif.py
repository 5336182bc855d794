"""SARIF 2.1.0: every finding as a result, for GitHub code scanning and other SARIF viewers.

One run per report, the tool `dragonfly-ci` with every rule that has a result
(its id, summary and default level). Locations are relative to the repository
root (`uriBaseId` `%SRCROOT%`), lines and columns 1-based with columns counted
in Unicode code points (`columnKind`), as our findings count them. Findings
without a location are results without one, which SARIF allows.
"""

from __future__ import annotations

import json

from dragonfly_ci import __version__
from dragonfly_ci.findings import Finding, GateResult, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/dragonfly/release-actions"
RULES_URI = INFORMATION_URI + "#rules"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}


def render(result: GateResult, *, strict: bool = False) -> str:
    findings = result.sorted_findings()
    rule_ids = list(dict.fromkeys(f.rule for f in findings))
    index = {rule: i for i, rule in enumerate(rule_ids)}
    run = {
        "tool": {"driver": {
            "name": "dragonfly-ci",
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(rule, findings) for rule in rule_ids],
        }},
        "automationDetails": {"id": f"dragonfly-ci/{result.gate}/"},
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
        "invocations": [{
            "executionSuccessful": not result.could_not_check,
            "properties": {"gate": result.gate, "passed": result.passed(strict=strict),
                           "strict": strict, "facts": dict(result.facts)},
        }],
        "results": [_result(f, index[f.rule]) for f in findings],
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _rule(rule: str, findings: list[Finding]) -> dict:
    from dragonfly_ci.rules import RULES

    known = RULES.get(rule)
    if known is not None:
        summary, level = known.summary, _LEVELS[known.severity]
    else:  # lint/<squawk rule>: described by squawk's own message
        first = next(f for f in findings if f.rule == rule)
        summary, level = first.message, _LEVELS[first.severity]
    return {
        "id": rule,
        "name": rule.replace("/", "-"),
        "shortDescription": {"text": summary},
        "helpUri": RULES_URI,
        "defaultConfiguration": {"level": level},
    }


def _result(f: Finding, rule_index: int) -> dict:
    message = f"{f.message}\nHint: {f.hint}" if f.hint else f.message
    result: dict = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _LEVELS[f.severity],
        "message": {"text": message},
    }
    loc = f.location
    if loc is not None:
        physical: dict = {"artifactLocation": {"uri": loc.file, "uriBaseId": "%SRCROOT%"}}
        if loc.line:
            region: dict = {"startLine": loc.line}
            if loc.end_line and loc.end_line >= loc.line:
                region["endLine"] = loc.end_line
            if loc.column:
                region["startColumn"] = loc.column
            physical["region"] = region
        result["locations"] = [{"physicalLocation": physical}]
    if f.subject:
        result["properties"] = {"subject": f.subject}
    return result
