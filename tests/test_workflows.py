"""The template workflows (workflows/), this repository's own (.github/workflows/) and
every action.yml: validated, audited, and the templates run for real under act.

Under act (see tests/act): a consumer repository adopts a template exactly as the
README says (copy it to .github/workflows/, dragonfly.yml beside it).
`actions/setup-python` and `actions/setup-node`, pinned by SHA in the templates,
are mapped with `--local-repository` to small local stand-ins in
tests/act/stand_ins/ (setup-python makes a virtual environment from the host's
python3; setup-node uses the host's node); act itself replaces
`actions/checkout` with a copy of the repository. act runs a job's `needs:`
first, so production_deploy.yml's jobs after the freeze run from a copy of the
template with that job's `needs:` removed. Jobs that cannot run here are listed
in SKIPPED with the reason, and a test checks that every job of every template
either ran in a test or is listed there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dragonfly_ci.cli import build_parser
from dragonfly_ci.cli import main as cli_main
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.platform import bootstrap
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database
from tests.act import PINNED, REPO, STAND_INS, Act, git, make_consumer

ACTION_FILES = sorted([REPO / "action.yml", *REPO.glob("*/action.yml"), REPO / "actions/setup/action.yml"])
GATE_ACTIONS = ["contract-gate", "migrate", "prod-gate", "smoke", "railway-scale"]
TEMPLATES = sorted((REPO / "workflows").glob("*.yml"))
OWN_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
FIXTURE_WORKFLOWS = sorted((REPO / "tests" / "fixtures").glob("consumer*/.github/workflows/*.yml"))
STAND_IN_ACTIONS = sorted(STAND_INS.glob("*/action.yml"))
ALL_YAML = ACTION_FILES + TEMPLATES + OWN_WORKFLOWS + FIXTURE_WORKFLOWS + STAND_IN_ACTIONS

RAILWAY = ("calls the Railway API; runs under act once the Railway engineer's loopback fake "
           "(tests/fakes/railway.py) exists")
SKIPPED = {
    ("production_deploy.yml", "freeze"): RAILWAY,
    ("production_deploy.yml", "deploy"): RAILWAY,
    ("production_deploy.yml", "restore-workers"): RAILWAY,
    ("rollback.yml", "stop-workers"): RAILWAY,
    ("rollback.yml", "restore-workers"): RAILWAY,
    ("rollback.yml", "new-rollback"): "opens a pull request with gh: needs the GitHub API and a token",
}
RAN: dict[tuple[str, str], str] = {  # filled in by the tests below: job -> the test that ran it
    ("ci.yml", "tests"): "test_ci_template",
    ("ci.yml", "lint"): "test_ci_template",
    ("dragonfly-ci.yml", "tests"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "contract-gate"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "migrations-immutable"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "dev"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "n8n"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "dashboard"): "test_dragonfly_ci_template_on_a_pull_request",
    ("production_deploy.yml", "hard-gate"): "test_production_deploy_phases",
    ("production_deploy.yml", "soft-gate"): "test_production_deploy_phases",
    ("production_deploy.yml", "migrate"): "test_production_deploy_phases",
    ("production_deploy.yml", "verify"): "test_production_deploy_phases",
    ("production_deploy.yml", "smoke"): "test_production_deploy_phases",
    ("rollback.yml", "status"): "test_rollback_template_status_and_apply",
    ("rollback.yml", "apply"): "test_rollback_template_status_and_apply",
}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"].get("steps", [])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# --- static checks -------------------------------------------------------------------------


def test_no_symlinks_anywhere_in_the_repository() -> None:
    """A symlink in an action repository breaks the download for every consumer."""
    listed = subprocess.run(["git", "ls-files", "-s", "--cached"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    tracked_links = [line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("120000")]
    assert tracked_links == []
    links = []
    for folder, dirs, files in os.walk(REPO):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", ".cache", "build", "node_modules")
                   and not d.endswith(".egg-info")]
        links += [_rel(here / name) for name in dirs + files if (here / name).is_symlink()]
    assert links == []


def _action_validator() -> str:
    path = os.environ.get("ACTION_VALIDATOR") or str(
        REPO / ".cache" / "action-validator" / "node_modules" / ".bin" / "action-validator")
    assert Path(path).exists(), (
        f"{path} is missing: run `bash tests/act/action_validator/install.sh` (.ci/run does)")
    return path


@pytest.mark.parametrize("path", ALL_YAML, ids=_rel)
def test_validates_against_the_actions_schemas(path: Path) -> None:
    done = subprocess.run([_action_validator(), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_validator_rejects_a_broken_action(tmp_path: Path) -> None:
    broken = tmp_path / "action.yml"
    broken.write_text("name: x\ndescription: y\nruns:\n  using: composite\n  stepz: []\n")
    done = subprocess.run([_action_validator(), str(broken)], capture_output=True, text=True)
    assert done.returncode != 0


def test_zizmor_reports_no_findings() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    done = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--config", str(REPO / ".github" / "zizmor.yml"),
         *map(str, ACTION_FILES + TEMPLATES + OWN_WORKFLOWS + FIXTURE_WORKFLOWS)],
        capture_output=True, text=True, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_catches_template_injection(tmp_path: Path) -> None:
    """The audit is live: the mistake the rule above forbids is reported."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    done = subprocess.run([str(Path(sys.executable).parent / "zizmor"), "--offline", "--no-progress",
                           str(bad)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "template-injection" in done.stdout


