"""The contract gate end to end: the CLI on real projects, a real PostgreSQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.postgres.server import start_embedded
from tests.conftest import FIXTURES, REPO, add_migration

NEW = "supabase/migrations/20990101000000_change.sql"


def gate(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `dragonfly-ci contract-gate --format json` in `root`: (exit code, report, stderr)."""
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("DRAGONFLY_SHADOW_URL", raising=False)
    code = main(["contract-gate", "--format", "json", *args])
    out, err = capsys.readouterr()
    report = json.loads(out) if out.strip().startswith("{") else None
    return code, report, err


def only(report: dict, rule: str) -> dict:
    found = [f for f in report["findings"] if f["rule"] == rule]
    assert len(found) == 1, (rule, report["findings"])
    return found[0]


def errors(report: dict) -> list[str]:
    return sorted(f["rule"] for f in report["findings"] if f["severity"] == "error")


def test_reference_project_passes(monkeypatch, capsys):
    code, report, err = gate(REPO, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert report["passed"] is True
    assert report["counts"]["error"] == 0 and report["counts"]["warning"] == 0
    migrations = len(list((REPO / "supabase" / "migrations").glob("*.sql")))
    assert report["facts"]["migrations applied"] == f"{migrations} of {migrations}"
    assert "4 RPCs" in report["facts"]["contract"]


BREAKING = {
    "drop an argument": (
        "-- Workers no longer say who they are.\n"
        "drop function ops.claim_pending_job(text[], integer, text);\n"
        "create function ops.claim_pending_job(p_job_types text[], p_limit integer)\n"
        "returns setof ops.job_queue language sql security definer set search_path = ''\n"
        "as $$ select * from ops.job_queue limit p_limit $$;\n"
        "grant execute on function ops.claim_pending_job(text[], integer) to service_role;\n",
        "contract/rpc-arguments-changed", 3,
    ),
    "rename an argument": (
        "-- p_limit reads better as p_max.\n"
        "drop function ops.claim_pending_job(text[], integer, text);\n"
        "create function ops.claim_pending_job(p_job_types text[], p_max integer, p_worker_id text)\n"
        "returns setof ops.job_queue language sql security definer set search_path = ''\n"
        "as $$ select * from ops.job_queue limit p_max $$;\n"
        "revoke all on function ops.claim_pending_job(text[], integer, text) from public;\n"
        "grant execute on function ops.claim_pending_job(text[], integer, text) to service_role;\n",
        "contract/rpc-argument-names-changed", 3,
    ),
    "change a return type": (
        "-- Return only the ids.\n"
        "drop function ops.claim_pending_job(text[], integer, text);\n"
        "create function ops.claim_pending_job(p_job_types text[], p_limit integer, p_worker_id text)\n"
        "returns setof uuid language sql security definer set search_path = ''\n"
        "as $$ select id from ops.job_queue limit p_limit $$;\n"
        "revoke all on function ops.claim_pending_job(text[], integer, text) from public;\n"
        "grant execute on function ops.claim_pending_job(text[], integer, text) to service_role;\n",
        "contract/rpc-return-type-changed", 3,
    ),
    "revoke EXECUTE from service_role": (
        "-- Lock the queue down.\n"
        "revoke execute on function ops.queue_job(text, jsonb, integer, timestamptz) from service_role;\n",
        "contract/rpc-execute-missing", 2,
    ),
    "drop a contracted column": (
        "-- Errors go to the logs now.\n\n"
        "alter table ops.job_queue drop column last_error;\n",
        "contract/column-missing", 3,
    ),
    "change a column type": (
        "alter table ops.job_queue alter column priority type bigint;\n",
        "contract/column-type-changed", 1,
    ),
    "drop a contracted view": (
        "drop view ops.v_queue_health;\n",
        "contract/view-missing", 1,
    ),
    "drop a contracted RPC": (
        "\ndrop function ops.register_heartbeat(text, text, text, text);\n",
        "contract/rpc-missing", 2,
    ),
    "switch to security invoker": (
        "alter function ops.queue_job(text, jsonb, integer, timestamptz) security invoker;\n",
        "contract/rpc-security-changed", 1,
    ),
}


@pytest.mark.parametrize("case", list(BREAKING))
def test_breaking_migration_fails_at_its_line(case, project, monkeypatch, capsys):
    sql, rule, line = BREAKING[case]
    add_migration(project, "20990101000000_change", sql)
    code, report, err = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, (report, err)
    assert errors(report) == [rule]
    location = only(report, rule)["location"]
    assert (location["file"], location["line"]) == (NEW, line)


def test_findings_point_at_the_last_create_or_replace(project, monkeypatch, capsys):
    # The reference project replaces claim_pending_job's body in a later migration;
    # a renamed argument introduced by yet another replace must point there.
    add_migration(project, "20990101000000_change", (
        "create or replace function ops.claim_pending_job(p_job_types text[], p_limit integer, "
        "p_worker_id text)\nreturns setof ops.job_queue language sql security definer "
        "set search_path = '' as $$ select * from ops.job_queue limit p_limit $$;\n"
    ))
    add_migration(project, "20990102000000_again", (
        "-- the second replace\n"
        "create or replace function ops.claim_pending_job(p_job_types text[], p_limit integer, "
        "p_worker_id text)\nreturns setof ops.job_queue language sql security invoker "
        "set search_path = '' as $$ select * from ops.job_queue limit p_limit $$;\n"
    ))
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    location = only(report, "contract/rpc-security-changed")["location"]
    assert (location["file"], location["line"]) == (
        "supabase/migrations/20990102000000_again.sql", 2)


def test_syntax_error_is_reported_at_file_line_and_column(project, monkeypatch, capsys):
    add_migration(project, "20990101000000_change",
                  "-- a typo\ncreate table ops.notes (id int);\nalter table ops.notes ad column note text;\n")
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    failure = only(report, "migration/apply-failed")
    assert failure["location"] == {"file": NEW, "line": 3, "end_line": None, "column": 23}
    assert 'syntax error at or near "ad"' in failure["message"]
    assert report["facts"]["contract"].startswith("not checked")


def test_uncontracted_function_in_exposed_schema_is_a_notice(project, monkeypatch, capsys):
    add_migration(project, "20990101000000_change",
                  "create function ops.purge_completed(p_older_than interval) returns bigint\n"
                  "language sql as $$ select 0::bigint $$;\n")
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    notice = only(report, "contract/rpc-uncontracted")
    assert notice["severity"] == "notice"
    assert "ops.purge_completed(interval)" in notice["message"]
    assert (notice["location"]["file"], notice["location"]["line"]) == (NEW, 1)


def test_rule_overrides_escalate_and_silence(project, monkeypatch, capsys):
    add_migration(project, "20990101000000_change",
                  "create function ops.purge_completed() returns bigint\n"
                  "language sql as $$ select 0::bigint $$;\n")
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "rules:\n  contract/rpc-uncontracted: error\n")
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and errors(report) == ["contract/rpc-uncontracted"]
    config.write_text(config.read_text().replace(": error", ": off"))
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and report["findings"] == []


