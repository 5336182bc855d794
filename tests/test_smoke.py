"""`dragonfly-ci smoke`: the reference project's critical path against a real database,
HTTP steps against a loopback PostgREST (tests/fakes/postgrest.py) over the same database.

The database URL carries a planted password and the API keys are planted JWTs:
no rendering of any result may contain them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.config import Project, load_project
from dragonfly_ci.errors import BadInput, CouldNotCheck
from dragonfly_ci.findings import GateResult, Severity
from dragonfly_ci.gates import smoke
from dragonfly_ci.report import FORMATS, render
from dragonfly_ci.targets import Target
from tests.fakes.postgrest import FakePostgrest, make_jwt, running

PASSWORD = "Planted-Db-Passw0rd-91c2"
JWT_SECRET = "planted-jwt-secret-that-is-32-chars-long"
ANON = make_jwt("anon", JWT_SECRET)
SERVICE = make_jwt("service_role", JWT_SECRET)
FORGED = make_jwt("service_role", "not-the-project-jwt-secret-0123456789")
PLANTED = (PASSWORD, JWT_SECRET, ANON, SERVICE, FORGED)

# The reference project's critical path, as its dragonfly.yml declares it.
REFERENCE_SMOKE = """\
smoke:
  timeout: 5
  steps:
    - name: queue a job
      role: service_role
      sql: select ops.queue_job('dragonfly-smoke', '{}'::jsonb, 0, now()) as job_id
      expect: {rows: 1}
    - name: claim it
      role: service_role
      sql: select count(*) from ops.claim_pending_job(array['dragonfly-smoke'], 1, 'dragonfly-smoke')
      expect: {value: 1}
    - name: complete it
      role: service_role
      sql: |
        select status from ops.update_job_status(
          (select id from ops.job_queue
           where job_type = 'dragonfly-smoke' and claimed_by = 'dragonfly-smoke'),
          'completed')
      expect: {value: completed}
    - name: register a heartbeat
      role: service_role
      sql: |
        select ops.register_heartbeat('dragonfly-smoke', 'smoke', 'ci', '0');
        select status from ops.worker_heartbeats where worker_id = 'dragonfly-smoke'
      expect: {value: online}
"""


@pytest.fixture
def api(reference_db: str) -> Iterator[FakePostgrest]:
    with running(reference_db, jwt_secret=JWT_SECRET) as fake:
        yield fake


def with_smoke(root: Path, section: str) -> Project:
    """The project file with `section` as its smoke: (replacing the one it ships with)."""
    config = root / "dragonfly.yml"
    text = config.read_text()
    if "\nsmoke:" in text:
        text = text[: text.index("\nsmoke:") + 1]
    config.write_text(text + section)
    return load_project(config)


def steps(body: str, **defaults: object) -> str:
    """A smoke section: `defaults` (timeout, retries, backoff) then the steps' YAML."""
    head = "".join(f"  {k}: {v}\n" for k, v in {"retries": 2, "backoff": 0, **defaults}.items())
    return "smoke:\n" + head + "  steps:\n" + "".join(f"    {line}\n" for line in body.splitlines())