@pytest.mark.parametrize("path", ALL_YAML, ids=_rel)
def test_no_expression_inside_a_run_script(path: Path) -> None:
    """Inputs reach scripts through env:, never as ${{ }} in the script text."""
    for step in _steps(_load(path)):
        assert "${{" not in step.get("run", ""), f"{_rel(path)}: {step.get('name') or step['run'][:40]}"


@pytest.mark.parametrize("path", ACTION_FILES + TEMPLATES + OWN_WORKFLOWS, ids=_rel)
def test_third_party_actions_are_pinned_by_commit_sha(path: Path) -> None:
    for step in _steps(_load(path)):
        uses = step.get("uses")
        if not uses or uses.startswith("./") or uses.startswith("dragonfly/release-actions"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{_rel(path)}: {uses}"
        assert uses in PINNED, f"{uses}: add a stand-in in tests/act/stand_ins and to PINNED"


def _cli_options(*words: str) -> set[str]:
    parser = build_parser()
    for word in words:
        sub = next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)
        if sub is None:  # a positional, as in `migrate status`
            assert any(word in (a.choices or ()) for a in parser._actions if not a.option_strings)
            break
        parser = sub.choices[word]
    return {opt for action in parser._actions for opt in action.option_strings}


def _gate_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("actions_gate", REPO / "actions" / "gate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["", *GATE_ACTIONS])
def test_action_inputs_are_documented_and_mirror_the_cli(name: str) -> None:
    gate_py = _gate_module()
    doc = _load(REPO / name / "action.yml")
    inputs = doc["inputs"]
    for input_name, spec in inputs.items():
        assert spec.get("description"), input_name
        assert spec.get("required") or "default" in spec, f"{input_name} needs a default"
    gate_step = next(s for s in doc["runs"]["steps"] if s.get("id") == "gate")
    passed = {k[len(gate_py.PREFIX):].lower().replace("_", "-") for k in gate_step["env"]
              if k.startswith(gate_py.PREFIX)}
    assert passed == set(inputs) - {"working-directory", "python-version", "gate"}
    gates = [name] if name else [g for g in gate_py.GATES if g != "railway-scale"]
    for gate in gates:
        spec = gate_py.GATES[gate]
        takes = set(gate_py.COMMON) | set(spec.inputs)
        assert takes <= set(inputs) | {"fail-fast"} or not name, gate
        if gate == "railway-scale":
            continue  # its flags are checked by the Railway CLI itself (railway scale/restore)
        options = _cli_options(*spec.command)
        for input_name in takes:
            if input_name in gate_py.SECRET_ENV:
                flag = {"database-url": "--db-url", "shadow-url": "--shadow-url"}[input_name]
            else:
                flag = gate_py.FLAGS.get(input_name) or gate_py.OPTIONS[input_name]
            assert flag in options, f"{gate}: input {input_name} -> {flag}"
    for output in ("passed", "errors", "warnings"):
        assert output in doc["outputs"]


def test_gate_script_masks_secrets_and_keeps_them_off_the_command_line() -> None:
    gate_py = _gate_module()
    written: list[str] = []
    url = "postgresql://app:p%40ss@db.example.com/app"
    inputs = {"database-url": url, "railway-token": "tok-1", "environment": "prod"}
    gate_py.mask(inputs, written.append)
    assert written == ["::add-mask::" + url + "\n", "::add-mask::p%40ss\n", "::add-mask::p@ss\n",
                       "::add-mask::tok-1\n"]
    argv, env = gate_py.command("doctor", {"database-url": url, "environment": "prod", "strict": "true"})
    assert url not in " ".join(argv)
    assert env == {"DRAGONFLY_DB_URL": url}
    assert argv == ["doctor", "--env", "prod", "--strict", "--format", "github"]


def test_gate_script_builds_the_railway_commands() -> None:
    gate_py = _gate_module()
    argv, env = gate_py.command("railway-scale", {"service": "worker,\nscheduler", "environment": "prod",
                                                  "railway-token": "t"})
    assert argv == ["railway", "scale", "--service", "worker", "--service", "scheduler", "--env", "prod",
                    "--replicas", "0", "--format", "github"]
    assert env == {"RAILWAY_TOKEN": "t"}
    argv, _ = gate_py.command("railway-scale", {"action": "restore", "state": '{"v":1}'})
    assert argv == ["railway", "restore", "--state", '{"v":1}', "--format", "github"]
    # The agreed interface: every flag the action passes exists on the Railway CLI.
    scale = _cli_options("railway", "scale")
    assert {"--service", "--replicas", "--state-file", "--dry-run", "--env"} <= scale
    assert {"--state", "--state-file", "--dry-run", "--env"} <= _cli_options("railway", "restore")
    for bad in ({"action": "freeze"}, {"action": "restore", "replicas": "2"}, {},
                {"service": "w", "strict": "yes"}):
        with pytest.raises(gate_py.BadInput):
            gate_py.command("railway-scale", bad)


# --- the templates under act ---------------------------------------------------------------


def test_every_template_job_runs_under_act_or_says_why_not() -> None:
    jobs = {(path.name, job) for path in TEMPLATES for job in _load(path)["jobs"]}
    assert jobs == set(RAN) | set(SKIPPED)
    assert not set(RAN) & set(SKIPPED)
    assert all(reason.strip() for reason in SKIPPED.values())


def test_production_deploy_is_the_runbook_sequence() -> None:
    doc = _load(REPO / "workflows" / "production_deploy.yml")
    needs = {job: spec.get("needs") for job, spec in doc["jobs"].items()}
    assert needs == {
        "freeze": None, "hard-gate": "freeze", "soft-gate": "hard-gate", "migrate": "soft-gate",
        "verify": "migrate", "deploy": ["freeze", "verify"], "smoke": "deploy",
        "restore-workers": ["freeze", "hard-gate", "soft-gate", "migrate", "verify", "deploy", "smoke"],
    }
    assert "always()" in doc["jobs"]["restore-workers"]["if"]
    assert "needs.freeze.result == 'success'" in doc["jobs"]["restore-workers"]["if"]
    assert doc["permissions"] == {}
    rollback = _load(REPO / "workflows" / "rollback.yml")
    for workflow in (doc, rollback):
        assert workflow["concurrency"] == {"group": "production-release", "cancel-in-progress": False}
    for job, spec in doc["jobs"].items():
        assert spec["environment"] == "production", job
        assert spec["permissions"] == {"contents": "read"}, job


@pytest.fixture
def act(act_session: tuple[Path, Path], tmp_path: Path) -> Act:
    export, setup_cache = act_session
    return Act(tmp_path / "act", export, setup_cache)


@pytest.fixture
def migrated_db(pg_server: EmbeddedServer):
    """A database with the Supabase platform bootstrap: (conninfo, url)."""
    name = create_database(pg_server, prefix="template")
    with connect(pg_server.conninfo(name), autocommit=True) as conn:
        bootstrap(conn, "supabase")
    yield pg_server.conninfo(name), pg_server.url(name)
    drop_database(pg_server, name)


def _migrate(repo: Path, url: str, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["migrate", "--project-file", str(repo / "dragonfly.yml"), "--db-url", url,
                     "--format", "json"]) == 0
    capsys.readouterr()


def test_ci_template(act: Act, tmp_path: Path) -> None:
    repo = make_consumer(tmp_path / "consumer", templates=["ci.yml"])
    run = act.run(repo, workflow="ci.yml")
    assert run.returncode == 0, run.output
    assert "1 passed, 1 deselected" in run.output
    for linter in ("ruff", "black", "isort"):
        assert f"✅  Success - Main {linter}" in run.output
    assert "would be left unchanged" in run.output  # black checked the files
    assert "setup-python stand-in" in run.output


def test_dragonfly_ci_template_on_a_pull_request(act: Act, tmp_path: Path, migrated_db, capsys) -> None:
    repo = make_consumer(tmp_path / "consumer", templates=["dragonfly-ci.yml"])
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "supabase" / "migrations" / "20250301000000_task_priority.sql").write_text(
        "alter table public.tasks add column priority integer not null default 0;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "priority")
    conninfo, url = migrated_db
    _migrate(repo, url, capsys)
    event = {"pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "feature",
             "repo": {"fork": False}}}}
    run = act.run(repo, "pull_request", workflow="dragonfly-ci.yml", event_payload=event,
                  secrets={"DEV_DATABASE_URL": url})
    assert run.returncode == 0, run.output
    out = run.output
    assert "contract-gate: passed" in out
    assert "dragonfly-ci migrations check --base origin/main --format github" in out
    assert "migrations check: passed" in out or "migrations-check: passed" in out, out
    assert "env-doctor: passed" in out
    assert "schema-consistency: passed" in out
    assert "doctor: passed" in out
    assert "1 n8n workflow file(s) in n8n, 0 invalid" in out
    assert "dashboard built: dist/index.html" in out
    assert "1 passed, 1 deselected" in out