def test_strict_fails_on_warnings(project, monkeypatch, capsys):
    (project / "supabase" / "migrations" / "README.md").write_text("not a migration\n")
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0 and only(report, "migration/skipped-file")["severity"] == "warning"
    code, report, _ = gate(project, "--strict", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and report["passed"] is False


# --- bad input: exit 2, file and line, no traceback --------------------------------


def bad_input(project, monkeypatch, capsys) -> str:
    code, report, err = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2, (report, err)
    assert "Traceback" not in err
    return err


def test_malformed_contract_yaml(project, monkeypatch, capsys):
    (project / "supabase" / "contract.yml").write_text("version: 1\nrpcs:\n  ops.f: [\n    unclosed\n")
    err = bad_input(project, monkeypatch, capsys)
    assert "supabase/contract.yml:5:" in err and "malformed YAML" in err


def test_malformed_project_file(project, monkeypatch, capsys):
    (project / "dragonfly.yml").write_text("version: 1\nshadow:\n  platform: supabase\n bad: indent\n")
    err = bad_input(project, monkeypatch, capsys)
    assert "dragonfly.yml:4:" in err


def test_contract_failing_its_schema(project, monkeypatch, capsys):
    contract = project / "supabase" / "contract.yml"
    lines = contract.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if "security: definer" in text)
    lines[line] = lines[line].replace("definer", "sometimes")
    contract.write_text("\n".join(lines) + "\n")
    err = bad_input(project, monkeypatch, capsys)
    assert f"supabase/contract.yml:{line + 1}:" in err and "'sometimes' is not one of" in err


def test_unknown_key_in_project_file_points_at_the_key(project, monkeypatch, capsys):
    (project / "dragonfly.yml").write_text("version: 1\nshadow:\n  platform: supabase\n  plattform: x\n")
    err = bad_input(project, monkeypatch, capsys)
    assert "dragonfly.yml:4:" in err and "plattform" in err


def test_unknown_type_name_in_contract(project, monkeypatch, capsys):
    contract = project / "supabase" / "contract.yml"
    lines = contract.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if "INTEGER" in text)
    lines[line] = lines[line].replace("INTEGER", "INTEGRE")
    contract.write_text("\n".join(lines) + "\n")
    err = bad_input(project, monkeypatch, capsys)
    assert f"supabase/contract.yml:{line + 1}:" in err and "unknown type 'INTEGRE'" in err


def test_two_files_with_the_same_version(project, monkeypatch, capsys):
    first = sorted((project / "supabase" / "migrations").glob("*.sql"))[0]
    version = first.name.split("_")[0]
    add_migration(project, f"{version}_duplicate", "select 1;\n")
    err = bad_input(project, monkeypatch, capsys)
    assert f"duplicate migration version {version}" in err
    assert f"supabase/migrations/{version}_duplicate.sql" in err and first.name in err


