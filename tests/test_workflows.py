"""The template workflows (workflows/), this repository's own (.github/workflows/) and
every action.yml: validated, audited, and the templates run for real under act.

Under act (see tests/act): a consumer repository adopts a template exactly as the
README says (copy it to .github/workflows/, dragonfly.yml beside it).
`actions/setup-python` and `actions/setup-node`, pinned by SHA in the templates,
are mapped with `--local-repository` to small local stand-ins in
tests/act/stand_ins/ (setup-python makes a virtual environment from the host's
python3; setup-node uses the host's node); act itself replaces
`actions/checkout` with a copy of the repository. production_deploy.yml runs
whole, every job in its `needs:` order, against a PostgreSQL and a loopback
Railway (tests/fakes/railway.py, through RAILWAY_API_URL) the test started; the
tokens go in with act's `--secret`, RAILWAY_WORKER_SERVICES with `--var`. Jobs
that cannot run here are listed in SKIPPED with the reason, and a test checks
that every job of every template either ran in a test or is listed there.
"""

from __future__ import annotations

import os
import re
import shutil
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
from tests.act import FIXTURES, PINNED, REPO, STAND_INS, Act, ActRun, git, make_consumer
from tests.railway_world import EU

ACTION_FILES = sorted([REPO / "action.yml", *REPO.glob("*/action.yml"), REPO / "actions/setup/action.yml"])
GATE_ACTIONS = ["contract-gate", "migrate", "prod-gate", "smoke", "railway-scale"]
TEMPLATES = sorted((REPO / "workflows").glob("*.yml"))
OWN_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
FIXTURE_WORKFLOWS = sorted((REPO / "tests" / "fixtures").glob("consumer*/.github/workflows/*.yml"))
STAND_IN_ACTIONS = sorted(STAND_INS.glob("*/action.yml"))
ALL_YAML = ACTION_FILES + TEMPLATES + OWN_WORKFLOWS + FIXTURE_WORKFLOWS + STAND_IN_ACTIONS

