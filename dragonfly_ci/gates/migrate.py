"""`dragonfly-ci migrate`: apply pending migrations atomically, one migrator at a time.

inputs (project, target, files) -> lock -> ledger -> plan -> batches applied
with their ledger rows and an audit row in one transaction -> GateResult.
A failure anywhere in a batch rolls the batch back: the database and the
ledger are exactly as before. Files that cannot run inside a transaction run
alone, outside the batch, in order; the plan says so before anything runs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from dragonfly_ci import __version__
from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import GateResult, Location
from dragonfly_ci.rules import apply_overrides, finding
from dragonfly_ci.sql_text import quote_literal

if TYPE_CHECKING:
    from concurrent.futures import Future

    import psycopg

    from dragonfly_ci.findings import Finding
    from dragonfly_ci.migrations.plan import PendingFile, Plan
    from dragonfly_ci.targets import Target

GATE = "migrate"
DEFAULTS = {"lock_timeout": "10s", "statement_timeout": "10min", "lock_wait": 300}


@dataclass(frozen=True)
class Progress:
    """What the CLI shows while files are applied."""

    event: str  # "batch" | "file" | "done"
    text: str
    seconds: float = 0.0


ProgressSink = Callable[[Progress], None]


_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$")


def settings(project: Project, **overrides: object) -> dict:
    """Timeouts and lock wait: CLI flags over the project file over defaults."""
    merged = {**DEFAULTS, **project.migrate}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("lock_timeout", "statement_timeout"):
        if not _DURATION.match(str(merged[key])):
            from_flag = overrides.get(key) is not None
            raise BadInput(
                f"{key} {merged[key]!r} is not a PostgreSQL duration",
                file=None if from_flag or not project.file else project.display(project.file),
                line=None if from_flag or not project.doc else project.doc.line(("migrate", key)),
                hint="write a number with a unit: us, ms, s, min, h or d (e.g. 10s, 5min)",
            )
    return merged


def _connect(target: Target) -> psycopg.Connection:
    from dragonfly_ci.postgres.connect import connect

    return connect(target.url, autocommit=True, purpose=f"the {target.env or 'target'} database",
                   application_name="dragonfly-ci migrate")


def _plan(conn: psycopg.Connection, project: Project, allow_out_of_order: bool) -> tuple[list, Plan]:
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.migrations.ledger import read_ledger
    from dragonfly_ci.migrations.plan import make_plan

    files, skipped = discover(project.migrations_dir, project.display)
    plan = make_plan(files, read_ledger(conn), allow_out_of_order=allow_out_of_order)
    plan.findings = skipped + plan.findings
    return files, plan


def status(project: Project, target: Target) -> GateResult:
    """Read-only: the plan's findings, the last applied versions and recent runs."""
    from dragonfly_ci.migrations.ledger import read_runs

    started = time.perf_counter()
    result = GateResult("migrate-status")
    with _connect(target) as conn:
        files, plan = _plan(conn, project, allow_out_of_order=False)
        runs = read_runs(conn, limit=5)
    result.findings = apply_overrides(plan.findings, project.rules)
    result.facts["database"] = target.label
    result.facts["local files"] = str(len(files))
    result.facts["applied"] = str(len(plan.applied))
    result.facts["pending"] = ", ".join(p.file.version for p in plan.pending) or "none"
    result.facts["last applied"] = "; ".join(
        f"{row.version} {row.name}".strip() for row in reversed(plan.applied[-5:])) or "none"
    if runs:
        result.facts["recent runs"] = "; ".join(
            f"{r.started_at:%Y-%m-%d %H:%M} {r.outcome} {','.join(r.versions) or '-'} "
            f"by {r.actor or 'unknown'}" for r in runs)
    result.duration_s = time.perf_counter() - started
    return result


