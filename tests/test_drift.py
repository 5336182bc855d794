"""Schema drift end to end: production is a second real database.

`reference_db` is built from the reference migrations on the Supabase
bootstrap, as production would be; each test then makes one change the
runbook forbids by hand (or adds a migration production lacks) and checks the
gate reports exactly that, with its rule id and the migration line behind it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from dragonfly_ci.checks.drift import DEFAULT_IGNORED, compare
from dragonfly_ci.cli import main
from dragonfly_ci.config import load_project
from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.findings import Finding, GateResult, Location, Severity
from dragonfly_ci.gates import drift
from dragonfly_ci.postgres.catalog import Extension, Snapshot, take_snapshot
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.server import EmbeddedServer
from dragonfly_ci.targets import Target
from tests.conftest import add_migration

MIGRATIONS = "supabase/migrations"
SCHEMA_FILE = f"{MIGRATIONS}/20250101093000_create_ops_schema.sql"
RPCS_FILE = f"{MIGRATIONS}/20250108141500_add_job_queue_rpcs.sql"
PRIORITY_FILE = f"{MIGRATIONS}/20250305163000_claim_jobs_by_priority.sql"
QUEUE_JOB = "ops.queue_job(text, jsonb, integer, timestamptz)"
LIVE = "the database"  # how messages name a target given without an environment


@pytest.fixture(autouse=True)
def _embedded_shadow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAGONFLY_SHADOW_URL", raising=False)


def run_gate(root: Path, conninfo: str, **options) -> GateResult:
    return drift.run(load_project(root / "dragonfly.yml"), Target(url=conninfo), **options)


def execute(conninfo: str, *statements: str) -> None:
    """Change "production" by hand, as the runbook forbids."""
    with connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def line_of(root: Path, file: str, text: str) -> int:
    """The 1-based line of `file` that starts with `text`: where a finding must point."""
    lines = (root / file).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(text))


def only(result: GateResult) -> Finding:
    assert len(result.findings) == 1, [(f.rule, f.message) for f in result.findings]
    return result.findings[0]


def at(finding: Finding) -> tuple[str, int | None] | None:
    return (finding.location.file, finding.location.line) if finding.location else None


# --- a clean database ----------------------------------------------------------


@pytest.mark.parametrize("form", ["conninfo", "url"])
def test_clean_database_reports_nothing(project: Path, reference_db: str, pg_server: EmbeddedServer,
                                        form: str) -> None:
    dbname = conninfo_to_dict(reference_db)["dbname"]
    target = reference_db if form == "conninfo" else pg_server.url(dbname)
    result = run_gate(project, target)
    assert result.findings == []
    assert result.passed(strict=True)
    assert result.gate == "schema-consistency"
    facts = result.facts
    assert facts["migrations applied"] == "5 of 5"
    assert facts["compared"] == ("2 schemas, 5 functions, 4 relations, 4 indexes, 24 constraints, "
                                 "1 trigger, 1 publication, 38 columns")
    assert "auth" in facts["ignored schemas"].split(", ")
    assert facts["server versions"] == (
        f"{LIVE} PostgreSQL {pg_server.version}, shadow PostgreSQL {pg_server.version}")


# --- what the runbook forbids, done by hand --------------------------------------


def test_manual_column_is_not_in_migrations(project: Path, reference_db: str) -> None:
    execute(reference_db, "alter table ops.job_queue add column note text")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-not-in-migrations"
    assert found.severity is Severity.ERROR
    assert found.location is None  # no migration creates it: nothing to point at
    assert found.subject == "ops.job_queue.note"
    assert "column ops.job_queue.note exists in the database" in found.message
    assert "migration" in found.hint


def test_manual_function_is_not_in_migrations(project: Path, reference_db: str) -> None:
    execute(reference_db, "create function ops.manual() returns integer language sql as 'select 1'")
    found = only(run_gate(project, reference_db))
    assert (found.rule, found.location, found.subject) == (
        "drift/object-not-in-migrations", None, "ops.manual()")
    assert "function ops.manual()" in found.message


def test_changed_policy_differs_at_its_migration(project: Path, reference_db: str) -> None:
    policy = ("create policy online_only on ops.worker_heartbeats\n"
              "  for select to service_role using (status = 'online');\n")
    add_migration(project, "20250401000000_heartbeat_policy", "-- Only live workers.\n" + policy)
    execute(reference_db, policy)  # production applied it...
    clean = run_gate(project, reference_db)
    assert clean.findings == []
    # ...then someone widened it from the SQL editor.
    execute(reference_db, "alter policy online_only on ops.worker_heartbeats using (true)")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-differs"
    assert at(found) == (f"{MIGRATIONS}/20250401000000_heartbeat_policy.sql", 2)
    assert found.subject == "ops.worker_heartbeats.online_only"
    assert "USING expression true in the database" in found.message
    assert "status = 'online'" in found.message


def test_revoked_grant_points_at_the_grant(project: Path, reference_db: str) -> None:
    execute(reference_db, f"revoke execute on function {QUEUE_JOB} from service_role")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/grant-differs"
    assert at(found) == (RPCS_FILE, line_of(project, RPCS_FILE, "grant execute on function"))
    assert "service_role lacks EXECUTE in the database (the migrations grant it)" in found.message


def test_extra_grant_is_reported(project: Path, reference_db: str) -> None:
    execute(reference_db, "grant insert on table ops.job_queue to anon")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/grant-differs"
    assert "anon holds INSERT in the database (the migrations do not grant it)" in found.message
    # The last grant on the table in the migrations.
    assert at(found) == (SCHEMA_FILE, line_of(project, SCHEMA_FILE, "grant select on table ops.job_queue"))


def test_changed_comment_is_a_warning(project: Path, reference_db: str) -> None:
    execute(reference_db,
            "comment on function ops.claim_pending_job(text[], integer, text) is 'claims jobs'")
    result = run_gate(project, reference_db)
    found = only(result)
    assert (found.rule, found.severity) == ("drift/comment-differs", Severity.WARNING)
    assert at(found) == (RPCS_FILE, line_of(project, RPCS_FILE, "comment on function ops.claim_pending_job"))
    assert "comment 'claims jobs' in the database, 'Claim up to p_limit" in found.message
    assert result.passed() and not result.passed(strict=True)


def test_changed_function_body_points_at_last_replace(project: Path, reference_db: str) -> None:
    execute(reference_db, """
        create or replace function ops.claim_pending_job(p_job_types text[], p_limit integer,
                                                         p_worker_id text)
        returns setof ops.job_queue language plpgsql security definer set search_path = ''
        as $$
        begin
          return query select * from ops.job_queue limit p_limit;
        end;
        $$""")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-differs"
    assert at(found) == (PRIORITY_FILE, line_of(project, PRIORITY_FILE, "create or replace function"))
    assert found.subject == "ops.claim_pending_job(text[], integer, text)"
    # The first line that differs beyond indentation, not the whole body.
    assert "body differs at its line 3: 'return query select * from ops.job_queue limit p_limit;' " \
        "in the database, 'if p_job_types is null or cardinality(p_job_types) = 0 then' in the " \
        "migrations" in found.message


def test_changed_signature_is_one_finding(project: Path, reference_db: str) -> None:
    execute(reference_db,
            "drop function ops.register_heartbeat(text, text, text, text)",
            "create function ops.register_heartbeat(p_worker_id text, p_worker_type text) returns void"
            " language sql security definer set search_path = '' as 'select'")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-differs"
    assert "arguments (text, text) in the database, (text, text, text, text) in the migrations" \
        in found.message
    assert at(found) == (RPCS_FILE, line_of(project, RPCS_FILE, "create function ops.register_heartbeat"))


def test_dropped_index_is_missing(project: Path, reference_db: str) -> None:
    execute(reference_db, "drop index ops.job_queue_pending_priority_idx")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-missing"
    created = line_of(project, PRIORITY_FILE, "create index job_queue_pending_priority")
    assert at(found) == (PRIORITY_FILE, created)
    assert found.subject == "ops.job_queue_pending_priority_idx"
    assert "migrate" in found.hint


def test_changed_column_default(project: Path, reference_db: str) -> None:
    execute(reference_db, "alter table ops.job_queue alter column priority set default 5")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-differs"
    assert found.message == ("column ops.job_queue.priority: default 5 in the database, "
                             "0 in the migrations")
    assert at(found) == (SCHEMA_FILE, line_of(project, SCHEMA_FILE, "create table ops.job_queue"))


def test_changed_nullability_and_type(project: Path, reference_db: str) -> None:
    execute(reference_db, "alter table ops.job_queue alter column claimed_by set not null",
            "alter table ops.job_queue alter column attempts type bigint")
    findings = run_gate(project, reference_db).findings
    assert {f.rule for f in findings} == {"drift/object-differs"}
    messages = " | ".join(f.message for f in findings)
    assert "column ops.job_queue.attempts: type bigint in the database, integer in the migrations" in messages
    assert "column ops.job_queue.claimed_by: nullability not null in the database, nullable" in messages
    assert len(findings) == 2  # not also PostgreSQL 18's NOT NULL constraint row


def test_object_production_lacks_is_missing(project: Path, reference_db: str) -> None:
    add_migration(project, "20250401000000_job_archive",
                  "-- Finished jobs move here.\ncreate table ops.job_archive (id uuid primary key);\n")
    found = only(run_gate(project, reference_db))  # the table, not also its column and key
    assert found.rule == "drift/object-missing"
    assert at(found) == (f"{MIGRATIONS}/20250401000000_job_archive.sql", 2)
    assert "table ops.job_archive is created by the migrations but does not exist" in found.message


def test_failed_migration_stops_the_comparison(project: Path, reference_db: str) -> None:
    add_migration(project, "20250401000000_broken", "create table ops.nope (id no_such_type);\n")
    execute(reference_db, "alter table ops.job_queue add column note text")
    result = run_gate(project, reference_db)
    assert [f.rule for f in result.findings] == ["migration/apply-failed"]
    assert not result.passed()


# --- the ignore list -----------------------------------------------------------------


def test_platform_schemas_are_ignored_unless_told(project: Path, reference_db: str) -> None:
    execute(reference_db, "alter table auth.users add column note text")
    assert run_gate(project, reference_db).findings == []
    without_auth = tuple(s for s in DEFAULT_IGNORED if s != "auth")
    found = only(run_gate(project, reference_db, ignore_schemas=without_auth))
    assert (found.rule, found.subject) == ("drift/object-not-in-migrations", "auth.users.note")


def test_ignore_patterns(project: Path, reference_db: str) -> None:
    execute(reference_db, "create schema supabase_extra",
            "create table supabase_extra.t (id int)", "create schema scratch")
    found = only(run_gate(project, reference_db))
    assert (found.rule, found.subject) == ("drift/object-not-in-migrations", "scratch")
    assert run_gate(project, reference_db, ignore_schemas=(*DEFAULT_IGNORED, "scr*")).findings == []


# --- could not check --------------------------------------------------------------------


def test_unreachable_target_could_not_check(project: Path) -> None:
    with pytest.raises(CouldNotCheck) as caught:
        run_gate(project, "postgresql://postgres:planted-s3cret@127.0.0.1:1/postgres")
    assert caught.value.exit_code == 3
    assert "planted-s3cret" not in str(caught.value)
    assert "could not connect" in str(caught.value)


def cli(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


def test_cli_exit_codes(project: Path, reference_db: str, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(project, "drift", "--db-url", reference_db, "--format", "json",
                    monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, out
    assert json.loads(out)["gate"] == "schema-consistency"
    execute(reference_db, "create function ops.manual() returns integer language sql as 'select 1'")
    code, out = cli(project, "schema-consistency", "--db-url", reference_db,
                    monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert "drift/object-not-in-migrations" in out and "ops.manual()" in out
    code, out = cli(project, "drift", "--db-url", "postgresql://postgres:planted-s3cret@127.0.0.1:1/x",
                    monkeypatch=monkeypatch, capsys=capsys)
    assert code == 3
    assert "planted-s3cret" not in out


# --- what legitimately differs: pure comparisons of Snapshots ----------------------------


@pytest.fixture
def snapshot(reference_db: str) -> Snapshot:
    with connect(reference_db) as conn:
        return take_snapshot(conn)


def test_not_null_rows_one_side_lacks_are_not_reported(snapshot: Snapshot) -> None:
    """PostgreSQL 18 lists NOT NULL constraints in pg_constraint; 17 does not."""
    not_null = {k for k, c in snapshot.constraints.items() if c.type == "not null"}
    assert not_null, "the reference schema has NOT NULL columns"
    pg17 = replace(snapshot, server_version="17.6",
                   constraints={k: c for k, c in snapshot.constraints.items() if k not in not_null})
    assert compare(snapshot, pg17, None) == []
    assert compare(pg17, snapshot, None) == []
    # Both sides have the row: then it is compared like any constraint.
    key = "ops.job_queue.job_queue_job_type_not_null"
    renamed = replace(snapshot.constraints[key], definition="NOT NULL other NOT VALID")
    changed = replace(snapshot, constraints={**snapshot.constraints, key: renamed})
    assert [(f.rule, f.subject) for f in compare(snapshot, changed, None)] == [
        ("drift/object-differs", key)]


def test_maintain_is_compared_only_when_both_servers_have_it(snapshot: Snapshot) -> None:
    def without_maintain(s: Snapshot, version: str) -> Snapshot:
        relations = {k: replace(r, privileges=tuple(p for p in r.privileges if p[1] != "MAINTAIN"))
                     for k, r in s.relations.items()}
        return replace(s, server_version=version, relations=relations)

    assert any(p[1] == "MAINTAIN" for r in snapshot.relations.values() for p in r.privileges)
    assert compare(snapshot, without_maintain(snapshot, "16.4"), None) == []
    findings = compare(snapshot, without_maintain(snapshot, snapshot.server_version), None)
    assert findings and {f.rule for f in findings} == {"drift/grant-differs"}
    assert "lacks MAINTAIN" in findings[0].message


def test_database_owner_alias(snapshot: Snapshot) -> None:
    renamed = Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict()).replace('"postgres"', '"admin"')))
    assert {f.rule for f in compare(snapshot, renamed, None)} >= {"drift/object-differs"}
    assert compare(snapshot, renamed, None, role_aliases={"postgres": "admin"}) == []


def test_extension_versions(snapshot: Snapshot) -> None:
    def with_extensions(s: Snapshot, *extensions: Extension) -> Snapshot:
        return replace(s, extensions={**s.extensions, **{e.name: e for e in extensions}})

    expected = with_extensions(snapshot, Extension("vector", "0.7.0", "public"),
                               Extension("pg_stat_statements", "1.10", "extensions"))
    actual = with_extensions(snapshot, Extension("vector", "0.8.0", "public"),
                             Extension("pg_stat_statements", "1.11", "extensions"),
                             Extension("pg_graphql", "1.5.11", "graphql"))
    found = compare(expected, actual, None, live="prod")
    assert [(f.rule, f.severity, f.message) for f in found] == [(
        "drift/extension-version-differs", Severity.WARNING,
        "extension vector: version 0.8.0 in prod, 0.7.0 in the migrations' shadow")]
    manual = with_extensions(snapshot, Extension("citext", "1.6", "public"))
    assert [(f.rule, f.subject) for f in compare(snapshot, manual, None)] == [
        ("drift/object-not-in-migrations", "citext")]


def test_dropped_by_migration_points_at_the_drop(project: Path, reference_db: str) -> None:
    execute(reference_db, "create index job_queue_pending_idx on ops.job_queue (job_type, run_at) "
                          "where status = 'pending'")
    found = only(run_gate(project, reference_db))
    assert found.rule == "drift/object-not-in-migrations"
    assert found.location == Location(PRIORITY_FILE, line_of(project, PRIORITY_FILE, "drop index"),
                                      found.location.end_line, 1)
    assert "the migrations drop it at" in found.message
