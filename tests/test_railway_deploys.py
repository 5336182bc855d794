"""`dragonfly-ci railway redeploy` and `watch`, and the config-as-code warning, run for real
against the loopback Railway (tests/fakes/railway.py)."""

from __future__ import annotations

from tests.fakes.railway import Step
from tests.railway_world import World

FAST = ("--poll-seconds", "0.05")


def only(ran) -> dict:  # noqa: ANN001 - Ran
    findings = ran.json()["findings"]
    assert len(findings) == 1, findings
    return findings[0]


# -- redeploy ---------------------------------------------------------------------------


def test_redeploy_waits_for_success(world: World):
    world.fake.redeploy_plan = [Step("BUILDING"), Step("DEPLOYING"), Step("SUCCESS", logs=["ready"])]
    before = world.latest("worker")
    ran = world.cli("redeploy", "--service", "worker", "--wait", *FAST, "--format", "json")
    assert ran.code == 0, ran.text
    after = world.latest("worker")
    assert after.id != before.id and after.status == "SUCCESS"
    assert world.fake.deployments[before.id].status == "REMOVED"
    assert ran.json()["facts"]["worker"] == (
        f"redeployed deployment {before.id} as {after.id}; SUCCESS after 0 s")
    assert f"worker: deployment {after.id} is DEPLOYING" in ran.err  # progress, on stderr


def test_redeploy_without_wait_does_not_wait(world: World):
    world.fake.redeploy_plan = [Step("BUILDING")] * 5
    ran = world.cli("redeploy", "--service", "worker")
    assert ran.code == 0, ran.text
    assert world.latest("worker").status == "INITIALIZING"


def test_a_failed_redeploy_fails_with_its_last_log_lines(world: World):
    world.fake.redeploy_plan = [Step("BUILDING", build_logs=["npm ci", "npm ERR! missing script: build"]),
                                Step("FAILED")]
    ran = world.cli("redeploy", "--service", "worker", "--wait", *FAST, "--format", "json")
    assert ran.code == 1, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/deployment-failed"
    assert "is FAILED after" in finding["message"]
    assert "last 2 lines of its build log:" in finding["message"]
    assert finding["message"].endswith("npm ERR! missing script: build")


def test_a_crashed_redeploy_fails_with_its_last_log_lines(world: World):
    world.fake.redeploy_plan = [Step("DEPLOYING", logs=["starting worker"]),
                                Step("CRASHED", logs=["Traceback (most recent call last):",
                                                      "KeyError: 'DATABASE_URL'"])]
    ran = world.cli("redeploy", "--service", "worker", "--wait", *FAST)
    assert ran.code == 1, ran.text
    assert "railway/deployment-crashed" in ran.out
    assert "last 3 lines of its deploy log:" in ran.out
    assert "KeyError: 'DATABASE_URL'" in ran.out


def test_a_redeploy_that_does_not_finish_in_time_fails(world: World):
    world.fake.redeploy_plan = [Step("BUILDING", build_logs=["still building"])] + [Step("BUILDING")] * 200
    ran = world.cli("redeploy", "--service", "worker", "--wait", "--timeout", "0.3", *FAST,
                    "--format", "json")
    assert ran.code == 1, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/deployment-timeout"
    assert "is still BUILDING after 0.3 s" in finding["message"]
    assert "still building" in finding["message"]


def test_a_redeploy_in_github_actions_reports_in_the_summary(world: World):
    world.fake.redeploy_plan = [Step("CRASHED", logs=["boom"])]
    ran = world.cli("redeploy", "--wait", *FAST, github=True)
    assert ran.code == 1, ran.text
    assert "::error title=railway/deployment-crashed::" in ran.out
    assert "## ❌ railway redeploy failed" in ran.summary
    assert "boom" in ran.summary
    assert ran.outputs["passed"] == "false"


def test_a_service_without_a_deployment_cannot_be_redeployed(world: World):
    world.fake.add_instance(world.project, "production", "web", deployed=False)
    ran = world.cli("redeploy", "--service", "web", "--format", "json")
    assert ran.code == 1, ran.text
    assert only(ran)["message"] == "service 'web' has no deployment"


# -- watch ------------------------------------------------------------------------------


def watch(world: World, *extra: str, minutes: str = "0.01"):  # noqa: ANN201 - Ran
    return world.cli("watch", "--service", "worker", "--minutes", minutes, *FAST, "--format", "json", *extra)


def test_a_quiet_watch_passes_and_says_what_it_saw(world: World):
    world.fake.script(world.latest("worker"), [Step("SUCCESS", logs=["claimed job 1", "finished job 1"])])
    ran = watch(world)
    assert ran.code == 0, ran.text
    facts = ran.json()["facts"]
    assert facts["worker"].endswith(
        "SUCCESS; 3 instances running; 2 log lines, 0 matching the error patterns")
    assert facts["watched"].endswith("polls") and int(facts["watched"].split(", ")[1].split()[0]) >= 3
    # Lines written before the watch began are not its business.
    assert "worker started" not in ran.text