def run(
    project: Project,
    target: Target,
    *,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    lock_timeout: str | None = None,
    statement_timeout: str | None = None,
    lock_wait: float | None = None,
    progress: ProgressSink | None = None,
) -> GateResult:
    from dragonfly_ci.migrations.ledger import ensure_tables
    from dragonfly_ci.migrations.lock import migration_lock

    started = time.perf_counter()
    options = settings(project, lock_timeout=lock_timeout, statement_timeout=statement_timeout,
                       lock_wait=lock_wait)
    result = GateResult(GATE)
    result.facts["database"] = target.label
    notify = progress or (lambda _: None)
    with _connect(target) as conn:
        if dry_run:
            _, plan = _plan(conn, project, allow_out_of_order)
            blocked = plan.blocked
            _describe(result, plan, applied=[])
            result.facts["mode"] = "dry run: nothing was changed"
        else:
            with migration_lock(conn, float(options["lock_wait"])) as waited:
                if waited >= 1:
                    result.facts["waited for the lock"] = f"{waited:.1f} s"
                conn.execute("begin")
                ensure_tables(conn)
                conn.execute("commit")
                # Planned inside the lock: another migrator may have just applied everything.
                _, plan = _plan(conn, project, allow_out_of_order)
                applied: list[str] = []
                blocked = plan.blocked
                if not blocked:
                    failure = _apply(conn, plan, options, notify, applied)
                    if failure:
                        plan.findings.append(failure)
                _describe(result, plan, applied)
                # Step output: the versions this run committed, as a JSON list.
                result.outputs["applied"] = json.dumps(applied)
    # After a run that applied (or tried to), "will be applied" is no longer true of any file:
    # they were, or their batch failed and the failure says so.
    keep_pending = dry_run or blocked
    result.findings = apply_overrides(
        [f for f in plan.findings if keep_pending or f.rule != "ledger/pending"], project.rules)
    result.duration_s = time.perf_counter() - started
    return result


def _describe(result: GateResult, plan: Plan, applied: list[str]) -> None:
    outside = [p.file.display for p in plan.pending if p.outside_transaction]
    result.facts["pending"] = str(len(plan.pending))
    result.facts["applied now"] = ", ".join(applied) or "none"
    batches = plan.batches()
    if batches:
        result.facts["how"] = ", then ".join(
            "1 file alone, outside a transaction" if b[0].outside_transaction
            else f"{len(b)} file(s) in one transaction" for b in batches)
    if outside:
        result.facts["outside a transaction"] = ", ".join(outside)


def _apply(conn: psycopg.Connection, plan: Plan, options: dict, notify: ProgressSink,
           applied: list[str]) -> Finding | None:
    """Apply every batch in order; stop at the first failure, which is returned.

    Round trips are what a long history costs: each file takes one (its session
    reset travels in front of its text); at the end of a batch its ledger rows go
    pipelined in one, and its audit row and the COMMIT in another. No savepoint per file: hundreds of
    subtransactions in one transaction overflow every backend's subtransaction
    cache, which slows the application's own queries on a busy production
    database while the batch runs. When a file fails, the batch is rolled back;
    only a failure without a position is then pinned down, by replaying.
    """
    from concurrent.futures import ThreadPoolExecutor

    # The ledger's statements (the CLI's split, pure Python) are only needed when a
    # batch commits: work them out while the server runs the files.
    with ThreadPoolExecutor(max_workers=1) as pool:
        split = pool.submit(lambda: [p.statements for p in plan.pending])
        return _apply_batches(conn, plan, options, notify, applied, split)


def _apply_batches(conn: psycopg.Connection, plan: Plan, options: dict, notify: ProgressSink,
                   applied: list[str], split: Future) -> Finding | None:
    from dragonfly_ci.migrations.apply import MigrationFailed, apply_file
    from dragonfly_ci.migrations.ledger import provenance, record_versions, run_insert_sql

    who = provenance()
    for batch in plan.batches():
        started_at = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        versions = [p.file.version for p in batch]
        notify(Progress("batch", _batch_title(batch)))
        try:
            if batch[0].outside_transaction:
                item = batch[0]
                conn.execute(_session(options, local=False))
                try:
                    apply_file(conn, item.file)
                finally:
                    conn.execute("reset all")
                notify(Progress("file", item.file.display, time.perf_counter() - t0))
                conn.execute("begin")
            else:
                conn.execute("begin")
                for i, item in enumerate(batch):
                    t_file = time.perf_counter()
                    _apply_in_batch(conn, batch, i, options)
                    notify(Progress("file", item.file.display, time.perf_counter() - t_file))
            split.result()  # the statements are ready (cached on each file)
            record_versions(conn, [(p.file.version, p.file.name, p.statements) for p in batch])
            conn.execute(
                run_insert_sql(conn, started_at=started_at, duration_ms=_ms(t0), outcome="applied",
                               versions=versions, tool=f"dragonfly-ci {__version__}", who=who)
                + "; commit")
        except MigrationFailed as failed:
            _rollback(conn)
            _record_failure(conn, started_at, t0, versions, failed.finding.message, who)
            notify(Progress("done", "rolled back: " + ", ".join(versions)))
            return failed.finding
        except BaseException:
            _rollback(conn)  # interrupted: leave nothing half-written
            raise
        applied += versions
        notify(Progress("done", f"{len(batch)} file(s) in {time.perf_counter() - t0:.2f} s"))
    return None


