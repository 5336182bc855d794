"""One migrator at a time: a session-level advisory lock, taken without blocking.

`create index concurrently` waits for every transaction that could see its
table, including a migrator blocked inside `pg_advisory_lock` in another
session: a blocking wait can deadlock with it. So the lock is taken with
`pg_try_advisory_lock` in a retry loop, as mature migration tools do, and the
waiting session holds no transaction between tries.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dragonfly_ci.errors import CouldNotCheck

if TYPE_CHECKING:
    import psycopg

# A stable 64-bit key, the same for every dragonfly-ci version.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"dragonfly-ci migrate").digest()[:8], "big", signed=True)
POLL_S = 0.25


@contextmanager
def migration_lock(conn: psycopg.Connection, wait_s: float) -> Iterator[float]:
    """Hold the lock for the block; yields how long it took to get it."""
    started = time.monotonic()
    while not conn.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() - started >= wait_s:
            raise CouldNotCheck(
                f"another migrator has held the migration lock for over {wait_s:g} s{_holder(conn)}",
                hint="wait for it to finish, or raise migrate.lock_wait / --lock-wait",
            )
        time.sleep(POLL_S)
    try:
        yield time.monotonic() - started
    finally:
        if not conn.closed:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))


def _holder(conn: psycopg.Connection) -> str:
    # A bigint advisory key is stored as classid (high half) and objid (low half).
    high, low = (LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF
    row = conn.execute(
        "select a.pid, a.application_name, a.backend_start from pg_locks l "
        "join pg_stat_activity a using (pid) where l.locktype = 'advisory' and l.granted "
        "and l.database = (select oid from pg_database where datname = current_database()) "
        "and l.classid = %s::bigint::oid and l.objid = %s::bigint::oid and l.objsubid = 1",
        (high, low),
    ).fetchone()
    if not row:
        return ""
    pid, app, since = row
    return f" (pid {pid}, {app or 'unknown application'}, connected since {since:%Y-%m-%d %H:%M:%S %Z})"
