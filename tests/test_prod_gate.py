"""prod-gate and preflight: composite gates whose sub-checks are rows with verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from dragonfly_ci.cli import main
from dragonfly_ci.postgres.platform import bootstrap
from tests.conftest import add_migration


def run(root: Path, *args: str, monkeypatch, capsys) -> tuple[int, dict | None, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.startswith("{") else None), err


def rows(report: dict) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in report["checks"]}


@pytest.fixture
def production(project: Path, fresh_db: str, monkeypatch, capsys) -> str:
    """A database migrated from the project copy by `dragonfly-ci migrate`."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        bootstrap(conn, "supabase")
    code, report, err = run(project, "migrate", "--db-url", fresh_db, monkeypatch=monkeypatch,
                            capsys=capsys)
    assert code == 0, (report, err)
    return fresh_db


def test_prod_gate_passes_on_a_faithfully_migrated_database(project, production, monkeypatch, capsys):
    code, report, err = run(project, "prod-gate", "--db-url", production, monkeypatch=monkeypatch,
                            capsys=capsys)
    assert code == 0, (report, err)
    assert rows(report) == {"ledger": "passed", "doctor": "passed", "schema-consistency": "passed",
                            "env-doctor": "skipped"}
    assert all(c["seconds"] >= 0 for c in report["checks"])


def test_a_pending_migration_fails_the_ledger_row(project, production, monkeypatch, capsys):
    add_migration(project, "20990101000000_later", "create table ops.later (id int);\n")
    code, report, _ = run(project, "prod-gate", "--db-url", production, monkeypatch=monkeypatch,
                          capsys=capsys)
    assert code == 1
    assert rows(report)["ledger"] == "failed"
    pending = [f for f in report["findings"] if f["rule"] == "ledger/pending"]
    assert [f["severity"] for f in pending] == ["error"]  # an error here: production is behind


def test_strict_turns_a_drift_warning_into_a_failure(project, production, monkeypatch, capsys):
    with psycopg.connect(production, autocommit=True) as conn:
        conn.execute("comment on table ops.job_queue is 'edited by hand'")
    code, report, _ = run(project, "prod-gate", "--db-url", production, monkeypatch=monkeypatch,
                          capsys=capsys)
    assert code == 0 and rows(report)["schema-consistency"] == "passed"
    assert [f["rule"] for f in report["findings"]] == ["drift/comment-differs"]
    code, report, _ = run(project, "prod-gate", "--db-url", production, "--strict",
                          monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1 and rows(report)["schema-consistency"] == "failed"


def test_env_doctor_runs_with_an_environment(project, production, pg_server, monkeypatch, capsys):
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "environments:\n  staging:\n    db_url_env: STAGING_URL\n")
    monkeypatch.setenv("STAGING_URL", pg_server.url(conninfo_to_dict(production)["dbname"]))
    code, report, err = run(project, "prod-gate", "--env", "staging", monkeypatch=monkeypatch,
                            capsys=capsys)
    assert code == 0, (report, err)
    assert rows(report)["env-doctor"] == "passed"
    assert "(environment staging)" in report["facts"]["database"]

    monkeypatch.setenv("STAGING_URL", "mysql://wrong")  # env-doctor's own finding fails its row
    code, report, err = run(project, "prod-gate", "--env", "staging", monkeypatch=monkeypatch,
                            capsys=capsys)
    assert rows(report)["env-doctor"] == "failed"


def test_prod_gate_could_not_check_exits_3(project, monkeypatch, capsys):
    code, report, err = run(project, "prod-gate", "--db-url", "postgresql://x:pw-9@127.0.0.1:1/db",
                            monkeypatch=monkeypatch, capsys=capsys)
    assert code == 3
    assert set(rows(report).values()) == {"could not check", "skipped"}
    assert "pw-9" not in json.dumps(report) + err


def test_the_job_summary_has_a_row_per_check(project, production, tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    summary.touch()
    monkeypatch.chdir(project)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    assert main(["prod-gate", "--db-url", production]) == 0
    text = summary.read_text()
    assert "| Check | Verdict | Details | Time |" in text
    for name in ("ledger", "doctor", "schema-consistency"):
        assert f"| {name} | ✅ passed |" in text
    assert "| env-doctor | ⏭️ skipped |" in text


def preflight_config(project: Path, tests: str, extra: str = "") -> None:
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + f"preflight:\n  tests: {tests}\n{extra}")


def test_preflight_runs_every_step(project, production, monkeypatch, capsys):
    preflight_config(project, "echo 12 passed")
    code, report, err = run(project, "preflight", "--db-url", production, monkeypatch=monkeypatch,
                            capsys=capsys)
    assert code == 0, (report, err)
    assert list(rows(report)) == ["tests", "doctor", "schema-consistency", "prod-gate", "dashboard build"]
    assert rows(report)["dashboard build"] == "skipped"
    assert report["checks"][0]["detail"] == "12 passed"


def test_preflight_failing_tests_fail_it_without_stopping(project, production, monkeypatch, capsys):
    preflight_config(project, "'echo 1 failed; exit 1'")
    code, report, _ = run(project, "preflight", "--db-url", production, monkeypatch=monkeypatch,
                          capsys=capsys)
    assert code == 1
    assert rows(report)["tests"] == "failed" and rows(report)["doctor"] == "passed"
    failed = [f for f in report["findings"] if f["rule"] == "preflight/step-failed"]
    assert len(failed) == 1 and "exited 1: 1 failed" in failed[0]["message"]


def test_preflight_fail_fast_skips_the_rest(project, production, monkeypatch, capsys):
    preflight_config(project, "'exit 3'")
    code, report, _ = run(project, "preflight", "--db-url", production, "--fail-fast",
                          monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert rows(report) == {"tests": "failed", "doctor": "skipped", "schema-consistency": "skipped",
                            "prod-gate": "skipped", "dashboard build": "skipped"}


def test_preflight_dashboard_build(project, production, monkeypatch, capsys):
    dashboard = project / "dashboard"
    dashboard.mkdir()
    (dashboard / "package.json").write_text('{"name": "d", "version": "1.0.0", "private": true, '
                                            '"scripts": {"build": "node -e \\"process.exit(0)\\""}}')
    (dashboard / "package-lock.json").write_text(
        '{"name": "d", "version": "1.0.0", "lockfileVersion": 3, "requires": true, '
        '"packages": {"": {"name": "d", "version": "1.0.0"}}}')
    preflight_config(project, "'true'", "  dashboard_dir: dashboard\n")
    code, report, err = run(project, "preflight", "--db-url", production, monkeypatch=monkeypatch,
                            capsys=capsys)
    assert rows(report)["dashboard build"] == "passed", report["checks"]
    assert code == 0
