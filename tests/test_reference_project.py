"""The reference project's queue RPCs, run against a real PostgreSQL.

These tests pin the behaviour workers rely on (claiming, the job state machine,
heartbeats, who may call what, the dashboard views), so each one is written to
fail if that behaviour breaks, not just if the SQL stops compiling.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

# SQLSTATEs the RPCs document (supabase/migrations/*_add_job_queue_rpcs.sql).
INVALID_PARAMETER = "22023"
JOB_NOT_FOUND = "PT404"
ILLEGAL_TRANSITION = "PT409"

CLAIM = "select * from ops.claim_pending_job(%s, %s, %s)"
UPDATE = "select * from ops.update_job_status(%s, %s, %s, %s)"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def db(reference_db: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """An autocommit connection as the migration owner (postgres)."""
    with psycopg.connect(reference_db, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def queue(
    conn: psycopg.Connection[Any],
    job_type: str = "email",
    *,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
    run_in: timedelta = timedelta(0),
) -> uuid.UUID:
    """ops.queue_job, due `run_in` from now (negative: already overdue)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "select ops.queue_job(%s, %s, %s, now() + %s) as id",
            (job_type, Jsonb(payload or {}), priority, run_in),
        ).fetchone()
    assert row is not None
    return row["id"]


def claim(
    conn: psycopg.Connection[Any], types: list[str], limit: int, worker: str = "worker-1"
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(CLAIM, (types, limit, worker)).fetchall()


def set_status(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID,
    status: str,
    error: str | None = None,
    retry_delay_seconds: int | None = None,
) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(UPDATE, (job_id, status, error, retry_delay_seconds)).fetchone()
    assert row is not None
    return row


def job(conn: psycopg.Connection[Any], job_id: uuid.UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select * from ops.job_queue where id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def job_in(conn: psycopg.Connection[Any], status: str) -> uuid.UUID:
    """A job brought to `status` through the RPCs, the only way workers can."""
    job_type = f"state-{status}-{uuid.uuid4().hex[:8]}"
    if status == "failed":
        job_id = queue(conn, job_type)
        conn.execute("update ops.job_queue set max_attempts = 1 where id = %s", (job_id,))
    else:
        job_id = queue(conn, job_type)
    if status in ("running", "completed", "failed"):
        (claimed,) = claim(conn, [job_type], 1)
        assert claimed["id"] == job_id
    if status in ("completed", "failed", "cancelled"):
        set_status(conn, job_id, status, "boom" if status == "failed" else None)
    assert job(conn, job_id)["status"] == status
    return job_id


def sqlstate_of(excinfo: pytest.ExceptionInfo[psycopg.Error]) -> str | None:
    return excinfo.value.diag.sqlstate


# ---------------------------------------------------------------------------
# ops.queue_job
# ---------------------------------------------------------------------------


def test_queue_job_defaults_priority_and_run_at(db: psycopg.Connection[Any]) -> None:
    row = db.execute(
        "select ops.queue_job('email', %s) as id, now() as queued_at",
        (Jsonb({"to": "ada@example.com"}),),
    ).fetchone()
    assert isinstance(row["id"], uuid.UUID)

    queued = job(db, row["id"])
    assert queued["job_type"] == "email"
    assert queued["payload"] == {"to": "ada@example.com"}
    assert queued["status"] == "pending"
    assert queued["priority"] == 0
    assert queued["attempts"] == 0
    assert queued["run_at"] == row["queued_at"]
    assert queued["claimed_by"] is None


def test_queue_job_rejects_a_payload_that_is_not_an_object(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("select ops.queue_job('email', '[1, 2]'::jsonb)")


# ---------------------------------------------------------------------------
# ops.claim_pending_job
# ---------------------------------------------------------------------------


def test_claim_takes_only_the_given_types_up_to_the_limit(db: psycopg.Connection[Any]) -> None:
    emails = {queue(db, "email") for _ in range(3)}
    texts = {queue(db, "sms") for _ in range(2)}
    report = queue(db, "report")

    first = claim(db, ["email", "sms"], 2, "worker-a")
    assert len(first) == 2
    assert {j["id"] for j in first} <= emails | texts
    for claimed in first:
        assert claimed["status"] == "running"
        assert claimed["claimed_by"] == "worker-a"
        assert claimed["claimed_at"] is not None
        assert claimed["attempts"] == 1
        assert job(db, claimed["id"])["status"] == "running"

    rest = claim(db, ["email", "sms"], 10, "worker-b")
    assert {j["id"] for j in rest} == (emails | texts) - {j["id"] for j in first}
    assert claim(db, ["email", "sms"], 10) == []
    assert job(db, report)["status"] == "pending"


def test_claim_leaves_jobs_that_are_not_due_yet(db: psycopg.Connection[Any]) -> None:
    later = queue(db, "email", run_in=timedelta(hours=1))
    due = queue(db, "email", run_in=timedelta(seconds=-1))

    assert [j["id"] for j in claim(db, ["email"], 10)] == [due]
    assert job(db, later)["status"] == "pending"


def test_claim_takes_highest_priority_first_then_longest_due(
    db: psycopg.Connection[Any],
) -> None:
    low_oldest = queue(db, priority=0, run_in=timedelta(minutes=-30))
    high_newer = queue(db, priority=10, run_in=timedelta(minutes=-1))
    high_older = queue(db, priority=10, run_in=timedelta(minutes=-5))
    middle = queue(db, priority=5, run_in=timedelta(minutes=-1))

    order = [claim(db, ["email"], 1)[0]["id"] for _ in range(4)]

    assert order == [high_older, high_newer, middle, low_oldest]


def test_claimed_batch_comes_back_in_processing_order(db: psycopg.Connection[Any]) -> None:
    expected = [
        queue(db, priority=p, run_in=timedelta(minutes=m))
        for p, m in [(9, -1), (3, -20), (3, -2), (0, -60), (-5, -90)]
    ]
    assert [j["id"] for j in claim(db, ["email"], 10)] == expected


def test_claim_skips_pending_jobs_whose_attempts_are_spent(
    db: psycopg.Connection[Any],
) -> None:
    spent = queue(db)
    db.execute("update ops.job_queue set attempts = max_attempts where id = %s", (spent,))

    assert claim(db, ["email"], 10) == []
    assert job(db, spent)["status"] == "pending"


@pytest.mark.parametrize(
    ("types", "limit", "worker"),
    [([], 1, "w"), (None, 1, "w"), (["email"], 0, "w"), (["email"], None, "w"), (["email"], 1, " ")],
    ids=["no-types", "null-types", "zero-limit", "null-limit", "blank-worker"],
)
def test_claim_rejects_bad_arguments(
    db: psycopg.Connection[Any], types: list[str] | None, limit: int | None, worker: str
) -> None:
    queue(db)
    with pytest.raises(psycopg.Error) as excinfo:
        db.execute("select * from ops.claim_pending_job(%s::text[], %s, %s)", (types, limit, worker))
    assert sqlstate_of(excinfo) == INVALID_PARAMETER


def test_concurrent_claims_skip_each_others_locked_jobs(reference_db: str) -> None:
    with psycopg.connect(reference_db, autocommit=True) as setup:
        queued = {queue(setup) for _ in range(5)}

    with (
        psycopg.connect(reference_db) as first,
        psycopg.connect(reference_db, autocommit=True) as second,
    ):
        held = claim(first, ["email"], 2, "worker-a")  # transaction left open
        # Without SKIP LOCKED the second claim would wait on the first one's
        # row locks; fail fast instead of hanging.
        second.execute("set lock_timeout = '2s'")
        taken = claim(second, ["email"], 10, "worker-b")
        first.commit()

    held_ids = {j["id"] for j in held}
    taken_ids = {j["id"] for j in taken}
    assert len(held_ids) == 2
    assert held_ids.isdisjoint(taken_ids)
    assert held_ids | taken_ids == queued


def test_many_workers_claim_every_job_exactly_once(reference_db: str) -> None:
    with psycopg.connect(reference_db, autocommit=True) as setup:
        queued = {queue(setup, priority=n % 3) for n in range(60)}

    claimed: list[uuid.UUID] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        try:
            with psycopg.connect(reference_db) as conn:
                conn.execute("set lock_timeout = '5s'")
                conn.commit()
                start.wait()
                while True:
                    with conn.transaction():
                        batch = claim(conn, ["email"], 3, name)
                    if not batch:
                        return
                    with lock:
                        claimed.extend(j["id"] for j in batch)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert not errors, errors
    duplicates = [job_id for job_id, n in Counter(claimed).items() if n > 1]
    assert duplicates == []
    assert set(claimed) == queued


# ---------------------------------------------------------------------------
# ops.update_job_status
# ---------------------------------------------------------------------------


def test_running_job_completes_and_repeating_it_is_a_no_op(db: psycopg.Connection[Any]) -> None:
    job_id = job_in(db, "running")

    done = set_status(db, job_id, "completed")
    assert done["id"] == job_id
    assert done["status"] == "completed"
    assert done["claimed_by"] == "worker-1"  # who ran it is kept
    assert job(db, job_id) == done

    again = set_status(db, job_id, "completed")
    assert again == done


@pytest.mark.parametrize("start", ["pending", "running"])
def test_pending_or_running_job_can_be_cancelled(
    db: psycopg.Connection[Any], start: str
) -> None:
    job_id = job_in(db, start)
    assert set_status(db, job_id, "cancelled")["status"] == "cancelled"
    assert job(db, job_id)["status"] == "cancelled"


@pytest.mark.parametrize("status", ["done", "RUNNING", "", None])
def test_unknown_status_is_rejected(db: psycopg.Connection[Any], status: str | None) -> None:
    job_id = job_in(db, "running")
    with pytest.raises(psycopg.Error) as excinfo:
        set_status(db, job_id, status)  # type: ignore[arg-type]
    assert sqlstate_of(excinfo) == INVALID_PARAMETER
    assert job(db, job_id)["status"] == "running"


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("completed", "running"),
        ("completed", "pending"),
        ("completed", "failed"),
        ("failed", "pending"),
        ("cancelled", "completed"),
        ("pending", "running"),
        ("pending", "completed"),
        ("pending", "failed"),
    ],
)
def test_illegal_transition_is_rejected(
    db: psycopg.Connection[Any], start: str, target: str
) -> None:
    job_id = job_in(db, start)
    before = job(db, job_id)
    with pytest.raises(psycopg.Error) as excinfo:
        set_status(db, job_id, target)
    assert sqlstate_of(excinfo) == ILLEGAL_TRANSITION
    assert f"from {start} to {target}" in str(excinfo.value)
    assert job(db, job_id) == before


def test_unknown_job_is_not_found(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.Error) as excinfo:
        set_status(db, uuid.uuid4(), "completed")
    assert sqlstate_of(excinfo) == JOB_NOT_FOUND


def test_failure_with_attempts_left_goes_back_to_pending_later(
    db: psycopg.Connection[Any],
) -> None:
    job_id = job_in(db, "running")

    retried = set_status(db, job_id, "failed", "smtp timeout", 120)

    assert retried["status"] == "pending"
    assert retried["attempts"] == 1
    assert retried["last_error"] == "smtp timeout"
    assert retried["claimed_by"] is None and retried["claimed_at"] is None
    delay = db.execute(
        "select run_at - updated_at as delay from ops.job_queue where id = %s", (job_id,)
    ).fetchone()["delay"]
    assert delay == timedelta(seconds=120)
    job_type = retried["job_type"]
    assert claim(db, [job_type], 1) == []  # not before the delay is over

    db.execute("update ops.job_queue set run_at = now() where id = %s", (job_id,))
    (second_try,) = claim(db, [job_type], 1)
    assert second_try["attempts"] == 2


def test_failure_without_a_delay_backs_off_exponentially(db: psycopg.Connection[Any]) -> None:
    job_id = job_in(db, "running")
    delays = []
    for attempt in range(1, 4):
        retried = set_status(db, job_id, "failed", f"attempt {attempt}")
        delays.append(retried["run_at"] - retried["updated_at"])
        db.execute("update ops.job_queue set run_at = now() where id = %s", (job_id,))
        claim(db, [retried["job_type"]], 1)
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]