def test_missing_supabase_directory(project, monkeypatch, capsys):
    (project / "dragonfly.yml").write_text("version: 1\nsupabase_dir: db/supabase\n")
    err = bad_input(project, monkeypatch, capsys)
    assert "dragonfly.yml:2:" in err and "'db/supabase' not found" in err


def test_no_project_and_no_supabase_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    err = bad_input(tmp_path, monkeypatch, capsys)
    assert "no supabase/migrations directory" in err


# --- zero configuration, platform usage, external servers ---------------------------


def test_zero_configuration(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_init.sql").write_text(
        "create table public.notes (id uuid primary key default gen_random_uuid(), body text);\n"
        "alter table public.notes enable row level security;\n"
        "create policy own on public.notes for select to authenticated using (auth.uid() is not null);\n"
    )
    monkeypatch.chdir(tmp_path)
    code = main(["contract-gate", "--format", "text"])
    out = capsys.readouterr().out
    assert code == 0
    assert "contract/none" in out
    assert "assumed supabase_dir=supabase, platform=supabase" in out
    assert "to declare the RPCs" in out and "migrations applied: 1 of 1" in out


def test_zero_configuration_reports_a_failing_migration(tmp_path, monkeypatch, capsys):
    (tmp_path / ".git").mkdir()
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20250101000000_init.sql").write_text("create table t (id int);\n")
    (migrations / "20250102000000_oops.sql").write_text("insert into t values ('x');\n")
    code, report, _ = gate(tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    failure = only(report, "migration/apply-failed")
    assert failure["location"]["file"] == "supabase/migrations/20250102000000_oops.sql"
    assert failure["location"]["line"] == 1 and "invalid input syntax" in failure["message"]


def test_platform_fixture_migrations_all_apply(tmp_path, monkeypatch, capsys):
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "platform_project", root)
    (root / ".git").mkdir()
    code, report, err = gate(root, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    total = len(list((root / "supabase" / "migrations").glob("*.sql")))
    assert total >= 10
    assert report["facts"]["migrations applied"] == f"{total} of {total}"
    # the create index concurrently file ran alone, outside a transaction
    assert report["facts"]["applied outside a transaction"] == (
        "supabase/migrations/20240105090800_messages_room_index.sql")


@pytest.fixture(scope="module")
def tcp_server():
    server = start_embedded(tcp=True)
    yield server
    server.stop()


def test_shadow_url_on_a_server_the_test_started(tcp_server, monkeypatch, capsys):
    url = tcp_server.url("postgres")
    code, report, err = gate(REPO, "--shadow-url", url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, (report, err)
    assert report["facts"]["shadow"].startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(url) as conn:
        left = conn.execute("select datname from pg_database where datname like 'dragonfly_%'").fetchall()
    assert left == []  # the fresh database was dropped


def test_shadow_url_from_the_environment(tcp_server, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("DRAGONFLY_SHADOW_URL", tcp_server.url("postgres"))
    code = main(["contract-gate", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and "127.0.0.1" in report["facts"]["shadow"]


def test_unreachable_shadow_exits_3_without_the_password(monkeypatch, capsys):
    code, report, err = gate(
        REPO, "--shadow-url", "postgresql://ci:hunter2-secret@127.0.0.1:1/postgres",
        monkeypatch=monkeypatch, capsys=capsys)
    assert code == 3
    assert report is None and "could not connect" in err
    assert "hunter2-secret" not in err and "postgresql://ci:***@127.0.0.1:1" in err


# --- reporting in GitHub Actions -----------------------------------------------------


def test_github_annotations_summary_and_outputs(project, tmp_path, monkeypatch, capsys):
    add_migration(project, "20990101000000_change", BREAKING["revoke EXECUTE from service_role"][0])
    outputs, summary = tmp_path / "out", tmp_path / "summary.md"
    outputs.touch()
    summary.write_text("earlier step\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code = main(["contract-gate"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"::error title=contract/rpc-execute-missing,file={NEW},line=2" in out
    written = outputs.read_text()
    assert "passed<<" in written and "\nfalse\n" in written
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "contract/rpc-execute-missing" in text
    assert f"{NEW}:2" in text


# --- the installed commands ----------------------------------------------------------


def test_python_dash_m_and_console_script(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dragonfly_ci", "contract-gate", "--format", "json"],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passed"] is True
    script = Path(sys.executable).parent / "dragonfly-ci"
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "contract-gate" in helped.stdout


def test_a_type_without_modifier_matches_any_modifier(project, monkeypatch, capsys):
    add_migration(project, "20990101000000_change",
                  "alter table ops.worker_heartbeats add column region varchar(20);\n")
    contract = project / "supabase" / "contract.yml"
    text = contract.read_text().replace(
        "  ops.worker_heartbeats:\n    columns:\n",
        "  ops.worker_heartbeats:\n    columns:\n      region: VARCHAR\n")
    contract.write_text(text)
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, report
    contract.write_text(text.replace("region: VARCHAR", "region: integer"))
    code, report, _ = gate(project, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and "is character varying(20); the contract says integer" in \
        only(report, "contract/column-type-changed")["message"]