def _session(options: dict, *, local: bool = True) -> str:
    """What each file starts from: the settings a fresh session has (the Supabase CLI runs
    RESET ALL before every file, so a dump header's set_config cannot leak on), then our
    timeouts, which a file's own SET cannot carry past its end either. A few microseconds
    of server time per file."""
    scope = "local " if local else ""
    return (f"reset all; set {scope}lock_timeout = {quote_literal(options['lock_timeout'])}; "
            f"set {scope}statement_timeout = {quote_literal(options['statement_timeout'])};\n")


def _apply_in_batch(conn: psycopg.Connection, batch: list[PendingFile], index: int,
                    options: dict) -> None:
    """Run one file inside the batch transaction; on failure raise the failure located."""
    import psycopg

    from dragonfly_ci.migrations.apply import MigrationFailed, failure_at
    from dragonfly_ci.migrations.plan import ends_transaction

    item = batch[index]
    prefix = _session(options)
    if item.controls_transaction:
        # The batch is the transaction: the file's own BEGIN/COMMIT must not end it,
        # and a ROLLBACK in a file cannot undo just that file: it fails the batch.
        parsed = item.parsed
        conn.execute(prefix)
        for stmt in parsed.statements:
            if ends_transaction(stmt):
                if stmt.node.get("kind") == "TRANS_STMT_ROLLBACK":
                    raise MigrationFailed(finding(
                        "migration/apply-failed",
                        f"{item.file.display} rolls back its own transaction: it would apply nothing",
                        location=Location(item.file.display, stmt.line, stmt.end_line, stmt.column),
                        hint="remove the ROLLBACK (or the file): every file runs in the batch's "
                        "transaction, and a failure there already undoes everything"))
                continue
            try:
                conn.execute(parsed.source.slice_bytes(stmt.start, stmt.end))
            except psycopg.Error as exc:
                raise MigrationFailed(failure_at(item.file, exc, parsed, stmt)) from None
    else:
        try:
            conn.execute(prefix + item.file.text)
        except psycopg.Error as exc:
            raise MigrationFailed(_locate(conn, batch, index, options, exc, len(prefix))) from None


def _locate(conn: psycopg.Connection, batch: list[PendingFile], index: int, options: dict,
            exc: Exception, prefix_chars: int) -> Finding:
    """Where a file of the batch failed. With a position from PostgreSQL that is all it
    takes; without one (raised at run time), the batch is rolled back, the files before
    this one are applied again and the file is replayed statement by statement, then all
    of it is rolled back."""
    from dragonfly_ci.migrations.apply import failure_at, locate_failure

    item = batch[index]
    if getattr(exc.diag, "statement_position", None):
        return failure_at(item.file, exc, None, None, prefix_chars)
    _rollback(conn)
    try:
        conn.execute("begin")
        for i in range(index):
            _apply_in_batch(conn, batch, i, options)
        conn.execute(_session(options))
        return locate_failure(conn, item.file, exc)
    except Exception:  # noqa: BLE001 - the files before no longer apply: say what we know
        return failure_at(item.file, exc, None, None)
    finally:
        _rollback(conn)


def _record_failure(conn: psycopg.Connection, started_at: datetime, t0: float, versions: list[str],
                    error: str, who: dict) -> None:
    from dragonfly_ci.migrations.ledger import record_run

    conn.execute("begin")
    record_run(conn, started_at=started_at, duration_ms=_ms(t0), outcome="failed", versions=versions,
               tool=f"dragonfly-ci {__version__}", error=error, who=who)
    conn.execute("commit")


def _rollback(conn: psycopg.Connection) -> None:
    import psycopg

    if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("rollback")


def _batch_title(batch: list[PendingFile]) -> str:
    if batch[0].outside_transaction:
        return f"{batch[0].file.display} (alone, outside a transaction)"
    ends = " (ends with an enum value added: committed before the next files)" \
        if batch[-1].adds_enum_value else ""
    return (f"{len(batch)} migration(s) in one transaction: {batch[0].file.version} … "
            f"{batch[-1].file.version}{ends}")


def _ms(t0: float) -> int:
    return int((time.perf_counter() - t0) * 1000)
