"""Make a fresh database look like the hosted platform the migrations were written for.

Real Supabase migrations assume what every hosted project has before the first
migration runs: the roles anon, authenticated, service_role and friends, the
auth, storage, realtime and vault schemas, pgcrypto and uuid-ossp in schema
`extensions`, the supabase_realtime publication, Supabase's default privileges
and a search path that includes `extensions`. `bootstrap(conn, "supabase")`
provides all of that (see docs/platform.md); `bootstrap(conn, "none")` leaves a
plain PostgreSQL database alone.

Extensions the embedded server lacks (pgcrypto, pg_net, pg_cron, ...) are
offered as stand-ins from `stand_ins/extension`, which the embedded server puts
after `$system` in `extension_control_path`: a real extension always wins.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

PLATFORMS: tuple[str, ...] = ("supabase", "none")

# Stand-in extensions shipped in dragonfly_ci/postgres/stand_ins/extension.
STAND_IN_EXTENSIONS: tuple[str, ...] = (
    "pgcrypto",
    "uuid-ossp",
    "pg_net",
    "http",
    "pg_cron",
    "pgmq",
    "pg_jsonschema",
    "wrappers",
    "supabase_vault",
    "hypopg",
    "plpgsql_check",
)


@cache
def bootstrap_sql(platform: str) -> bytes:
    """The bootstrap script for `platform`, as sent to the server."""
    if platform not in PLATFORMS or platform == "none":
        raise ValueError(f"no bootstrap script for platform {platform!r}")
    path = resources.files("dragonfly_ci") / "postgres" / "bootstrap" / f"{platform}.sql"
    return path.read_bytes()


def bootstrap(conn: psycopg.Connection, platform: str) -> None:
    """Prepare the database `conn` is connected to for `platform`'s migrations.

    The script goes in one round trip (a multi-statement query without
    parameters uses the simple protocol, so it runs as one implicit
    transaction). It is idempotent and safe to run in several databases of one
    server at once. It leaves the session's search_path set as the platform's.
    """
    if platform == "none":
        return
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    conn.execute(bootstrap_sql(platform))
