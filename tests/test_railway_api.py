"""Railway's API: every document against the real schema, tokens, retries, errors that name
what is missing, and no token in any output. Against the loopback Railway
(tests/fakes/railway.py)."""

from __future__ import annotations

import time

import pytest
from graphql import parse, validate

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.railway import documents
from dragonfly_ci.railway.client import Client, Token
from dragonfly_ci.railway.replicas import Replicas, change_to, restore_to
from tests.fakes.railway import FakeRailway, Step, railway_schema
from tests.railway_world import ACCOUNT_TOKEN, EU, PROJECT_TOKEN, STAGING_TOKEN, World, assert_no_token

# -- the documents and the fake's honesty ----------------------------------------------


@pytest.mark.parametrize("name", sorted(documents.ALL))
def test_every_document_validates_against_railways_schema(name):
    assert validate(railway_schema(), parse(documents.ALL[name])) == []


def test_the_fake_refuses_and_records_what_does_not_validate(railway: FakeRailway):
    railway.account_tokens.add(ACCOUNT_TOKEN)
    client = Client(Token(ACCOUNT_TOKEN, "RAILWAY_API_TOKEN"), railway.url, retries=0)
    with pytest.raises(CouldNotCheck, match="Cannot query field 'replicas' on type 'ServiceInstance'"):
        client.query("query { serviceInstance(serviceId: \"s\", environmentId: \"e\") { replicas } }",
                     doing="asking for a field Railway does not have")
    with pytest.raises(CouldNotCheck, match="unknown field 'numReplica'"):
        client.query(documents.SERVICE_INSTANCE_UPDATE,
                     {"serviceId": "s", "environmentId": "e", "input": {"numReplica": 0}}, doing="a typo")
    (first, why_first), (second, why_second) = railway.invalid
    assert "{ replicas }" in first and "Cannot query field 'replicas'" in why_first[0]
    assert second == documents.SERVICE_INSTANCE_UPDATE and "'numReplica'" in why_second[0]
    railway.invalid.clear()  # recorded as it should be; the fixture fails a test that leaves any


# -- tokens -------------------------------------------------------------------------------