def test_dragonfly_ci_template_fails_when_an_applied_migration_is_edited(act: Act, tmp_path: Path) -> None:
    repo = make_consumer(tmp_path / "consumer", templates=["dragonfly-ci.yml"])
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    git(repo, "switch", "-q", "-c", "feature")
    shipped = repo / "supabase" / "migrations" / "20250102000000_claim_task.sql"
    shipped.write_text(shipped.read_text().replace("order by id", "order by created_at"))
    git(repo, "commit", "-q", "-am", "edit a shipped migration")
    event = {"pull_request": {"number": 8, "base": {"ref": "main"}, "head": {"ref": "feature",
             "repo": {"fork": False}}}}
    run = act.run(repo, "pull_request", workflow="dragonfly-ci.yml", job="migrations-immutable",
                  event_payload=event)
    assert run.returncode != 0
    assert ("::error title=migrations/applied-file-modified,"
            "file=supabase/migrations/20250102000000_claim_task.sql") in run.output, run.output


def _without_needs(repo: Path, workflow: str) -> None:
    path = repo / ".github" / "workflows" / workflow
    text, removed = re.subn(r"(?m)^    needs: .*\n", "", path.read_text(encoding="utf-8"))
    assert removed == sum(1 for spec in _load(REPO / "workflows" / workflow)["jobs"].values()
                          if "needs" in spec)
    path.write_text(text, encoding="utf-8")
    git(repo, "commit", "-q", "-am", "jobs on their own")