def test_failure_on_the_last_attempt_is_final(db: psycopg.Connection[Any]) -> None:
    job_id = queue(db, "fragile")
    db.execute("update ops.job_queue set max_attempts = 2 where id = %s", (job_id,))

    claim(db, ["fragile"], 1)
    assert set_status(db, job_id, "failed", "first", 0)["status"] == "pending"
    claim(db, ["fragile"], 1)
    final = set_status(db, job_id, "failed", "second", 0)

    assert final["status"] == "failed"
    assert final["attempts"] == 2
    assert final["last_error"] == "second"
    assert claim(db, ["fragile"], 1) == []


def test_releasing_a_running_job_does_not_spend_an_attempt(db: psycopg.Connection[Any]) -> None:
    job_id = job_in(db, "running")

    released = set_status(db, job_id, "pending")

    assert released["status"] == "pending"
    assert released["attempts"] == 0
    assert released["claimed_by"] is None
    (again,) = claim(db, [released["job_type"]], 1, "worker-2")
    assert again["id"] == job_id
    assert again["attempts"] == 1


# ---------------------------------------------------------------------------
# ops.register_heartbeat
# ---------------------------------------------------------------------------


def test_register_heartbeat_upserts_one_row_per_worker(db: psycopg.Connection[Any]) -> None:
    beat = "select ops.register_heartbeat(%s, %s, %s, %s)"
    db.execute(beat, ("web-1", "email", "railway-a", "1.4.0"))
    first = db.execute("select * from ops.worker_heartbeats").fetchall()
    db.execute(beat, ("web-1", "email", "railway-b", "1.5.0"))
    rows = db.execute("select * from ops.worker_heartbeats").fetchall()

    assert len(first) == 1
    assert len(rows) == 1
    (before,), (after,) = first, rows
    assert after["worker_id"] == "web-1"
    assert after["hostname"] == "railway-b"
    assert after["version"] == "1.5.0"
    assert after["status"] == "online"
    assert after["last_seen_at"] > before["last_seen_at"]
    assert after["first_seen_at"] == before["first_seen_at"]