def test_a_watch_fails_when_the_deployment_crashes(world: World):
    world.fake.script(world.latest("worker"), [
        Step("SUCCESS", logs=["claimed job 7"]),
        Step("CRASHED", logs=["Segmentation fault (core dumped)"])])
    ran = watch(world, minutes="0.05")
    assert ran.code == 1, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/deployment-crashed"
    assert "is CRASHED during the watch" in finding["message"]
    assert finding["message"].endswith("Segmentation fault (core dumped)")
    assert float(ran.json()["facts"]["watched"].split()[0]) < 0.05  # it stopped at the crash


def test_a_watch_fails_when_an_instance_restarts(world: World):
    world.fake.script(world.latest("worker"), [Step("SUCCESS"), Step("SUCCESS", instances="RESTARTING")])
    ran = watch(world)
    assert ran.code == 1, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/deployment-restarted"
    assert "is RESTARTING" in finding["message"]


def test_a_watch_fails_when_an_instance_is_replaced(world: World):
    world.fake.script(world.latest("worker"), [Step("SUCCESS"), Step("SUCCESS", instances="REPLACED")])
    ran = watch(world)
    assert ran.code == 1, ran.text
    assert "was replaced" in only(ran)["message"]


def test_a_watch_fails_when_error_lines_exceed_the_threshold(world: World):
    world.write_project(world.repo.joinpath("dragonfly.yml").read_text() + """\
  watch:
    error_patterns: ['job \\d+ failed', '(?i)out of memory']
    max_error_lines: 1
""")
    world.fake.script(world.latest("worker"),
                      [Step("SUCCESS", logs=["job 1 failed", "ERROR is not a pattern now"])])
    ran = watch(world)
    assert ran.code == 0, ran.text  # one error line is allowed
    assert "1 matching the error patterns (first:" in ran.json()["facts"]["worker"]

    world.fake.script(world.latest("worker"), [Step("SUCCESS", logs=["job 2 failed"]),
                                               Step("SUCCESS", logs=["Out Of Memory"])])
    ran = watch(world)
    assert ran.code == 1, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/error-lines"
    assert "2 log lines match the error patterns (more than 1)" in finding["message"]
    assert "job 2 failed" in finding["message"] and "Out Of Memory" in finding["message"]


def test_a_watch_follows_a_deployment_that_replaces_the_watched_one(world: World):
    old = world.latest("worker")
    pushed = []
    world.fake.script(old, [Step("SUCCESS", then=lambda fake: pushed.append(
        fake.deploy(world.project, "production", "worker", logs=("new worker up",))))])
    ran = watch(world)
    assert ran.code == 0, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/deployment-replaced" and finding["severity"] == "warning"
    assert f"deployment {old.id} (REMOVED) was replaced by {pushed[0].id}" in finding["message"]
    assert ran.json()["facts"]["worker"].startswith(f"deployment {pushed[0].id}: SUCCESS")


def test_the_watch_summary_shows_what_was_seen(world: World):
    world.fake.script(world.latest("worker"), [Step("SUCCESS", logs=["claimed job 1"])])
    ran = world.cli("watch", "--minutes", "0.005", *FAST, github=True)
    assert ran.code == 0, ran.text
    assert "## ✅ railway watch passed" in ran.summary
    assert "- **worker**: deployment" in ran.summary and "1 log line, 0 matching" in ran.summary
    assert "- **scheduler**: deployment" in ran.summary


# -- the config-as-code file ------------------------------------------------------------


def test_a_railway_json_that_sets_replicas_is_warned_about(world: World):
    (world.repo / "railway.json").write_text('{\n  "deploy": {\n    "startCommand": "python -m worker",\n'
                                             '    "numReplicas": 2\n  }\n}\n')
    ran = world.cli("scale", "--service", "worker", "--replicas", "0", "--format", "json")
    assert ran.code == 0, ran.text
    finding = only(ran)
    assert finding["rule"] == "railway/config-sets-replicas" and finding["severity"] == "warning"
    assert finding["location"]["file"] == "railway.json" and finding["location"]["line"] == 4
    assert "sets deploy.numReplicas for service 'worker'" in finding["message"]
    assert world.cli("scale", "--service", "worker", "--replicas", "0", "--strict").code == 1


def test_the_config_file_railway_uses_is_the_one_checked(world: World):
    world.instance("worker").railway_config_file = "/workers/railway.toml"
    (world.repo / "workers").mkdir()
    (world.repo / "workers" / "railway.toml").write_text(
        '[deploy]\nstartCommand = "worker"\n\n[environments.production.deploy]\n'
        'multiRegionConfig = { us-west2 = { numReplicas = 2 } }\n')
    (world.repo / "railway.json").write_text('{"deploy": {"numReplicas": 2}}')  # not this service's
    ran = world.cli("scale", "--service", "worker", "--replicas", "0", "--dry-run", "--format", "json")
    finding = only(ran)
    assert finding["location"] == {"file": "workers/railway.toml", "line": 5, "end_line": None,
                                   "column": None}
    assert "environments.production.deploy.multiRegionConfig" in finding["message"]


def test_a_config_file_named_in_the_project_file_must_exist(world: World):
    world.write_project(world.repo.joinpath("dragonfly.yml").read_text().replace(
        "services: [worker, scheduler]", "services: [{service: worker, config_file: ops/railway.json}]"))
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 2, ran.text
    assert "ops/railway.json: the service's config_file does not exist" in ran.err
    assert world.fake.mutations == []
