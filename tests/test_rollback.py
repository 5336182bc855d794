"""Rollbacks as new migrations, and the migration-state assessment, on a real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.config import load_project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.gates import contract_gate
from dragonfly_ci.gates.rollback import RollbackDraft, new_rollback, rollback_status
from dragonfly_ci.migrations.files import discover
from dragonfly_ci.migrations.ledger import ensure_tables, record_run, record_version
from dragonfly_ci.postgres.catalog import Function, take_snapshot
from dragonfly_ci.postgres.shadow import build_from_migrations
from tests.conftest import REPO, add_migration

NOW = datetime(2099, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
CLAIM = "ops.claim_pending_job(text[], integer, text)"
# Only in the claim of 20250305163000_claim_jobs_by_priority.sql, the one before ours.
PRIORITY_CLAIM_LINE = "order by claimed.priority desc, claimed.run_at;"

SIMPLER_CLAIM = """\
create or replace function ops.claim_pending_job(
  p_job_types text[],
  p_limit     integer,
  p_worker_id text
)
returns setof ops.job_queue
language plpgsql
security definer
set search_path = ''
as $$
begin
  return query
  update ops.job_queue as j
  set status = 'running', claimed_by = p_worker_id, claimed_at = now()
  where j.id in (select id from ops.job_queue where status = 'pending'
                 limit p_limit for update skip locked)
  returning j.*;
end;
$$;

create function ops.count_pending_jobs()
returns bigint
language sql
stable
set search_path = ''
as $$ select count(*) from ops.job_queue where status = 'pending' $$;

revoke all on function ops.count_pending_jobs() from public;
grant execute on function ops.count_pending_jobs() to service_role;
"""

CLAIM_WITH_MIN_PRIORITY = """\
drop function ops.claim_pending_job(text[], integer, text);

create function ops.claim_pending_job(
  p_job_types    text[],
  p_limit        integer,
  p_worker_id    text,
  p_min_priority integer default 0
)
returns setof ops.job_queue
language sql
security definer
set search_path = ''
as $$
  update ops.job_queue as j
  set status = 'running', claimed_by = p_worker_id, claimed_at = now()
  where j.id in (select id from ops.job_queue where status = 'pending' and priority >= p_min_priority
                 limit p_limit for update skip locked)
  returning j.*;
$$;
"""


@pytest.fixture(autouse=True)
def embedded_shadow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAGONFLY_SHADOW_URL", raising=False)


def functions(files_dir: Path) -> dict[str, Function]:
    """The functions a shadow built from every migration in `files_dir` has."""
    files, _ = discover(files_dir, str)
    with build_from_migrations(files, None, "supabase") as build:
        assert build.outcome.failure is None, build.outcome.failure
        return take_snapshot(build.shadow.conn).functions


@pytest.fixture(scope="module")
def reference_functions() -> dict[str, Function]:
    return functions(REPO / "supabase" / "migrations")


def draft_for(project: Path, sql: str) -> tuple[RollbackDraft, str]:
    """Add `sql` as the newest migration and draft its rollback: (draft, the file's text)."""
    add_migration(project, "20990101000000_change", sql)
    draft = new_rollback(load_project(cwd=project), "undo_change", now=NOW)
    return draft, draft.path.read_text(encoding="utf-8")


def sql_outside_comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("--")]


def test_replaced_function_is_restored_and_new_function_drop_is_commented(
    project: Path, reference_functions: dict[str, Function],
) -> None:
    before = {p.name: p.read_bytes() for p in (project / "supabase" / "migrations").iterdir()}

    draft, text = draft_for(project, SIMPLER_CLAIM)

    assert draft.path == project / "supabase" / "migrations" / "20990203040506_rollback_undo_change.sql"
    assert draft.reverts == ("20990101000000", "change")
    assert draft.functions_restored == [CLAIM]
    assert draft.functions_dropped == ["ops.count_pending_jobs()"]
    assert any("restores 1 function(s) exactly" in note for note in draft.notes), draft.notes
    header = text.split("\n\n")[0]
    assert "20990101000000_change.sql" in header
    assert "DRAFT" in header and "2099-02-03 04:05:06 UTC" in header
    assert "immutable" in header
    assert PRIORITY_CLAIM_LINE in text
    assert "CREATE OR REPLACE FUNCTION ops.claim_pending_job(" in text
    assert "-- drop function ops.count_pending_jobs();" in text
    assert not [s for s in sql_outside_comments(text) if "drop" in s.lower()]
    # Existing files are never touched.
    migrations = project / "supabase" / "migrations"
    assert {name: (migrations / name).read_bytes() for name in before} == before

    # The draft is a real migration: the gate passes, and the claim is the pre-change one again.
    result = contract_gate.run(load_project(cwd=project))
    assert result.passed(), result.findings
    rebuilt = functions(project / "supabase" / "migrations")
    assert rebuilt[CLAIM].body == reference_functions[CLAIM].body
    assert rebuilt[CLAIM] == reference_functions[CLAIM]
    assert "ops.count_pending_jobs()" in rebuilt  # its drop is left to a human


