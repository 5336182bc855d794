"""`dragonfly-ci railway scale` and `restore`: freeze workers, put back exactly what ran.

Run for real through the CLI against the loopback Railway (tests/fakes/railway.py),
which validates every document against Railway's schema; its in-memory state is
what the assertions read.
"""

from __future__ import annotations

import json

from tests.railway_world import EU, World


def records(world: World) -> dict[str, dict]:
    state = json.loads(world.state_file().read_text())
    return {r["service"]: r for r in state["services"]}


def mutations(world: World) -> list[str]:
    return [name for name, _ in world.fake.mutations]


# -- freeze and restore ---------------------------------------------------------------


def test_freeze_and_restore_a_single_region_service(world: World):
    before = world.latest("worker")
    ran = world.cli("scale", "--service", "worker", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert world.replicas("worker") == {"us-west2": 0}
    # Recorded first, then applied by redeploying the same deployment with the new setting.
    assert records(world)["worker"]["replicas"] == {"numReplicas": 3, "region": "us-west2", "regions": None}
    assert mutations(world) == ["serviceInstanceUpdate", "deploymentRedeploy"]
    assert world.fake.mutations[0][1]["input"] == {"numReplicas": 0}
    assert world.fake.mutations[1][1] == {"id": before.id}
    assert world.latest("worker").meta["serviceManifest"]["deploy"]["numReplicas"] == 0
    assert "3 in us-west2 -> 0 in us-west2" in ran.out

    ran = world.cli("restore")
    assert ran.code == 0, ran.text
    assert world.replicas("worker") == {"us-west2": 3}
    assert world.fake.mutations[2][1]["input"] == {"numReplicas": 3}
    assert world.latest("worker").meta["serviceManifest"]["deploy"]["numReplicas"] == 3
    assert records(world)["worker"]["restoredAt"]


def test_freeze_and_restore_a_multi_region_service(world: World):
    ran = world.cli("scale", "--service", "scheduler", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert world.replicas("scheduler") == {}
    # As the dashboard does: a region scaled to zero leaves the configuration (null).
    assert world.fake.mutations[0][1]["input"] == {"multiRegionConfig": {EU: None, "us-west2": None}}
    assert records(world)["scheduler"]["replicas"]["regions"] == {"us-west2": 2, EU: 1}

    ran = world.cli("restore")
    assert ran.code == 0, ran.text
    assert world.replicas("scheduler") == {"us-west2": 2, EU: 1}
    assert world.fake.mutations[2][1]["input"] == {
        "multiRegionConfig": {EU: {"numReplicas": 1}, "us-west2": {"numReplicas": 2}}}
    assert "0 -> 3 (europe-west4-drams3a: 1, us-west2: 2)" in ran.out


def test_scale_every_declared_service_and_one_region(world: World):
    ran = world.cli("scale", "--replicas", "1", "--region", f"{EU}=0")
    assert ran.code == 0, ran.text
    assert world.replicas("worker") == {"us-west2": 1}
    assert world.replicas("scheduler") == {"us-west2": 1}
    assert set(records(world)) == {"worker", "scheduler"}


def test_restore_twice_changes_nothing_the_second_time(world: World):
    assert world.cli("scale", "--replicas", "0").code == 0
    assert world.cli("restore").code == 0
    changed = len(world.fake.mutations)
    requests = len(world.fake.requests)

    ran = world.cli("restore")
    assert ran.code == 0, ran.text
    assert "already restored" in ran.out
    assert len(world.fake.mutations) == changed and len(world.fake.requests) == requests
    assert world.replicas("worker") == {"us-west2": 3}


def test_restore_leaves_a_service_already_as_recorded_alone(world: World):
    assert world.cli("scale", "--service", "worker", "--replicas", "0").code == 0
    state = world.state_file().read_text()
    assert world.cli("restore").code == 0
    changed = len(world.fake.mutations)
    # Another job restores from the same state (the `state` output) once more.
    ran = world.cli("restore", "--state", state)
    assert ran.code == 0, ran.text
    assert "already 3 in us-west2, as recorded; nothing to change" in ran.out
    assert len(world.fake.mutations) == changed


def test_restore_with_nothing_frozen_is_a_clean_pass(world: World):
    for args in (("restore",), ("restore", "--state", ""), ("restore", "--state", "{}")):
        ran = world.cli(*args)
        assert ran.code == 0, ran.text
        assert "nothing was frozen: nothing to restore" in ran.out
    assert world.fake.requests == [] and world.fake.mutations == []


def test_restore_from_the_state_output_in_another_job(world: World):
    ran = world.cli("scale", "--replicas", "0", github=True)
    assert ran.code == 0, ran.text
    state = ran.outputs["state"]
    assert json.loads(ran.outputs["replicas"]) == {"worker": {"us-west2": 3},
                                                   "scheduler": {"us-west2": 2, EU: 1}}
    assert ran.outputs["state-file"] == ".dragonfly/railway-state.json"
    world.state_file().unlink()  # another job: its own machine, no file

    ran = world.cli("restore", "--state", state)
    assert ran.code == 0, ran.text
    assert world.replicas("worker") == {"us-west2": 3}
    assert world.replicas("scheduler") == {"us-west2": 2, EU: 1}
    assert not world.state_file().exists()


def test_restore_needs_no_project_file(world: World):
    assert world.cli("scale", "--replicas", "0").code == 0
    state = world.state_file().read_text()
    world.write_project("version: [this is not a valid project file\n")
    ran = world.cli("restore", "--state", state)
    assert ran.code == 0, ran.text
    assert world.replicas("worker") == {"us-west2": 3}


def test_a_second_scale_keeps_what_ran_before_the_first(world: World):
    assert world.cli("scale", "--service", "worker", "--replicas", "1").code == 0
    ran = world.cli("scale", "--service", "worker", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert "the state keeps 3 in us-west2" in ran.out
    assert records(world)["worker"]["replicas"]["numReplicas"] == 3
    assert world.cli("restore").code == 0
    assert world.replicas("worker") == {"us-west2": 3}

    # Once restored, the next freeze records afresh.
    world.instance("worker").num_replicas = 5
    assert world.cli("scale", "--service", "worker", "--replicas", "0").code == 0
    assert records(world)["worker"]["replicas"]["numReplicas"] == 5


def test_the_state_survives_a_scale_that_fails_half_way(world: World):
    world.fake.refused.add("serviceInstanceUpdate")
    ran = world.cli("scale", "--replicas", "0", github=True)
    assert ran.code == 3, ran.text
    assert "Railway did not authorize the token" in ran.err
    # Recorded before the first change: the file and the step output are both there.
    assert set(records(world)) == {"worker", "scheduler"}
    assert json.loads(ran.outputs["state"])["services"][0]["replicas"]["numReplicas"] == 3

    world.fake.refused.clear()
    assert world.cli("restore", "--state", ran.outputs["state"]).code == 0
    assert world.replicas("worker") == {"us-west2": 3}


def test_scale_records_in_runner_temp_in_actions(world: World, tmp_path):
    world.monkeypatch.setenv("RUNNER_TEMP", str(tmp_path / "runner-temp"))
    assert world.cli("scale", "--service", "worker", "--replicas", "0").code == 0
    assert (tmp_path / "runner-temp" / "dragonfly-railway-state.json").is_file()
    assert world.cli("restore").code == 0
    assert world.replicas("worker") == {"us-west2": 3}


def test_restore_reports_a_service_it_cannot_restore_and_restores_the_rest(world: World):
    assert world.cli("scale", "--replicas", "0").code == 0
    state = json.loads(world.state_file().read_text())
    state["services"][0]["serviceId"] = "00000000-0000-0000-0000-000000000000"  # deleted since
    world.state_file().write_text(json.dumps(state))
    ran = world.cli("restore", "--format", "json")
    assert ran.code == 3, ran.text
    facts = ran.json()["facts"]
    assert facts["worker (production)"].startswith("COULD NOT RESTORE: Railway service 'worker' has no "
                                                   "instance in environment 'production'")
    assert world.replicas("scheduler") == {"us-west2": 2, EU: 1}
    # What could not be restored stays pending for the next try.
    assert [r["restoredAt"] is None for r in json.loads(world.state_file().read_text())["services"]] \
        == [True, False]


def test_a_malformed_state_is_bad_input(world: World):
    for state, words in (("{not json", "is not JSON"), ('{"version": 7}', "not a version 1 state"),
                         ('{"version": 1, "services": [{"service": "x"}]}', "service 1 is malformed"),
                         ("no-such-file.json", "neither a state document")):
        ran = world.cli("restore", "--state", state)
        assert ran.code == 2, ran.text
        assert words in ran.err


# -- dry runs -------------------------------------------------------------------------


def test_dry_runs_change_nothing(world: World):
    world.fake.redeploy_plan = []
    deployments = set(world.fake.deployments)
    ran = world.cli("scale", "--replicas", "0", "--dry-run", "--format", "json")
    assert ran.code == 0, ran.text
    facts = ran.json()["facts"]
    assert facts["worker"] == "now 3 in us-west2; would set 0 in us-west2"
    assert facts["scheduler"] == "now 3 (europe-west4-drams3a: 1, us-west2: 2); would set 0"
    assert not world.state_file().exists()

    assert world.cli("scale", "--replicas", "0").code == 0
    changed = len(world.fake.mutations)
    deployments = set(world.fake.deployments)
    ran = world.cli("restore", "--dry-run")
    assert ran.code == 0 and "would put back 3 in us-west2" in ran.out, ran.text
    assert world.cli("redeploy", "--dry-run", "--wait").code == 0
    ran = world.cli("watch", "--dry-run", "--minutes", "5")
    assert ran.code == 0 and "would watch deployment" in ran.out, ran.text

    assert len(world.fake.mutations) == changed and set(world.fake.deployments) == deployments
    assert world.replicas("worker") == {"us-west2": 0}
    assert world.replicas("scheduler") == {}
    assert all(r["restoredAt"] is None for r in records(world).values())


# -- choosing the environment ---------------------------------------------------------


def test_env_picks_the_mapped_railway_environment(world: World):
    ran = world.cli("scale", "--env", "dev", "--service", "worker", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert "environment staging" in ran.out
    assert world.replicas("worker", "staging") == {"us-west2": 0}
    assert world.replicas("worker") == {"us-west2": 3}
    assert world.cli("restore").code == 0
    assert world.replicas("worker", "staging") == {"us-west2": 1}


def test_an_env_without_a_railway_mapping_is_bad_input(world: World):
    ran = world.cli("scale", "--env", "qa", "--replicas", "0")
    assert ran.code == 2, ran.text
    assert "dragonfly.yml:5: --env qa: railway.environments has no 'qa' (known: dev, prod)" in ran.err
    assert world.fake.mutations == []


def test_scale_needs_a_count(world: World):
    ran = world.cli("scale")
    assert ran.code == 2 and "needs --replicas N or --region REGION=N" in ran.err


# -- the railway: section of the project file ---------------------------------------------


def test_the_readme_project_file_example_is_valid(tmp_path):
    import re

    from dragonfly_ci.config import load_project
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## The project file: `dragonfly.yml`"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    (tmp_path / ".git").mkdir()
    (tmp_path / "supabase").mkdir()
    (tmp_path / "dragonfly.yml").write_text(example)
    settings = load_project(tmp_path / "dragonfly.yml").railway
    assert (settings.project, settings.environment) == ("dragonfly", "production")
    assert settings.environments == {"prod": "production", "dev": "staging"}
    assert [s.ref for s in settings.services] == ["worker", "scheduler"]
    assert settings.services[1].config_file == tmp_path / "scheduler" / "railway.toml"
    assert settings.error_patterns[1].search("Traceback (most recent call last):")
    assert (settings.watch_minutes, settings.watch_poll_seconds, settings.max_error_lines) == (15, 30, 0)


def test_a_bad_railway_section_is_bad_input_at_its_line(world: World):
    world.write_project(world.repo.joinpath("dragonfly.yml").read_text()
                        + "  watch:\n    error_patterns: ['(unclosed']\n")
    ran = world.cli("watch")
    assert ran.code == 2, ran.text
    assert "dragonfly.yml:8: railway.watch.error_patterns: '(unclosed' is not a regular expression" in ran.err

    world.write_project("version: 1\nrailway:\n  project: dragonfly\n  replicas: 3\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 2, ran.text
    assert "dragonfly.yml:4: railway: unknown key 'replicas'" in ran.err


def test_no_service_or_environment_to_act_on_is_bad_input(world: World):
    world.write_project("version: 1\nrailway:\n  project: dragonfly\n  environment: production\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 2 and "no Railway service: pass --service NAME, or list railway.services" in ran.err
    world.write_project("version: 1\nrailway:\n  project: dragonfly\n  services: [worker]\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 2 and "no Railway environment: pass --env NAME, or set railway.environment" in ran.err
    assert world.fake.mutations == []
