"""`--format sarif`: SARIF 2.1.0 that validates against the standard's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.findings import Finding, GateResult, Location, Severity
from dragonfly_ci.report import sarif
from tests.conftest import FIXTURES, add_migration

SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())


def validate(document: dict) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_every_kind_of_finding_validates_and_keeps_its_place() -> None:
    result = GateResult("contract-gate", facts={"base": "main at abc1234"}, findings=[
        Finding("surface/column-removed", Severity.ERROR, "column public.orders.legacy (text) was removed",
                Location("supabase/migrations/2_x.sql", 4, 6), hint="keep it", subject="public.orders"),
        Finding("lint/ban-drop-column", Severity.WARNING, "Dropping a column may break clients.",
                Location("supabase/migrations/2_x.sql", 4, None, 15)),
        Finding("contract/rpc-uncontracted", Severity.NOTICE, "public.f() is not in the contract",
                Location("supabase/contract.yml")),
        Finding("contract/none", Severity.NOTICE, "no contract: <none>"),
    ])

    document = json.loads(sarif.render(result))

    validate(document)
    [run] = document["runs"]
    assert document["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "dragonfly-ci"
    assert run["columnKind"] == "unicodeCodePoints"
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["surface/column-removed"]["defaultConfiguration"]["level"] == "error"
    assert rules["lint/ban-drop-column"]["shortDescription"]["text"].startswith("Dropping a column")
    by_rule = {r["ruleId"]: r for r in run["results"]}
    removed = by_rule["surface/column-removed"]
    assert removed["level"] == "error"
    assert removed["message"]["text"].endswith("Hint: keep it")
    region = removed["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 4, "endLine": 6}
    assert run["tool"]["driver"]["rules"][removed["ruleIndex"]]["id"] == "surface/column-removed"
    lint = by_rule["lint/ban-drop-column"]["locations"][0]["physicalLocation"]
    assert lint["artifactLocation"] == {"uri": "supabase/migrations/2_x.sql", "uriBaseId": "%SRCROOT%"}
    assert lint["region"] == {"startLine": 4, "startColumn": 15}
    assert by_rule["contract/rpc-uncontracted"]["level"] == "note"
    assert "region" not in by_rule["contract/rpc-uncontracted"]["locations"][0]["physicalLocation"]
    assert "locations" not in by_rule["contract/none"]
    assert run["invocations"][0]["properties"]["passed"] is False


def test_an_empty_result_validates() -> None:
    document = json.loads(sarif.render(GateResult("contract-gate")))
    validate(document)
    assert document["runs"][0]["results"] == []


def test_the_schema_check_is_real() -> None:
    broken = json.loads(sarif.render(GateResult("contract-gate", findings=[
        Finding("contract/none", Severity.NOTICE, "x", Location("a.sql", 1))])))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError, match="level"):
        validate(broken)


def test_the_gate_writes_sarif(project: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(project)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    add_migration(project, "20990101000000_break", "drop view ops.v_queue_health;\n")

    assert main(["contract-gate", "--format", "sarif"]) == 1

    document = json.loads(capsys.readouterr().out)
    validate(document)
    [missing] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "contract/view-missing"]
    location = missing["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "supabase/migrations/20990101000000_break.sql"
    assert location["region"]["startLine"] == 1