def test_heartbeat_brings_an_offline_worker_back_online(db: psycopg.Connection[Any]) -> None:
    beat = "select ops.register_heartbeat('w', 'email', 'h', '1')"
    db.execute(beat)
    db.execute("update ops.worker_heartbeats set status = 'offline'")
    db.execute(beat)
    assert db.execute("select status from ops.worker_heartbeats").fetchone() == {
        "status": "online"
    }


# ---------------------------------------------------------------------------
# who may call what
# ---------------------------------------------------------------------------

RPC_CALLS = {
    "queue_job": "select ops.queue_job('email', '{}'::jsonb, 0, now())",
    "claim_pending_job": "select * from ops.claim_pending_job(array['email'], 1, 'w')",
    "update_job_status": (
        "select * from ops.update_job_status(gen_random_uuid(), 'completed', null, null)"
    ),
    "register_heartbeat": "select ops.register_heartbeat('w', 'email', 'h', '1.0')",
}
RPC_SIGNATURES = {
    "queue_job": "ops.queue_job(text, jsonb, integer, timestamptz)",
    "claim_pending_job": "ops.claim_pending_job(text[], integer, text)",
    "update_job_status": "ops.update_job_status(uuid, text, text, integer)",
    "register_heartbeat": "ops.register_heartbeat(text, text, text, text)",
}


