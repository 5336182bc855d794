"""The commands besides the gate: contract init, rules, schema; the README's rule table."""

from __future__ import annotations

import json

import yaml

from dragonfly_ci.cli import main
from dragonfly_ci.rules import RULES
from tests.conftest import REPO, add_migration


def test_contract_init_drafts_a_contract_the_gate_passes(project, monkeypatch, capsys):
    contract = project / "supabase" / "contract.yml"
    contract.unlink()
    add_migration(project, "20990101000000_extra", (
        "create function public.search_notes(p_query text, p_limit int default 10)\n"
        "returns table(id uuid, score real) language sql stable as $$ select null::uuid, 0::real $$;\n"
    ))
    monkeypatch.chdir(project)
    assert main(["contract", "init"]) == 0
    assert "wrote supabase/contract.yml: 5 RPCs" in capsys.readouterr().out
    draft = yaml.safe_load(contract.read_text())
    claim = draft["rpcs"]["ops.claim_pending_job"]
    assert claim["args"][0] == {"name": "p_job_types", "type": "text[]"}
    assert claim["returns"] == "SETOF ops.job_queue"
    assert claim["security"] == "definer" and claim["execute"] == ["service_role"]
    search = draft["rpcs"]["public.search_notes"]
    assert search["returns"] == "TABLE(id uuid, score real)"
    # Supabase's default privileges on public give the API roles EXECUTE.
    assert search["execute"] == ["anon", "authenticated", "service_role"]
    assert draft["tables"]["ops.job_queue"]["columns"]["id"] == {"type": "uuid", "nullable": False}
    assert draft["views"] == ["ops.v_queue_health", "ops.v_worker_status"]

    assert main(["contract-gate", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [] and "5 RPCs" in report["facts"]["contract"]


def test_contract_init_does_not_overwrite(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    before = (project / "supabase" / "contract.yml").read_text()
    assert main(["contract", "init"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (project / "supabase" / "contract.yml").read_text() == before


def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for rule in RULES.values():
        assert rule.id in out


def test_readme_documents_every_rule():
    readme = (REPO / "README.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity.value} |" in readme, rule.id


def test_schema_prints_the_packaged_json_schema(capsys):
    assert main(["schema", "contract"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"].startswith("dragonfly-ci RPC contract")
    assert main(["schema", "project"]) == 0
    assert "shadow" in json.loads(capsys.readouterr().out)["properties"]


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "contract-gate" in capsys.readouterr().out