SKIPPED = {
    ("rollback.yml", "new-rollback"): ("opens a pull request with `git push` and `gh pr create`: needs a "
                                       "GitHub remote and the GitHub API, which act does not provide"),
}
RELEASE = "test_production_deploy_releases_end_to_end"
FAIL_CLOSED = "test_production_deploy_restores_the_workers_when_migrate_fails"
RAN: dict[tuple[str, str], str] = {  # job -> the test that ran it
    ("ci.yml", "tests"): "test_ci_template",
    ("ci.yml", "lint"): "test_ci_template",
    ("dragonfly-ci.yml", "tests"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "contract-gate"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "migrations-immutable"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "dev"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "n8n"): "test_dragonfly_ci_template_on_a_pull_request",
    ("dragonfly-ci.yml", "dashboard"): "test_dragonfly_ci_template_on_a_pull_request",
    ("production_deploy.yml", "freeze"): RELEASE,
    ("production_deploy.yml", "hard-gate"): RELEASE,
    ("production_deploy.yml", "soft-gate"): RELEASE,
    ("production_deploy.yml", "migrate"): RELEASE,
    ("production_deploy.yml", "verify"): RELEASE,
    ("production_deploy.yml", "deploy"): RELEASE,
    ("production_deploy.yml", "smoke"): RELEASE,
    ("production_deploy.yml", "restore-workers"): FAIL_CLOSED,
    ("rollback.yml", "status"): "test_rollback_template_status_and_apply",
    ("rollback.yml", "apply"): "test_rollback_template_status_and_apply",
    ("rollback.yml", "stop-workers"): "test_rollback_template_stops_and_restores_the_workers",
    ("rollback.yml", "restore-workers"): "test_rollback_template_stops_and_restores_the_workers",
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
            if input_name == "github-token":
                continue  # read from $GITHUB_TOKEN, as GitHub's own tools do; no flag
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


def test_railway_scale_without_service_scales_what_the_project_file_lists() -> None:
    gate_py = _gate_module()
    argv, _ = gate_py.command("railway-scale", {"environment": "prod"})
    assert argv == ["railway", "scale", "--env", "prod", "--replicas", "0", "--format", "github"], argv
    argv, _ = gate_py.command("railway-scale", {"service": "worker, scheduler"})
    assert argv[:6] == ["railway", "scale", "--service", "worker", "--service", "scheduler"], argv


def test_gate_script_passes_the_pull_request_inputs_to_the_contract_gate_only() -> None:
    gate_py = _gate_module()
    written: list[str] = []
    inputs = {"base": "c" * 40, "github-token": "ghs_planted", "sarif-file": "out/df.sarif"}
    gate_py.mask(inputs, written.append)
    assert written == ["::add-mask::ghs_planted\n"]
    argv, env = gate_py.command("contract-gate", inputs)
    assert argv == ["contract-gate", "--base", "c" * 40, "--sarif-file", "out/df.sarif", "--format", "github"]
    assert env == {"GITHUB_TOKEN": "ghs_planted"}
    # The root action hands every gate its default github.token: the others drop it...
    argv, env = gate_py.command("doctor", {"github-token": "ghs_planted", "environment": "dev"})
    assert (argv, env) == (["doctor", "--env", "dev", "--format", "github"], {})
    # ...but a SARIF file or a base it cannot use is refused, not ignored.
    for gate, bad in (("doctor", {"sarif-file": "x.sarif"}), ("migrate", {"base": "origin/main"})):
        with pytest.raises(gate_py.BadInput):
            gate_py.command(gate, bad)


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
    for bad in ({"action": "freeze"}, {"action": "restore", "replicas": "2"},
                {"service": "w", "strict": "yes"}):
        with pytest.raises(gate_py.BadInput):
            gate_py.command("railway-scale", bad)


# --- the templates under act ---------------------------------------------------------------


def test_every_template_job_runs_under_act_or_says_why_not() -> None:
    jobs = {(path.name, job) for path in TEMPLATES for job in _load(path)["jobs"]}
    assert jobs == set(RAN) | set(SKIPPED)
    assert not set(RAN) & set(SKIPPED)
    assert all(reason.strip() for reason in SKIPPED.values())
    assert all(callable(globals().get(test)) for test in RAN.values()), "RAN names a test that is gone"


def test_production_deploy_is_the_runbook_sequence() -> None:
    doc = _load(REPO / "workflows" / "production_deploy.yml")
    needs = {job: spec.get("needs") for job, spec in doc["jobs"].items()}
    assert needs == {
        "freeze": None, "hard-gate": "freeze", "soft-gate": "hard-gate", "migrate": "soft-gate",
        "verify": "migrate", "deploy": ["freeze", "verify"], "smoke": "deploy",
        "restore-workers": ["freeze", "hard-gate", "soft-gate", "migrate", "verify", "deploy", "smoke"],
    }
    # After any failure or cancellation, whenever the freeze recorded a state (even a
    # freeze that then failed half-way), never after a release that succeeded.
    assert doc["jobs"]["restore-workers"]["if"] == (
        "${{ always() && needs.freeze.outputs.state != '' && (failure() || cancelled()) }}")
    assert doc["jobs"]["freeze"]["outputs"] == {"state": "${{ steps.scale.outputs.state }}"}
    # A push has no pull request, and the job's token may not write checks: post nothing.
    (gate,) = [s for s in doc["jobs"]["hard-gate"]["steps"] if "contract-gate@" in s.get("uses", "")]
    assert gate["with"] == {"github-token": ""}
    assert doc["permissions"] == {}
    rollback = _load(REPO / "workflows" / "rollback.yml")
    for workflow in (doc, rollback):
        assert workflow["concurrency"] == {"group": "production-release", "cancel-in-progress": False}
    for job, spec in doc["jobs"].items():
        assert spec["environment"] == "production", job
        assert spec["permissions"] == {"contents": "read"}, job


def test_only_the_contract_gate_job_may_post_to_the_pull_request() -> None:
    """Least privilege: the check run and the sticky comment need `checks: write` and
    `pull-requests: write`, granted to the contract-gate job alone, which diffs against
    the pull request's base commit (so it clones the whole history)."""
    doc = _load(REPO / "workflows" / "dragonfly-ci.yml")
    assert doc["permissions"] == {}
    for job, spec in doc["jobs"].items():
        extra = {"checks": "write", "pull-requests": "write"} if job == "contract-gate" else {}
        assert spec["permissions"] == {"contents": "read", **extra}, job
    checkout, gate = doc["jobs"]["contract-gate"]["steps"]
    assert checkout["with"]["fetch-depth"] == 0
    assert gate["with"] == {"base": "${{ github.event.pull_request.base.sha }}"}


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
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "supabase" / "migrations" / "20250301000000_task_priority.sql").write_text(
        "alter table public.tasks add column priority integer not null default 0;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "priority")
    conninfo, url = migrated_db
    _migrate(repo, url, capsys)
    event = {"pull_request": {"number": 7, "base": {"ref": "main", "sha": base_sha},
                              "head": {"ref": "feature", "repo": {"fork": False}}}}
    run = act.run(repo, "pull_request", workflow="dragonfly-ci.yml", event_payload=event,
                  secrets={"DEV_DATABASE_URL": url})
    assert run.returncode == 0, run.output
    out = run.output
    assert f"dragonfly-ci contract-gate --base {base_sha} --format github" in out
    assert "::notice title=surface/column-added,file=supabase/migrations/20250301000000_task_priority.sql" \
        in out, out
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


GITHUB_TOKEN = "ghs_plantedTokenForAct0123456789"  # must never show in act's output
BREAKING = "supabase/migrations/20250201000000_claim_task_by_queue.sql"


def test_dragonfly_ci_contract_gate_annotates_the_pull_request_diff(act: Act, tmp_path: Path) -> None:
    """dragonfly-ci.yml's contract-gate job on a pull_request event: the base commit has
    the consumer's migrations, the head commit changes the contracted claim_task's
    arguments. The template passes github.event.pull_request.base.sha as the action's
    `base`, and the job's token (the action's `github-token` default, github.token) as
    GITHUB_TOKEN: the step's output carries the breaking change at the head migration's
    line, and the check run and the sticky comment reach a loopback GitHub API
    (GITHUB_API_URL, tests/fakes/github_api.py)."""
    from tests.fakes.github_api import serve

    repo = make_consumer(tmp_path / "consumer", templates=["dragonfly-ci.yml"])
    base_sha = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "-q", "-c", "feature")
    shutil.copytree(FIXTURES / "consumer_breaking", repo, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "claim per queue")
    head_sha = git(repo, "rev-parse", "HEAD").strip()
    event = {"pull_request": {"number": 12, "base": {"ref": "main", "sha": base_sha},
                              "head": {"ref": "feature", "sha": head_sha,
                                       "repo": {"fork": False, "full_name": "acme/workers"}}}}
    with serve(GITHUB_TOKEN) as github:
        run = act.run(repo, "pull_request", workflow="dragonfly-ci.yml", job="contract-gate",
                      event_payload=event, secrets={"GITHUB_TOKEN": GITHUB_TOKEN},
                      env={"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": "acme/workers"})
    assert run.returncode != 0
    assert GITHUB_TOKEN not in run.output
    assert f"dragonfly-ci contract-gate --base {base_sha} --format github" in run.output, run.output
    assert f"base: {base_sha} at {base_sha[:7]}: 2 migrations" in run.output
    # The breaking change at the head migration's line, said once (the contract check's finding
    # stands for the base-vs-head diff's), and squawk on the new file.
    assert (f"::error title=contract/rpc-arguments-changed,file={BREAKING},line=4,endLine=14::"
            "RPC public.claim_task: the contract declares (text)") in run.output, run.output
    assert "title=surface/rpc-arguments-changed" not in run.output
    assert f"::warning title=lint/ban-drop-function,file={BREAKING},line=2," in run.output
    # Posted with the job's token: one check run on the head commit, one sticky comment.
    (check_run,) = github.check_runs.values()
    assert (check_run["name"], check_run["head_sha"], check_run["conclusion"]) == (
        "dragonfly-ci contract-gate", head_sha, "failure")
    assert any(a["path"] == BREAKING and a["start_line"] == 4 and a["annotation_level"] == "failure"
               for a in check_run["annotations"]), check_run["annotations"]
    (comment,) = github.comments_on(12)
    assert "<!-- dragonfly-ci:contract-gate -->" in comment["body"]
    assert f"dragonfly-ci: check run created for {head_sha[:7]}" in run.output
    assert "dragonfly-ci: PR comment" in run.output