def line_of(root: Path, text: str) -> int:
    lines = (root / "dragonfly.yml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def target(db: str, api: FakePostgrest | None = None, *, service_role_key: str = SERVICE) -> Target:
    return Target(f"{db} password={PASSWORD}", env="staging",
                  supabase_url=api.url if api else None, anon_key=ANON if api else None,
                  service_role_key=service_role_key if api else None)


def queue_state(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "select 'job', job_type, status, coalesce(claimed_by, '') from ops.job_queue "
            "union all select 'worker', worker_id, status, '' from ops.worker_heartbeats order by 1, 2"
        ).fetchall()


def only(result: GateResult) -> tuple[str, str, int | None]:
    assert len(result.findings) == 1, result.findings
    f = result.findings[0]
    return f.rule, f.message, f.location.line if f.location else None


def rendered(result: GateResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every rendering: text, json, github (log, step outputs, job summary)."""
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary"
    outputs.touch()  # the runner creates both before the step starts
    summary.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    texts = []
    for fmt in FORMATS:
        stream = StringIO()
        render(result, fmt, strict=False, stream=stream, color=False)
        texts.append(stream.getvalue())
    return "\n".join([*texts, outputs.read_text(), summary.read_text()])


# -- SQL steps ----------------------------------------------------------------


def test_reference_critical_path_passes_and_leaves_nothing_behind(project, reference_db):
    with psycopg.connect(reference_db) as conn:  # something that was there before must stay
        conn.execute("select ops.queue_job('nightly-report', '{}'::jsonb)")
    before = queue_state(reference_db)
    # The bundled dragonfly.yml, as shipped: its smoke: section is the reference path.
    shipped = load_project(project / "dragonfly.yml")
    assert len(shipped.smoke["steps"]) == 4
    result = smoke.run(shipped, target(reference_db))
    assert result.findings == [] and result.passed()
    assert result.facts["steps"] == "4 run, 4 passed"
    assert result.facts["step 2: claim it"].startswith("passed in ")
    assert queue_state(reference_db) == before == [("job", "nightly-report", "pending", "")]


def test_a_failing_expectation_is_an_error_at_its_step(project, reference_db):
    root_steps = steps("""\
- name: the queue is empty
  sql: select count(*) from ops.job_queue
  expect: {value: 0}
- name: one job is waiting
  sql: select count(*) from ops.job_queue where status = 'pending'
  expect: {value: 1}
- name: rows
  sql: select * from ops.job_queue
  expect: {rows: 2}""")
    result = smoke.run(with_smoke(project, root_steps), target(reference_db))
    assert not result.passed()
    by_step = {f.subject: f for f in result.findings}
    assert set(by_step) == {"one job is waiting", "rows"}
    waiting = by_step["one job is waiting"]
    assert waiting.rule == "smoke/step-failed" and waiting.severity is Severity.ERROR
    assert "expected value 1, got 0" in waiting.message
    assert waiting.location.file == "dragonfly.yml"
    assert waiting.location.line == line_of(project, "name: one job is waiting")
    assert "expected 2 rows, got 0" in by_step["rows"].message
    assert result.facts["steps"] == "3 run, 1 passed"


def test_a_sql_error_is_reported_at_its_step_and_the_next_steps_still_run(project, reference_db):
    section = steps("""\
- name: queue
  sql: select ops.queue_job('smoke', '{}'::jsonb)
- name: bad status
  sql: select * from ops.update_job_status((select id from ops.job_queue where job_type = 'smoke'), 'done')
- name: the queued job is still there
  sql: select count(*) from ops.job_queue where job_type = 'smoke'
  expect: {value: 1}""")
    result = smoke.run(with_smoke(project, section), target(reference_db))
    rule, message, line = only(result)
    assert rule == "smoke/step-failed" and line == line_of(project, "name: bad status")
    assert "SQL error 22023: unknown job status 'done'" in message
    assert result.findings[0].hint == "Use one of pending, running, completed, failed, cancelled."
    assert queue_state(reference_db) == []


def test_a_slow_statement_times_out(project, reference_db):
    section = steps("- name: slow\n  sql: select pg_sleep(5)\n  timeout: 0.2")
    rule, message, _ = only(smoke.run(with_smoke(project, section), target(reference_db)))
    assert rule == "smoke/step-failed" and "timed out after 0.2 s (statement_timeout)" in message


def test_a_step_runs_as_its_role(project, reference_db):
    section = steps("""\
- name: anon cannot queue
  role: anon
  sql: select ops.queue_job('smoke', '{}'::jsonb)""")
    _, message, _ = only(smoke.run(with_smoke(project, section), target(reference_db)))
    assert "SQL error 42501: permission denied for schema ops" in message


def test_no_steps_is_a_notice_after_connecting(project, reference_db):
    result = smoke.run(with_smoke(project, ""), target(reference_db))
    assert [f.rule for f in result.findings] == ["smoke/no-steps"] and result.passed()
    assert result.facts["steps"] == "0 run, 0 passed"


@pytest.mark.parametrize("section, message", [
    (steps("- name: s\n  sql: select 1\n  expect: {status: 200}"), "expect.status applies to http steps"),
    (steps("- name: s\n  sql: select 1; commit"), "must not end its transaction"),
    (steps("- name: s\n  http: {path: /rest/v1/}\n  role: anon"), "role applies to sql steps only"),
    (steps("- name: s\n  tcp: {host: localhost, port: 5432}\n  expect: {rows: 1}"), "expects only that"),
])
def test_what_the_schema_cannot_say_is_bad_input_at_the_step(project, reference_db, section, message):
    loaded = with_smoke(project, section)
    with pytest.raises(BadInput) as caught:
        smoke.run(loaded, target(reference_db))
    assert message in caught.value.message and caught.value.exit_code == 2
    assert caught.value.line is not None and caught.value.line >= line_of(project, "- name: s")


def test_a_step_with_two_kinds_is_rejected_by_the_schema(project):
    with pytest.raises(BadInput) as caught:
        with_smoke(project, steps("- name: s\n  sql: select 1\n  tcp: {host: h, port: 1}"))
    assert caught.value.line == line_of(project, "- name: s")


# -- unreachable database --------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable() -> Target:
    return Target(f"host=127.0.0.1 port={closed_port()} user=postgres dbname=postgres password={PASSWORD}",
                  env="prod", supabase_url="http://127.0.0.1:9", anon_key=ANON, service_role_key=SERVICE)


@pytest.mark.parametrize("section", ["", REFERENCE_SMOKE])
def test_an_unreachable_database_could_not_be_checked(project, section):
    with pytest.raises(CouldNotCheck) as caught:
        smoke.run(with_smoke(project, section), unreachable())
    assert caught.value.exit_code == 3
    assert "could not connect to the prod database" in str(caught.value)
    assert not any(secret in str(caught.value) for secret in PLANTED)


def test_a_connection_lost_mid_run_could_not_be_checked(project, reference_db):
    section = steps("- name: the server goes away\n  sql: select pg_terminate_backend(pg_backend_pid())")
    with pytest.raises(CouldNotCheck) as caught:
        smoke.run(with_smoke(project, section), target(reference_db))
    assert caught.value.exit_code == 3
    assert "lost the connection to the staging database during smoke step 'the server goes away'" in str(
        caught.value)
    assert PASSWORD not in str(caught.value)


def test_the_command_exits_3_when_the_database_is_unreachable(project, monkeypatch, capsys):
    with_smoke(project, REFERENCE_SMOKE)
    monkeypatch.chdir(project)
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{closed_port()}/postgres"
    assert main(["smoke", "--db-url", url, "--format", "json"]) == 3
    out, err = capsys.readouterr()
    assert not any(secret in out + err for secret in PLANTED)


# -- HTTP steps against PostgREST --------------------------------------------------


ROOT_STEP = """\
- name: PostgREST answers
  http: {path: /rest/v1/, key: anon}
  expect: {status: 200, contains: swagger}
"""
HEARTBEAT_STEP = """\
- name: heartbeat over PostgREST
  http:
    method: POST
    path: /rest/v1/rpc/register_heartbeat
    schema: ops
    key: service_role
    json: {p_worker_id: smoke-http, p_worker_type: smoke, p_hostname: ci, p_version: "0"}
  expect: {status: 204}
"""
CLAIM_STEP = """\
- name: nothing to claim
  http:
    method: POST
    path: /rest/v1/rpc/claim_pending_job
    schema: ops
    key: service_role
    json: {p_job_types: [nothing-queued], p_limit: 1, p_worker_id: smoke-http}
  expect: {rows: 0}
"""
RPC_STEPS = ROOT_STEP + HEARTBEAT_STEP + CLAIM_STEP


ENVIRONMENT = """\
environments:
  staging:
    db_url_env: STAGING_DATABASE_URL
    supabase: {url_env: STAGING_SUPABASE_URL, anon_key_env: STAGING_ANON_KEY,
               service_role_key_env: STAGING_SERVICE_ROLE_KEY}
"""


@pytest.mark.parametrize("service_role_key, exit_code", [(SERVICE, 0), (FORGED, 1)])
def test_the_command_takes_url_and_keys_from_the_environment(
        project, reference_db, api, monkeypatch, capsys, service_role_key, exit_code):
    with_smoke(project, ENVIRONMENT + steps(HEARTBEAT_STEP))
    monkeypatch.chdir(project)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for name, value in [("STAGING_DATABASE_URL", f"{reference_db} password={PASSWORD}"),
                        ("STAGING_SUPABASE_URL", api.url), ("STAGING_ANON_KEY", ANON),
                        ("STAGING_SERVICE_ROLE_KEY", service_role_key)]:
        monkeypatch.setenv(name, value)
    code = main(["smoke", "--env", "staging", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == exit_code, (out, err)
    assert json.loads(out)["facts"]["step 1: heartbeat over PostgREST"].startswith(
        "passed" if exit_code == 0 else "FAILED")
    assert api.requests[0].headers["apikey"] == service_role_key
    assert not any(secret in out + err for secret in PLANTED)


def test_http_steps_pass_against_postgrest(project, reference_db, api):
    result = smoke.run(with_smoke(project, steps(RPC_STEPS)), target(reference_db, api))
    assert result.findings == [], result.findings
    assert result.facts["Supabase URL"] == api.url
    root, heartbeat, claim = api.requests
    assert root.headers["apikey"] == ANON and root.headers["authorization"] == f"Bearer {ANON}"
    assert "accept-profile" not in root.headers  # public: no profile header
    assert heartbeat.headers["apikey"] == SERVICE and heartbeat.headers["content-profile"] == "ops"
    assert json.loads(heartbeat.body)["p_worker_id"] == "smoke-http"
    assert claim.path == "/rest/v1/rpc/claim_pending_job"
    # the fake really called the function, and PostgREST commits: the heartbeat is there
    assert ("worker", "smoke-http", "online", "") in queue_state(reference_db)


def test_a_read_of_another_schema_sends_accept_profile(project, reference_db, api):
    section = steps("- name: ops openapi\n  http: {path: /rest/v1/, schema: ops}\n"
                    "  expect: {contains: /rpc/claim_pending_job}")
    assert smoke.run(with_smoke(project, section), target(reference_db, api)).findings == []
    assert api.requests[0].headers["accept-profile"] == "ops"


def test_a_wrong_key_shows_postgrests_401_and_never_the_key(project, reference_db, api):
    section = steps(ROOT_STEP + HEARTBEAT_STEP)
    result = smoke.run(with_smoke(project, section), target(reference_db, api, service_role_key=FORGED))
    rule, message, line = only(result)
    assert rule == "smoke/step-failed" and line == line_of(project, "name: heartbeat over PostgREST")
    assert "expected status 204, got 401: PGRST301 JWSError JWSInvalidSignature" in message
    assert FORGED not in message and FORGED not in result.findings[0].hint
    assert len(api.requests) == 2  # a 4xx is not retried


def test_postgrest_error_shapes_are_shown(project, reference_db, api):
    section = steps("""\
- name: anon cannot call ops
  http: {method: POST, path: /rest/v1/rpc/register_heartbeat, schema: ops, key: anon,
         json: {p_worker_id: a, p_worker_type: b, p_hostname: c, p_version: d}}
- name: unknown function
  http: {method: POST, path: /rest/v1/rpc/no_such_function, schema: ops, key: service_role, json: {}}
- name: job does not exist
  http: {method: POST, path: /rest/v1/rpc/update_job_status, schema: ops, key: service_role,
         json: {p_job_id: 00000000-0000-0000-0000-000000000000, p_status: completed}}
- name: unexposed schema
  http: {method: POST, path: /rest/v1/rpc/anything, schema: auth, key: service_role, json: {}}""")
    result = smoke.run(with_smoke(project, section), target(reference_db, api))
    messages = {f.subject: f.message for f in result.findings}
    assert "got 401: 42501 permission denied for schema ops" in messages["anon cannot call ops"]
    assert ("got 404: PGRST202 Could not find the function ops.no_such_function() in the schema cache"
            in messages["unknown function"])
    assert "got 404: PT404 job 00000000-0000-0000-0000-000000000000 does not exist" in messages[
        "job does not exist"]
    assert "got 406: PGRST106 The schema must be one of the following: public, ops" in messages[
        "unexposed schema"]
    assert len(api.requests) == 4


# -- retries and timeouts -----------------------------------------------------------

PING = "- name: ping\n  http: {path: /rest/v1/, key: anon}\n  expect: {status: 200}"


def test_two_503s_then_success_passes_on_the_third_attempt(project, reference_db, api):
    api.answer_status(2, 503)
    result = smoke.run(with_smoke(project, steps(PING)), target(reference_db, api))
    assert result.findings == [] and len(api.requests) == 3
    assert result.facts["step 1: ping"].endswith(", 3 attempts")


def test_503s_beyond_the_retries_fail(project, reference_db, api):
    api.answer_status(5, 503)
    rule, message, _ = only(smoke.run(with_smoke(project, steps(PING, retries=1)), target(reference_db, api)))
    assert "expected status 200, got 503: PGRST001" in message and "(after 2 attempts)" in message
    assert len(api.requests) == 2


def test_a_4xx_is_never_retried(project, reference_db, api):
    api.answer_status(3, 400)
    rule, message, _ = only(smoke.run(with_smoke(project, steps(PING)), target(reference_db, api)))
    assert "got 400" in message and len(api.requests) == 1


def test_a_timeout_fails_after_the_bounded_retries(project, reference_db, api):
    api.slow(3)
    section = steps(PING + "\n  timeout: 0.2\n  retries: 2")
    rule, message, _ = only(smoke.run(with_smoke(project, section), target(reference_db, api)))
    assert rule == "smoke/step-failed"
    assert "got no answer: timed out after 0.2 s (after 3 attempts)" in message
    assert len(api.requests) == 3


def test_the_backoff_doubles_between_attempts(project, reference_db, api):
    from dragonfly_ci.smoke.probes import Endpoint, run_probe
    from dragonfly_ci.smoke.steps import parse_steps

    api.answer_status(5, 502)
    (step,) = parse_steps(with_smoke(project, steps(PING, retries=3, backoff=0.25)))
    slept: list[float] = []
    outcome = run_probe(step, Endpoint(api.url, {"anon": ANON}), sleep=slept.append)
    assert not outcome.passed and outcome.attempts == 4 and slept == [0.25, 0.5, 1.0]


def test_dropped_connections_are_retried_then_fail(project, reference_db, api):
    api.drop(10)
    rule, message, _ = only(smoke.run(with_smoke(project, steps(PING, retries=1)), target(reference_db, api)))
    assert "the connection failed" in message and "(after 2 attempts)" in message
    assert len(api.requests) == 2


def test_redirects_are_not_followed(project, reference_db, api):
    section = steps("- name: moved\n  http: {path: /moved, key: service_role}")
    _, message, _ = only(smoke.run(with_smoke(project, section), target(reference_db, api)))
    assert "expected a 2xx status, got 302" in message
    assert api.paths() == ["/moved"]  # the key went nowhere else


# -- soft steps, absolute URLs, TCP probes ---------------------------------------------


def test_soft_failures_are_warnings_and_the_gate_passes(project, reference_db, api):
    section = steps(f"""\
- name: pooler reachable
  tcp: {{host: 127.0.0.1, port: {closed_port()}}}
  soft: true
  timeout: 0.5
- name: realtime reachable
  http: {{path: /realtime/v1/, key: anon}}
  soft: true
- name: ping
  http: {{path: /rest/v1/}}""", retries=0)
    result = smoke.run(with_smoke(project, section), target(reference_db, api))
    assert sorted(f.rule for f in result.findings) == ["smoke/soft-step-failed"] * 2
    assert all(f.severity is Severity.WARNING for f in result.findings)
    assert result.passed() and not result.passed(strict=True)
    assert result.facts["steps"] == "3 run, 1 passed, 2 soft failures"
    assert result.facts["step 1: pooler reachable"].startswith("failed (soft)")


def test_a_tcp_probe_and_a_health_url_from_variables(project, reference_db, api, monkeypatch):
    monkeypatch.setenv("POOLER_HOST", "127.0.0.1")
    monkeypatch.setenv("HEALTH_URL", f"{api.url}/live")
    section = steps(f"""\
- name: pooler reachable
  tcp: {{host_env: POOLER_HOST, port: {api.port}}}
- name: healthy
  http: {{url_env: HEALTH_URL}}""")
    result = smoke.run(with_smoke(project, section), target(reference_db, api))
    assert result.findings == []
    assert api.paths() == ["/live"] and "apikey" not in api.requests[0].headers  # key: none for a URL


def test_missing_api_configuration_fails_the_step_without_sending(project, reference_db, monkeypatch):
    monkeypatch.delenv("HEALTH_URL", raising=False)
    section = steps("- name: rpc\n  http: {path: /rest/v1/}\n- name: health\n  http: {url_env: HEALTH_URL}"
                    "\n  soft: true")
    result = smoke.run(with_smoke(project, section), target(reference_db))  # no Supabase URL
    found = {f.subject: (f.rule, f.message) for f in result.findings}
    assert found["rpc"] == ("smoke/step-failed",
                            "smoke step 1 (http) 'rpc': not run: the environment has no Supabase URL")
    assert found["health"] == ("smoke/soft-step-failed",
                               "smoke step 2 (http) 'health': not run: $HEALTH_URL is not set")


def test_rules_can_regrade_smoke_findings(project, reference_db):
    section = steps("- name: fails\n  sql: select 1\n  expect: {value: 2}")
    section += "rules:\n  smoke/step-failed: warning\n"
    result = smoke.run(with_smoke(project, section), target(reference_db))
    assert [f.severity for f in result.findings] == [Severity.WARNING] and result.passed()


# -- secrets -------------------------------------------------------------------------


def test_no_rendering_contains_a_planted_password_or_key(project, reference_db, api, tmp_path, monkeypatch):
    api.echo_keys_in_errors = True  # a careless server puts the rejected key in its error
    section = steps(RPC_STEPS + f"""\
- name: bad sql
  sql: select * from no_such_table
- name: says the password back
  sql: select '{PASSWORD}' as echoed
  expect: {{value: something else}}
- name: pooler
  tcp: {{host: 127.0.0.1, port: {closed_port()}}}
  soft: true""", retries=0)
    result = smoke.run(with_smoke(project, section), target(reference_db, api, service_role_key=FORGED))
    assert {f.subject for f in result.findings} == {
        "heartbeat over PostgREST", "nothing to claim", "bad sql", "says the password back", "pooler"}
    text = rendered(result, tmp_path, monkeypatch)
    assert "JWSInvalidSignature" in text and "no_such_table" in text and "rejected token ***" in text
    assert "password=***" in text  # the database, shown without its password
    for secret in PLANTED:
        assert secret not in text