def test_signature_change_restores_the_old_signature(
    project: Path, reference_functions: dict[str, Function],
) -> None:
    draft, text = draft_for(project, CLAIM_WITH_MIN_PRIORITY)

    new = "ops.claim_pending_job(text[], integer, text, integer)"
    assert draft.functions_restored == [CLAIM]
    assert draft.functions_dropped == [new]
    assert "-- drop function ops.claim_pending_job(text[],integer,text,integer);" in text
    # Re-created, so its grants are spelt out again: PUBLIC gets EXECUTE on every new function.
    assert "revoke execute on function ops.claim_pending_job(text[],integer,text) from public;" in text
    assert "grant execute on function ops.claim_pending_job(text[],integer,text) to service_role;" in text

    rebuilt = functions(project / "supabase" / "migrations")
    assert rebuilt[CLAIM] == reference_functions[CLAIM]  # body, grants, comment: all as before
    assert new in rebuilt


def test_return_type_change_drops_and_recreates_the_same_signature(
    project: Path, reference_functions: dict[str, Function],
) -> None:
    heartbeat = "ops.register_heartbeat(text, text, text, text)"
    draft, text = draft_for(project, """\
drop function ops.register_heartbeat(text, text, text, text);
create function ops.register_heartbeat(p_worker_id text, p_worker_type text, p_hostname text, p_version text)
returns timestamptz language sql security definer set search_path = ''
as $$ select now() $$;
grant execute on function ops.register_heartbeat(text, text, text, text) to service_role;
""")
    assert draft.functions_restored == [heartbeat]
    assert "create or replace cannot change its return type" in text
    assert "drop function ops.register_heartbeat(text,text,text,text);" in sql_outside_comments(text)
    assert functions(project / "supabase" / "migrations")[heartbeat] == reference_functions[heartbeat]


def test_recreated_function_in_public_loses_the_default_privileges_it_did_not_have(project: Path) -> None:
    # Supabase's default privileges hand every new function in public to the API roles.
    add_migration(project, "20980101000000_add_ping", """\
create function public.ping(p integer) returns integer language sql as $$ select p $$;
revoke all on function public.ping(integer) from public, anon, authenticated;
""")
    as_before = functions(project / "supabase" / "migrations")["public.ping(integer)"]
    draft, text = draft_for(project, """\
drop function public.ping(integer);
create function public.ping(p integer, q text) returns integer language sql as $$ select p $$;
""")
    assert draft.functions_restored == ["public.ping(integer)"]
    assert "revoke execute on function public.ping(integer) from public, anon, authenticated;" in text
    rebuilt = functions(project / "supabase" / "migrations")["public.ping(integer)"]
    assert rebuilt == as_before
    assert "anon" not in rebuilt.execute


def test_table_only_migration_gets_a_todo_and_no_sql(project: Path) -> None:
    draft, text = draft_for(project, """\
alter table ops.job_queue add column note text;
alter table ops.worker_heartbeats drop column version;
""")
    assert draft.functions_restored == [] and draft.functions_dropped == []
    assert sql_outside_comments(text) == []
    assert "20990101000000_change.sql" in text.split("\n\n")[0]
    assert "-- TODO:" in text
    assert "line 1: alter table ops.job_queue add column note text" in text
    assert "create column ops.job_queue.note" in text
    assert "drop column ops.worker_heartbeats.version" in text
    assert "restore that from a backup" in text  # a dropped column's data is gone
    assert any("no function changes" in note for note in draft.notes)