RAILWAY_TOKEN = "planted-railway-project-token-for-act-52c8"  # must never show in act's output
WORKER_SERVICES = "worker, scheduler"  # the RAILWAY_WORKER_SERVICES variable
BEFORE = {"worker": {"us-west2": 3}, "scheduler": {"us-west2": 2, EU: 1}}


@pytest.fixture
def railway_production(railway):
    """The consumer's Railway production environment on the loopback fake: worker (3
    replicas) and scheduler (2 + 1 in two regions), and a project token for it."""
    project = railway.add_project("dragonfly", ["production"], ["worker", "scheduler"])
    railway.add_instance(project, "production", "worker", replicas=3)
    railway.add_instance(project, "production", "scheduler", replicas=3, regions={"us-west2": 2, EU: 1})
    railway.project_tokens[RAILWAY_TOKEN] = (project["id"], project["environments"]["production"])
    return railway, project


def _replicas(railway, project) -> dict[str, dict[str, int]]:
    return {name: railway.instance(project, "production", name).replicas() for name in BEFORE}


def _release(act: Act, repo: Path, railway, url: str) -> ActRun:
    """The whole production_deploy.yml, every job in its `needs:` order, as a push to main."""
    return act.run(repo, "push", workflow="production_deploy.yml",
                   secrets={"PROD_DATABASE_URL": url, "RAILWAY_TOKEN": RAILWAY_TOKEN},
                   variables={"RAILWAY_WORKER_SERVICES": WORKER_SERVICES},
                   env={"RAILWAY_API_URL": railway.url})


