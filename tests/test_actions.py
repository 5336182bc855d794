"""The composite actions, run for real by act in host mode against a consumer repository.

Each test builds a consumer repository in tmp_path (tests/fixtures/consumer,
committed with git) whose workflow `gates.yml` uses
`dragonfly/release-actions/<name>@v1`; act resolves that to an export of this
checkout (see tests/act). act renders no job summary and no annotations, so the
tests read what the steps wrote: act echoes workflow commands (`::error ...`) and
the step summary (`Summary - ...`) into its output, and the `outputs` step of
each job prints the action's outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.cli import main as cli_main
from dragonfly_ci.migrations.apply import apply_files
from dragonfly_ci.migrations.files import discover
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.platform import bootstrap
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database
from tests.act import Act, make_consumer

CONSUMER_VERSIONS = ["20250101000000", "20250102000000"]


@pytest.fixture
def act(act_session: tuple[Path, Path], tmp_path: Path) -> Act:
    export, setup_cache = act_session
    return Act(tmp_path / "act", export, setup_cache)


@pytest.fixture
def consumer(tmp_path: Path) -> Path:
    return make_consumer(tmp_path / "consumer")


@pytest.fixture
def consumer_db(pg_server: EmbeddedServer):
    """A database with what a hosted Supabase project has (roles, schemas) and no
    migrations, and a URL for it with a password in it, which must never show."""
    name = create_database(pg_server, prefix="consumer")
    with connect(pg_server.conninfo(name), autocommit=True) as conn:
        bootstrap(conn, "supabase")
    password = "s3cret-Hunter2-pw"
    url = pg_server.url(name).replace("postgres@", f"postgres:{password}@", 1)
    yield url, password, pg_server.conninfo(name)
    drop_database(pg_server, name)


def test_contract_gate_action_passes_on_a_good_contract(act: Act, consumer: Path) -> None:
    run = act.run(consumer, workflow="gates.yml", job="contract")
    assert run.returncode == 0, run.output
    assert "dragonfly-ci contract-gate --sarif-file dragonfly.sarif --format github" in run.output
    assert "contract-gate: passed" in run.output
    assert "Summary - ## ✅ contract-gate passed" in run.output
    assert "contract-gate outputs passed=true errors=0 warnings=0" in run.output
    assert "::error" not in run.output
    # The sarif-file input writes SARIF 2.1.0; the output is its absolute path.
    assert re.search(r"sarif-file output: /\S+/dragonfly\.sarif$", run.output, re.MULTILINE), run.output
    assert "sarif dragonfly-ci results: []" in run.output


def test_contract_gate_action_fails_with_annotation_and_summary(act: Act, tmp_path: Path) -> None:
    consumer = make_consumer(tmp_path / "consumer", "consumer_breaking")
    run = act.run(consumer, workflow="gates.yml", job="contract")
    assert run.returncode != 0
    annotation = ("::error title=contract/rpc-arguments-changed,"
                  "file=supabase/migrations/20250201000000_claim_task_by_queue.sql,line=4,")
    assert annotation in run.output, run.output
    assert "Summary - ## ❌ contract-gate failed" in run.output
    assert ("| ❌ error | `contract/rpc-arguments-changed` | "
            "`supabase/migrations/20250201000000_claim_task_by_queue.sql:4` |") in run.output
    # The outputs survive the failure for a later `if: always()` step.
    assert "contract-gate outputs passed=false errors=1 warnings=0" in run.output
    assert "sarif dragonfly-ci results: ['contract/rpc-arguments-changed']" in run.output, run.output
    assert "Job failed" in run.output


def test_migrate_action_applies_and_records_the_ledger(act: Act, consumer: Path, consumer_db) -> None:
    url, password, conninfo = consumer_db
    run = act.run(consumer, workflow="gates.yml", job="migrate", secrets={"DATABASE_URL": url})
    assert run.returncode == 0, run.output
    assert password not in run.output
    assert f'migrate outputs passed=true applied={str(CONSUMER_VERSIONS).replace(chr(39), chr(34))}' \
        in run.output
    assert "Summary - ## ✅ migrate passed" in run.output
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "select version, name, array_length(statements, 1) > 0"
            " from supabase_migrations.schema_migrations order by version").fetchall()
        runs = conn.execute("select versions, outcome from dragonfly.migration_runs").fetchall()
        claim = conn.execute("select to_regprocedure('public.claim_task(text)') is not null").fetchone()
    assert rows == [("20250101000000", "create_tasks", True), ("20250102000000", "claim_task", True)]
    assert runs == [(CONSUMER_VERSIONS, "applied")]
    assert claim == (True,)


def test_migrate_action_dry_run_changes_nothing(act: Act, tmp_path: Path, consumer_db) -> None:
    url, password, conninfo = consumer_db
    consumer = make_consumer(tmp_path / "consumer")
    workflow = consumer / ".github" / "workflows" / "gates.yml"
    workflow.write_text(workflow.read_text().replace(
        "          database-url: ${{ secrets.DATABASE_URL }}\n",
        "          database-url: ${{ secrets.DATABASE_URL }}\n          dry-run: true\n"))
    run = act.run(consumer, workflow="gates.yml", job="migrate", secrets={"DATABASE_URL": url})
    assert run.returncode == 0, run.output
    assert "dragonfly-ci migrate --dry-run --format github" in run.output
    assert password not in run.output
    with psycopg.connect(conninfo) as conn:
        ledger = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
    assert ledger == (None,)


def test_root_action_runs_doctor_by_name(act: Act, consumer: Path, consumer_db, capsys) -> None:
    url, password, _ = consumer_db
    assert cli_main(["migrate", "--project-file", str(consumer / "dragonfly.yml"), "--db-url", url,
                     "--format", "json"]) == 0
    capsys.readouterr()
    run = act.run(consumer, workflow="gates.yml", job="doctor", secrets={"DEV_DATABASE_URL": url})
    assert run.returncode == 0, run.output
    assert "dragonfly-ci doctor --env dev --format github" in run.output
    assert "doctor: passed" in run.output
    assert "doctor outputs passed=true" in run.output
    assert password not in run.output


def test_root_action_doctor_fails_on_a_database_without_a_ledger(act: Act, consumer: Path,
                                                                 consumer_db) -> None:
    """The schema is there (applied by hand, as the dashboard would), the ledger is not."""
    url, _, conninfo = consumer_db
    files, _ = discover(consumer / "supabase" / "migrations", str)
    with connect(conninfo, autocommit=True) as conn:
        assert apply_files(conn, files).failure is None
    run = act.run(consumer, workflow="gates.yml", job="doctor", secrets={"DEV_DATABASE_URL": url})
    assert run.returncode != 0
    assert "::error title=doctor/ledger-missing" in run.output, run.output


def test_setup_action_puts_dragonfly_ci_on_path_and_reuses_its_environment(act: Act,
                                                                           consumer: Path) -> None:
    run = act.run(consumer, workflow="gates.yml", job="setup")
    assert run.returncode == 0, run.output
    assert "setup outputs version=0.1.0 cache-hit=true" in run.output
    assert "on PATH: dragonfly-ci 0.1.0" in run.output


def test_root_action_rejects_an_input_the_gate_does_not_take(act: Act, consumer: Path) -> None:
    run = act.run(consumer, workflow="gates.yml", job="bad-input")
    assert run.returncode != 0
    assert ("::error title=dragonfly-ci::input dry-run does not apply to gate contract-gate"
            in run.output), run.output
    assert "dragonfly-ci contract-gate" not in run.output.replace("gate contract-gate", "")


def test_railway_scale_freezes_then_restores_from_the_state_output(act: Act, tmp_path: Path,
                                                                   railway) -> None:
    """Against the loopback Railway (tests/fakes/railway.py) through RAILWAY_API_URL: the
    freeze job scales the worker to 0 and hands its state to the restore job."""
    token = "planted-project-token-for-act-4c1e"
    project = railway.add_project("dragonfly", ["production"], ["worker"])
    railway.add_instance(project, "production", "worker", replicas=3)
    railway.project_tokens[token] = (project["id"], project["environments"]["production"])
    consumer = make_consumer(tmp_path / "consumer", "consumer_railway")
    run = act.run(consumer, workflow="railway.yml", secrets={"RAILWAY_TOKEN": token},
                  env={"RAILWAY_API_URL": railway.url})
    assert run.returncode == 0, run.output
    assert token not in run.output
    assert "dragonfly-ci railway scale --service worker --env prod --replicas 0 --format github" \
        in run.output
    assert "freeze outputs passed=true replicas=" in run.output
    assert "dragonfly-ci railway restore --env prod --state " in run.output, run.output
    assert "restore outputs passed=true" in run.output
    assert [m[1]["input"] for m in railway.mutations if m[0] == "serviceInstanceUpdate"] == [
        {"numReplicas": 0}, {"numReplicas": 3}]
    assert railway.instance(project, "production", "worker").replicas() == {
        next(iter(railway.instance(project, "production", "worker").replicas())): 3}