def test_service_role_can_call_every_rpc_and_read_the_views(
    db: psycopg.Connection[Any],
) -> None:
    db.execute("set role service_role")
    assert db.execute("select current_user as u").fetchone() == {"u": "service_role"}

    job_id = queue(db, "email")
    (claimed,) = claim(db, ["email"], 1)
    assert claimed["id"] == job_id
    assert set_status(db, job_id, "completed")["status"] == "completed"
    db.execute(RPC_CALLS["register_heartbeat"])

    health = db.execute("select * from ops.v_queue_health").fetchall()
    assert [(h["job_type"], h["completed"]) for h in health] == [("email", 1)]
    workers = db.execute("select worker_id from ops.v_worker_status").fetchall()
    assert workers == [{"worker_id": "w"}]


def test_service_role_cannot_write_the_queue_around_the_rpcs(
    db: psycopg.Connection[Any],
) -> None:
    job_id = queue(db)
    db.execute("set role service_role")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("update ops.job_queue set status = 'completed' where id = %s", (job_id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("insert into ops.job_queue (job_type) values ('email')")


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("rpc", sorted(RPC_CALLS))
def test_api_roles_are_denied_every_rpc(db: psycopg.Connection[Any], role: str, rpc: str) -> None:
    # Checked on the function itself, not only through the schema: a grant to
    # PUBLIC left on a function would be one `grant usage on schema` away.
    allowed = db.execute(
        "select has_function_privilege(%s, %s, 'execute') as ok", (role, RPC_SIGNATURES[rpc])
    ).fetchone()
    assert allowed == {"ok": False}
    uses_schema = db.execute(
        "select has_schema_privilege(%s, 'ops', 'usage') as ok", (role,)
    ).fetchone()
    assert uses_schema == {"ok": False}

    db.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(RPC_CALLS[rpc])


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize(
    "relation",
    ["ops.job_queue", "ops.worker_heartbeats", "ops.v_queue_health", "ops.v_worker_status"],
)
def test_api_roles_cannot_read_ops_relations(
    db: psycopg.Connection[Any], role: str, relation: str
) -> None:
    allowed = db.execute(
        "select has_table_privilege(%s, %s, 'select') as ok", (role, relation)
    ).fetchone()
    assert allowed == {"ok": False}

    db.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(sql.SQL("select * from {}").format(sql.SQL(relation)))


@pytest.mark.parametrize("view", ["ops.v_queue_health", "ops.v_worker_status"])
def test_views_read_with_the_callers_rights_not_their_owners(
    db: psycopg.Connection[Any], view: str
) -> None:
    # Someone grants a dashboard view to an API role by mistake: with
    # security_invoker the base tables' privileges and RLS still apply, so the
    # view does not lend its owner's (postgres) access to the queue.
    db.execute("grant usage on schema ops to authenticated")
    db.execute(sql.SQL("grant select on {} to authenticated").format(sql.SQL(view)))
    db.execute("set role authenticated")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="ops|job_queue|worker"):
        db.execute(sql.SQL("select * from {}").format(sql.SQL(view)))


def test_ops_tables_have_rls_enabled_and_no_policies(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        """
        select c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
        from pg_class c
        where c.relnamespace = 'ops'::regnamespace and c.relkind = 'r'
        order by c.relname
        """
    ).fetchall()
    assert rows == [
        {"relname": n, "relrowsecurity": True, "relforcerowsecurity": False, "policies": 0}
        for n in ["job_queue", "worker_heartbeats"]
    ]


def test_rpcs_are_security_definer_with_an_empty_search_path(
    db: psycopg.Connection[Any],
) -> None:
    rows = db.execute(
        """
        select p.oid::regprocedure::text as signature, p.prosecdef, p.proconfig
        from pg_proc p
        where p.oid = any (%s::regprocedure[])
        order by 1
        """,
        (list(RPC_SIGNATURES.values()),),
    ).fetchall()
    assert len(rows) == 4
    for row in rows:
        assert row["prosecdef"], row["signature"]
        assert row["proconfig"] == ['search_path=""'], row["signature"]


# ---------------------------------------------------------------------------
# dashboard views
# ---------------------------------------------------------------------------


def _insert_job(
    conn: psycopg.Connection[Any], job_type: str, status: str, run_in: timedelta = timedelta(0)
) -> None:
    # Direct inserts as the owner: this is about counting, not transitions.
    claimed = status == "running"
    conn.execute(
        """
        insert into ops.job_queue (job_type, status, run_at, claimed_by, claimed_at)
        values (%s, %s, now() + %s, %s, case when %s then now() end)
        """,
        (job_type, status, run_in, "worker-1" if claimed else None, claimed),
    )


def test_queue_health_counts_jobs_per_type_and_status(db: psycopg.Connection[Any]) -> None:
    for job_type, status, run_in in [
        ("email", "pending", timedelta(minutes=-10)),
        ("email", "pending", timedelta(minutes=-1)),
        ("email", "pending", timedelta(hours=1)),
        ("email", "running", timedelta(minutes=-20)),
        ("email", "completed", timedelta(minutes=-30)),
        ("email", "completed", timedelta(minutes=-30)),
        ("email", "failed", timedelta(minutes=-30)),
        ("email", "cancelled", timedelta(minutes=-30)),
        ("sms", "pending", timedelta(seconds=-5)),
        ("report", "pending", timedelta(days=1)),
    ]:
        _insert_job(db, job_type, status, run_in)

    db.execute("set role service_role")
    rows = {
        r.pop("job_type"): r
        for r in db.execute("select * from ops.v_queue_health").fetchall()
    }
    ages = {job_type: r.pop("oldest_pending_age") for job_type, r in rows.items()}

    def counts(pending: int, ready: int, running=0, completed=0, failed=0, cancelled=0):
        return dict(pending=pending, ready=ready, running=running, completed=completed,
                    failed=failed, cancelled=cancelled)

    assert rows == {
        "email": counts(3, 2, running=1, completed=2, failed=1, cancelled=1),
        "sms": counts(1, 1),
        "report": counts(1, 0),
    }
    assert timedelta(minutes=10) <= ages["email"] < timedelta(minutes=11)
    assert timedelta(seconds=5) <= ages["sms"] < timedelta(minutes=1)
    assert ages["report"] is None  # scheduled work is not a backlog


def test_worker_status_flags_silent_online_workers_as_stale(
    db: psycopg.Connection[Any],
) -> None:
    for worker in ["fresh", "silent", "gone"]:
        db.execute("select ops.register_heartbeat(%s, 'email', 'host', '1.0')", (worker,))
    db.execute(
        "update ops.worker_heartbeats set last_seen_at = now() - interval '10 minutes'"
        " where worker_id in ('silent', 'gone')"
    )
    db.execute("update ops.worker_heartbeats set status = 'offline' where worker_id = 'gone'")
    queue(db)
    queue(db)
    claim(db, ["email"], 2, "fresh")

    db.execute("set role service_role")
    rows = db.execute(
        "select worker_id, is_stale, running_jobs from ops.v_worker_status order by worker_id"
    ).fetchall()
    assert rows == [
        {"worker_id": "fresh", "is_stale": False, "running_jobs": 2},
        {"worker_id": "gone", "is_stale": False, "running_jobs": 0},
        {"worker_id": "silent", "is_stale": True, "running_jobs": 0},
    ]