def _outcome(lines: list[str]) -> str:
    return "succeeded" if "🏁  Job succeeded" in lines else "failed" if "🏁  Job failed" in lines else "?"


FREEZE, HARD, SOFT = ("freeze workers (scale to 0)", "hard gate (unit tests, contract, doctor importable)",
                      "soft gate (integration tests, connectivity; failures warn)")
VERIFY, DEPLOY, RESTORE = ("verify (doctor, prod-gate --strict)", "deploy (redeploy, restore workers, watch)",
                           "restore workers after a failure")


def _freeze_then_restore(railway) -> list[dict]:
    """The replica changes the fake saw, in order."""
    return [m[1]["input"] for m in railway.mutations if m[0] == "serviceInstanceUpdate"]


# A multi-region service scaled to 0 has its regions removed, as the dashboard does.
FROZEN = [{"numReplicas": 0}, {"multiRegionConfig": {"us-west2": None, EU: None}}]


def test_production_deploy_releases_end_to_end(act: Act, tmp_path: Path, migrated_db,
                                                railway_production) -> None:
    """The whole template under act, every job in `needs:` order, against a database
    and a Railway the test started: the freeze scales the workers to 0, the hard and
    soft gates pass (the soft gate's connectivity probe fails before migrate: a
    warning), migrate applies, verify passes, deploy redeploys, scales the workers
    back from the freeze's state output and watches them (railway.watch in the
    fixture's dragonfly.yml: 3 s, not 15 min), smoke passes; restore-workers does not
    run."""
    railway, project = railway_production
    repo = make_consumer(tmp_path / "consumer", "consumer_railway", templates=["production_deploy.yml"])
    conninfo, url = migrated_db
    run = _release(act, repo, railway, url)
    assert run.returncode == 0, run.output
    assert RAILWAY_TOKEN not in run.output
    jobs = run.jobs("production deploy")
    assert list(jobs) == [FREEZE, HARD, SOFT, "migrate", VERIFY, DEPLOY, "smoke"], list(jobs)
    assert all(_outcome(lines) == "succeeded" for lines in jobs.values())
    freeze, deploy = "\n".join(jobs[FREEZE]), "\n".join(jobs[DEPLOY])
    assert ("dragonfly-ci railway scale --service worker --service scheduler --env prod --replicas 0 "
            "--format github") in freeze
    assert "contract-gate: passed" in "\n".join(jobs[HARD])
    assert "::warning title=soft gate::connectivity failure" in "\n".join(jobs[SOFT])
    assert "applied now: 20250101000000, 20250102000000" in "\n".join(jobs["migrate"])
    assert "prod-gate: passed (strict)" in "\n".join(jobs[VERIFY])
    assert "railway redeploy: passed" in deploy
    assert "dragonfly-ci railway restore --env prod --state '{\"version\":1," in deploy
    assert "scheduler (production): 0 -> 3 (europe-west4-drams3a: 1, us-west2: 2)" in deploy
    assert "railway watch: passed" in deploy and "watched: 0.1 min" in deploy, deploy
    assert "smoke: passed" in "\n".join(jobs["smoke"])
    # On Railway: frozen, redeployed, scaled back to exactly what ran before, per region.
    assert _freeze_then_restore(railway) == FROZEN + [
        {"numReplicas": 3}, {"multiRegionConfig": {"us-west2": {"numReplicas": 2}, EU: {"numReplicas": 1}}}]
    assert _replicas(railway, project) == BEFORE
    with connect(conninfo) as conn:
        versions = [r[0] for r in conn.execute(
            "select version from supabase_migrations.schema_migrations order by 1")]
    assert versions == ["20250101000000", "20250102000000"]