def test_a_project_token_names_its_project_and_environment(world: World):
    world.use_token("RAILWAY_TOKEN", PROJECT_TOKEN)
    world.write_project("version: 1\nrailway:\n  services: [worker]\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert "project dragonfly, environment production" in ran.out
    assert world.fake.requests[0].headers["project-access-token"] == PROJECT_TOKEN
    assert "authorization" not in world.fake.requests[0].headers
    assert world.cli("restore").code == 0


def test_an_account_token_is_sent_as_a_bearer_token(world: World):
    assert world.cli("redeploy", "--service", "worker").code == 0
    assert {r.headers["authorization"] for r in world.fake.requests} == {f"Bearer {ACCOUNT_TOKEN}"}
    assert all("project-access-token" not in r.headers for r in world.fake.requests)


def test_both_tokens_set_or_none_is_bad_input(world: World):
    world.monkeypatch.setenv("RAILWAY_TOKEN", PROJECT_TOKEN)
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 2 and "both RAILWAY_TOKEN and RAILWAY_API_TOKEN are set" in ran.err
    world.use_token(None)
    world.monkeypatch.setenv("RAILWAY_TOKEN", "  ")
    ran = world.cli("restore", "--state", "")
    assert ran.code == 2 and "no Railway token" in ran.err
    assert world.fake.requests == []


@pytest.mark.parametrize("variable, token, hint", [
    ("RAILWAY_TOKEN", ACCOUNT_TOKEN, "an account or workspace token belongs in RAILWAY_API_TOKEN"),
    ("RAILWAY_API_TOKEN", PROJECT_TOKEN, "a project token belongs in RAILWAY_TOKEN"),
])
def test_a_token_of_the_wrong_type_is_named_with_the_fix(world: World, variable, token, hint):
    world.use_token(variable, token)
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert f"Railway did not authorize the token in ${variable}" in ran.err
    assert hint in ran.err
    assert world.fake.mutations == []


def test_a_project_token_of_another_environment_is_named(world: World):
    world.use_token("RAILWAY_TOKEN", STAGING_TOKEN)
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert "RAILWAY_TOKEN is a project token of environment 'staging', not 'production'" in ran.err


@pytest.mark.parametrize("status, words", [(401, "Railway refused the token"),
                                           (403, "Railway has no access for the token")])
def test_401_and_403_exit_3_naming_the_token_variable(world: World, status, words):
    world.fake.answer(1, status)
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert f"{words} in $RAILWAY_API_TOKEN (an account or workspace token, sent as a bearer token) " \
           f"while looking up Railway project 'dragonfly' (HTTP {status})" in ran.err
    assert len(world.fake.requests) == 1  # a refusal is not retried


# -- names that do not resolve ---------------------------------------------------------------


@pytest.mark.parametrize("section, words", [
    ("  project: dragonfIy-typo\n  environment: production\n",
     "Railway project 'dragonfIy-typo' not found (known: dragonfly)"),
    ("  project: 3f1b2c4d-0000-4000-8000-000000000000\n  environment: production\n",
     "Railway project '3f1b2c4d-0000-4000-8000-000000000000' not found"),
    ("  project: dragonfly\n  environment: prod-typo\n",
     "Railway environment 'prod-typo' not found in project 'dragonfly' (known: production, staging)"),
])
def test_a_missing_project_or_environment_is_named(world: World, section, words):
    world.write_project(f"version: 1\nrailway:\n{section}  services: [worker]\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert words in ran.err
    assert world.fake.mutations == []


def test_a_missing_service_is_named(world: World):
    ran = world.cli("scale", "--service", "wroker", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert ("Railway service 'wroker' not found in project 'dragonfly' (known: scheduler, web, worker)"
            in ran.err)
    ran = world.cli("watch", "--service", "web", "--minutes", "0.01")
    assert ran.code == 3, ran.text
    assert "Railway service 'web' has no instance in environment 'production'" in ran.err


def test_services_and_environments_can_be_given_by_id(world: World):
    ids = world.project
    world.write_project(f"version: 1\nrailway:\n  project: {ids['id']}\n"
                        f"  environment: {ids['environments']['staging']}\n"
                        f"  services: [{ids['services']['worker']}]\n")
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert world.replicas("worker", "staging") == {"us-west2": 0}
    assert operations(world)[0] == "Project"  # an id needs no lookup


def test_names_are_resolved_once_per_run(world: World):
    assert world.cli("scale", "--replicas", "0").code == 0
    sent = operations(world)
    assert sent.count("Projects") == 1 and sent.count("Project") == 1
    assert sent.count("ServiceInstance") == 2


# -- retries and slow answers ---------------------------------------------------------------


def test_429_is_retried_after_what_retry_after_says(world: World):
    world.fake.answer(1, 429, {"Retry-After": "1"})
    started = time.monotonic()
    ran = world.cli("scale", "--service", "worker", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert time.monotonic() - started >= 1.0
    assert world.replicas("worker") == {"us-west2": 0}


def test_a_retry_after_beyond_reason_fails_at_once(world: World):
    world.fake.answer(1, 429, {"Retry-After": "3600"})
    ran = world.cli("scale", "--replicas", "0")
    assert ran.code == 3, ran.text
    assert "rate limit was reached while looking up Railway project 'dragonfly': it asks to retry after " \
           "3600 s" in ran.err
    assert "hourly request limit" in ran.err


def operations(world: World) -> list[str]:
    return [r.document.split("(")[0].split("{")[0].split()[1] for r in world.fake.requests]


def test_500_is_retried_with_backoff(world: World):
    world.fake.answer(2, 500)
    ran = world.cli("scale", "--service", "worker", "--replicas", "0")
    assert ran.code == 0, ran.text
    assert operations(world) == ["Projects"] * 3 + ["Project", "ServiceInstance", "ServiceInstanceUpdate",
                                                    "DeploymentRedeploy"]


def test_an_api_that_keeps_failing_is_could_not_check(railway: FakeRailway):
    railway.account_tokens.add(ACCOUNT_TOKEN)
    railway.answer(10, 503)
    waits: list[float] = []
    client = Client(Token(ACCOUNT_TOKEN, "RAILWAY_API_TOKEN"), railway.url, retries=3, backoff=0.5,
                    sleep=waits.append)
    with pytest.raises(CouldNotCheck, match=r"did not answer while testing: HTTP 503: fault 503 \(after 4 "
                       r"attempts\)"):
        client.query(documents.PROJECTS, doing="testing")
    assert waits == [0.5, 1.0, 2.0]


def test_a_slow_answer_is_retried(world: World):
    world.fake.slow(0.5, times=2)
    ran = world.cli("scale", "--service", "worker", "--replicas", "0", "--api-timeout", "0.2")
    assert ran.code == 0, ran.text
    assert operations(world)[:3] == ["Projects"] * 3
    assert world.replicas("worker") == {"us-west2": 0}


def test_an_api_too_slow_to_answer_is_could_not_check(railway: FakeRailway):
    railway.account_tokens.add(ACCOUNT_TOKEN)
    railway.slow(0.5)
    client = Client(Token(ACCOUNT_TOKEN, "RAILWAY_API_TOKEN"), railway.url, timeout=0.1, retries=2,
                    backoff=0.01)
    with pytest.raises(CouldNotCheck, match=r"no answer within 0.1 s \(after 3 attempts\)"):
        client.query(documents.PROJECTS, doing="testing")


def test_a_slow_api_within_the_timeout_is_fine(world: World):
    world.fake.slow(0.05)
    assert world.cli("scale", "--service", "worker", "--replicas", "0").code == 0
    assert world.replicas("worker") == {"us-west2": 0}


# -- no token in any output -------------------------------------------------------------------


def test_no_output_contains_the_token(world: World):
    world.fake.echo_token_in_errors = True  # a careless API that says the token back in errors
    world.fake.refused.add("serviceInstanceUpdate")
    ran = world.cli("scale", "--replicas", "0", github=True)  # World.cli checks every output
    assert ran.code == 3, ran.text
    assert ran.out.splitlines()[0] == f"::add-mask::{ACCOUNT_TOKEN}"  # before anything else
    assert "Not Authorized (token ***)" in ran.err
    assert ran.outputs["state"]  # the step outputs were written, and checked too

    # A worker that prints its environment: its log lines reach the report scrubbed.
    world.fake.refused.clear()
    world.fake.redeploy_plan = [Step("CRASHED", logs=[f"RAILWAY_API_TOKEN={ACCOUNT_TOKEN}", "exit 1"])]
    for fmt in ("text", "json"):
        ran = world.cli("redeploy", "--service", "worker", "--wait", "--poll-seconds", "0.05",
                        "--format", fmt)
        assert ran.code == 1 and "RAILWAY_API_TOKEN=***" in ran.out, ran.text
    ran = world.cli("redeploy", "--service", "worker", "--wait", "--poll-seconds", "0.05", github=True)
    assert ran.code == 1 and "RAILWAY_API_TOKEN=***" in ran.summary, ran.text

    world.use_token("RAILWAY_TOKEN", ACCOUNT_TOKEN)  # the wrong type, said back by the API
    ran = world.cli("restore", "--state", world.state_file().read_text(), "--format", "json")
    assert ran.code == 3 and "(token ***)" in ran.out, ran.text


def test_no_error_text_contains_the_token(railway: FakeRailway):
    railway.echo_token_in_errors = True
    for token, variable in ((ACCOUNT_TOKEN, "RAILWAY_API_TOKEN"), (PROJECT_TOKEN, "RAILWAY_TOKEN")):
        client = Client(Token(token, variable), railway.url, retries=0)
        with pytest.raises(CouldNotCheck) as caught:
            client.query(documents.PROJECT, {"id": "nope"}, doing="reading a project")
        assert "Not Authorized (token ***)" in str(caught.value)
        assert_no_token(str(caught.value), repr(caught.value), caught.value.hint)
        assert token not in repr(client.token)


# -- replicas arithmetic ------------------------------------------------------------------------


def test_replicas_changes_are_exact():
    single = Replicas(3, "us-west2")
    assert change_to(single, 0, {}) == ({"numReplicas": 0}, Replicas(0, "us-west2"))
    assert change_to(single, 3, {}) is None
    multi = Replicas(3, "us-west2", {"us-west2": 2, EU: 1})
    assert change_to(multi, 2, {EU: 0}) == (
        {"multiRegionConfig": {"us-west2": {"numReplicas": 2}, EU: None}},
        Replicas(2, "us-west2", {"us-west2": 2}))
    frozen = Replicas(0, "us-west2", {})
    assert restore_to(frozen, multi) == (
        {"multiRegionConfig": {EU: {"numReplicas": 1}, "us-west2": {"numReplicas": 2}}}, multi)
    assert restore_to(multi, multi) is None
    # A region added after the freeze is taken out again: exactly what was recorded.
    grown = Replicas(4, "us-west2", {"us-west2": 2, EU: 1, "asia-southeast1": 1})
    assert restore_to(grown, multi)[0]["multiRegionConfig"]["asia-southeast1"] is None
    assert Replicas.from_json(multi.to_json()) == multi