def test_production_deploy_phases(act: Act, tmp_path: Path, migrated_db) -> None:
    """hard gate, soft gate, migrate, verify and smoke against a database the test started."""
    repo = make_consumer(tmp_path / "consumer", templates=["production_deploy.yml"])
    _without_needs(repo, "production_deploy.yml")
    conninfo, url = migrated_db
    secrets = {"PROD_DATABASE_URL": url}
    outputs = {}
    for job in ("hard-gate", "soft-gate", "migrate", "verify", "smoke"):
        run = act.run(repo, "workflow_dispatch", workflow="production_deploy.yml", job=job, secrets=secrets)
        assert run.returncode == 0, run.output
        outputs[job] = run.output
    assert "1 passed, 1 deselected" in outputs["hard-gate"]
    assert "contract-gate: passed" in outputs["hard-gate"]
    # The soft gate ran before migrate: the doctor probe fails, as a warning only.
    assert "::warning title=soft gate::connectivity failure" in outputs["soft-gate"], outputs["soft-gate"]
    assert "1 passed" in outputs["soft-gate"]  # the integration test, with PROD_DATABASE_URL
    assert "dragonfly-ci migrate --env prod --format github" in outputs["migrate"]
    assert "applied now: 20250101000000, 20250102000000" in outputs["migrate"]
    assert "prod-gate: passed" in outputs["verify"]
    assert "dragonfly-ci prod-gate --env prod --strict --format github" in outputs["verify"]
    assert "smoke: passed" in outputs["smoke"]
    with connect(conninfo) as conn:
        versions = [r[0] for r in conn.execute(
            "select version from supabase_migrations.schema_migrations order by 1")]
    assert versions == ["20250101000000", "20250102000000"]


def test_rollback_template_status_and_apply(act: Act, tmp_path: Path, migrated_db) -> None:
    repo = make_consumer(tmp_path / "consumer", templates=["rollback.yml"])
    conninfo, url = migrated_db
    secrets = {"PROD_DATABASE_URL": url}
    applied = act.run(repo, "workflow_dispatch", workflow="rollback.yml", secrets=secrets,
                      inputs={"operation": "apply"})
    assert applied.returncode == 0, applied.output
    assert "applied now: 20250101000000, 20250102000000" in applied.output
    assert not any(line.startswith("[rollback/status]") for line in applied.output.splitlines())
    status = act.run(repo, "workflow_dispatch", workflow="rollback.yml", secrets=secrets,
                     inputs={"operation": "status"})
    assert status.returncode == 0, status.output
    assert "dragonfly-ci rollback status --env prod --format github" in status.output
    assert "20250102000000 claim_task" in status.output, status.output


def test_readme_documents_every_action_input_and_output() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## GitHub Actions"):readme.index("## Rules")]
    for path in ACTION_FILES:
        doc = _load(path)
        for name in [*doc["inputs"], *doc.get("outputs", {})]:
            assert f"`{name}`" in section, f"{_rel(path)}: {name}"
    for template in TEMPLATES:
        assert f"`{template.name}`" in section