def test_migration_that_fails_on_the_shadow_still_gets_header_and_todo(project: Path) -> None:
    draft, text = draft_for(project, "create or replace function ops.nope() returns int "
                            "language sql as $$ select 1 $$;\nalter table ops.missing add column x int;\n")
    assert any("fails to apply" in note for note in draft.notes), draft.notes
    assert "Nothing is pre-filled" in text
    assert "-- TODO:" in text and "line 2: alter table ops.missing" in text
    assert "replace function ops.nope()" in text  # listed, since it could not be pre-filled
    assert sql_outside_comments(text) == []


@pytest.mark.parametrize("slug", ["Undo", "undo-claim", "", "undo claim", "../x"])
def test_bad_slug_is_refused(project: Path, slug: str) -> None:
    with pytest.raises(BadInput, match=r"\[a-z0-9_\]\+"):
        new_rollback(load_project(cwd=project), slug, now=NOW)


def test_existing_draft_is_never_overwritten(project: Path) -> None:
    existing = add_migration(project, "20990203040506_rollback_undo_change", "select 1;\n")
    with pytest.raises(BadInput, match="already exists"):
        new_rollback(load_project(cwd=project), "undo_change", now=NOW)
    assert existing.read_text(encoding="utf-8") == "select 1;\n"


def test_clock_behind_the_newest_file_versions_after_it(project: Path) -> None:
    add_migration(project, "20990101000000_change", "alter table ops.job_queue add column note text;\n")
    draft = new_rollback(load_project(cwd=project), "undo_change", now=datetime(2020, 1, 1))
    assert draft.path.name == "20990101000001_rollback_undo_change.sql"
    assert any("not after the newest" in note for note in draft.notes), draft.notes
    files, _ = discover(project / "supabase" / "migrations", str)
    assert files[-1].path == draft.path


def test_newest_version_that_is_no_timestamp_is_refused(project: Path) -> None:
    add_migration(project, "99999999999999999_far_future", "select 1;\n")
    with pytest.raises(BadInput, match="would not sort after"):
        new_rollback(load_project(cwd=project), "undo", now=NOW)


def test_status_reports_ledger_pending_unknown_and_runs(reference_db: str) -> None:
    files, _ = discover(REPO / "supabase" / "migrations", lambda p: f"supabase/migrations/{p.name}")
    with psycopg.connect(reference_db, autocommit=True) as conn:
        ensure_tables(conn)
        for file in files[:3]:
            record_version(conn, file.version, file.name, [file.text])
        record_version(conn, "20250110000000", "dashboard_hotfix", ["select 1"])
        started = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
        record_run(conn, started_at=started, duration_ms=12, outcome="applied",
                   versions=[f.version for f in files[:3]], tool="test")
        record_run(conn, started_at=started, duration_ms=5, outcome="failed", versions=["x"],
                   tool="test", error="boom")

        result = rollback_status(conn, files)

    assert result.gate == "rollback-status"
    assert result.facts["applied"] == "4"
    assert result.facts["last applied"].split("; ") == [
        "20250122110000 add_queue_health_view", "20250110000000 dashboard_hotfix",
        "20250108141500 add_job_queue_rpcs", "20250101093000 create_ops_schema"]
    assert result.facts["pending"] == "2"
    assert result.facts["applied without a local file"] == "20250110000000"
    assert "not applied here" in result.facts["newest local file"]
    runs = result.facts["recent runs"].split("; ")
    assert len(runs) == 2 and runs[0].startswith("2025-03-01 12:00 UTC failed x by")
    assert result.errors == 1 and not result.passed()
    unknown = [f for f in result.findings if f.rule == "ledger/unknown-version"]
    assert unknown[0].subject == "20250110000000" and "dashboard_hotfix" in unknown[0].message
    pending = sorted(f.subject for f in result.findings if f.rule == "ledger/pending")
    assert pending == [files[3].version, files[4].version]


def test_status_on_a_database_without_a_ledger(reference_db: str) -> None:
    files, _ = discover(REPO / "supabase" / "migrations", str)
    with psycopg.connect(reference_db, autocommit=True) as conn:
        result = rollback_status(conn, files, rules={"ledger/pending": "off"})
    assert result.facts["applied"] == "0" and result.facts["last applied"] == "none"
    assert result.facts["recent runs"] == "none recorded"
    assert result.findings == [] and result.passed()