def test_production_deploy_restores_the_workers_when_migrate_fails(act: Act, tmp_path: Path, migrated_db,
                                                                    railway_production, capsys) -> None:
    """Fail closed, the whole template under act: production already has the first two
    migrations and a task with an empty title; the release adds a check constraint that
    builds on the empty shadow (so the hard gate passes) but fails on production's data.
    migrate fails, verify, deploy and smoke never run, and restore-workers puts the
    frozen workers back from the freeze job's state output."""
    railway, project = railway_production
    conninfo, url = migrated_db
    repo = make_consumer(tmp_path / "consumer", "consumer_railway", templates=["production_deploy.yml"])
    _migrate(repo, url, capsys)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("insert into public.tasks (title) values ('')")
    (repo / "supabase" / "migrations" / "20250301000000_title_not_blank.sql").write_text(
        "alter table public.tasks add constraint tasks_title_not_blank check (title <> '');\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "titles are never blank")
    run = _release(act, repo, railway, url)
    assert run.returncode != 0
    assert RAILWAY_TOKEN not in run.output
    jobs = run.jobs("production deploy")
    assert list(jobs) == [FREEZE, HARD, SOFT, "migrate", RESTORE], list(jobs)
    assert {job: _outcome(lines) for job, lines in jobs.items()} == {
        FREEZE: "succeeded", HARD: "succeeded", SOFT: "succeeded", "migrate": "failed",
        RESTORE: "succeeded"}
    migrate = "\n".join(jobs["migrate"])
    assert ("::error title=migration/apply-failed,"
            "file=supabase/migrations/20250301000000_title_not_blank.sql,line=1") in migrate, migrate
    restore = "\n".join(jobs[RESTORE])
    assert "dragonfly-ci railway restore --env prod --state '{\"version\":1," in restore
    assert "worker (production): 0 in us-west2 -> 3 in us-west2" in restore, restore
    assert "railway restore: passed" in restore
    assert _freeze_then_restore(railway) == FROZEN + [
        {"numReplicas": 3}, {"multiRegionConfig": {"us-west2": {"numReplicas": 2}, EU: {"numReplicas": 1}}}]
    assert _replicas(railway, project) == BEFORE
    with connect(conninfo) as conn:  # the failed migration left nothing behind
        versions = [r[0] for r in conn.execute(
            "select version from supabase_migrations.schema_migrations order by 1")]
        constraint = conn.execute("select conname from pg_constraint where conname = 'tasks_title_not_blank'")
        assert constraint.fetchall() == []
    assert versions == ["20250101000000", "20250102000000"]


def test_production_deploy_restores_a_freeze_that_failed_half_way(act: Act, tmp_path: Path,
                                                                   railway_production) -> None:
    """The freeze scales worker to 0, then Railway refuses to scale scheduler: the freeze
    job fails after recording the state, every phase after it is skipped, and
    restore-workers, which tests the freeze's state output rather than its result,
    brings worker back."""
    railway, project = railway_production
    railway.refused.add(f"serviceInstanceUpdate:{project['services']['scheduler']}")
    repo = make_consumer(tmp_path / "consumer", "consumer_railway", templates=["production_deploy.yml"])
    run = _release(act, repo, railway, "postgresql://unused@127.0.0.1:9/never")
    assert run.returncode != 0
    assert RAILWAY_TOKEN not in run.output
    jobs = run.jobs("production deploy")
    assert {job: _outcome(lines) for job, lines in jobs.items()} == {FREEZE: "failed", RESTORE: "succeeded"}
    assert "worker (production): 0 in us-west2 -> 3 in us-west2" in "\n".join(jobs[RESTORE])
    assert _freeze_then_restore(railway) == [{"numReplicas": 0}, {"numReplicas": 3}]
    assert _replicas(railway, project) == BEFORE


def test_rollback_template_stops_and_restores_the_workers(act: Act, tmp_path: Path,
                                                          railway_production) -> None:
    """rollback.yml by hand: stop-workers scales them to 0 and writes the state to restore
    into the job summary; restore-workers, given that state as its input, puts them back."""
    railway, project = railway_production
    repo = make_consumer(tmp_path / "consumer", "consumer_railway", templates=["rollback.yml"])
    common = {"secrets": {"RAILWAY_TOKEN": RAILWAY_TOKEN}, "env": {"RAILWAY_API_URL": railway.url},
              "variables": {"RAILWAY_WORKER_SERVICES": WORKER_SERVICES}}
    stop = act.run(repo, "workflow_dispatch", workflow="rollback.yml", inputs={"operation": "stop-workers"},
                   **common)
    assert stop.returncode == 0, stop.output
    assert list(stop.jobs("rollback")) == ["stop-workers"]
    assert _replicas(railway, project) == {"worker": {"us-west2": 0}, "scheduler": {}}
    # What a person copies from the job summary.
    state = re.search(r"^```json\n(\{.*\})\n```$", stop.output, re.MULTILINE)
    assert state, stop.output
    restore = act.run(repo, "workflow_dispatch", workflow="rollback.yml",
                      inputs={"operation": "restore-workers", "state": state[1]}, **common)
    assert restore.returncode == 0, restore.output
    assert list(restore.jobs("rollback")) == ["restore-workers"]
    assert RAILWAY_TOKEN not in stop.output + restore.output
    assert _replicas(railway, project) == BEFORE


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
