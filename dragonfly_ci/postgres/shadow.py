"""A shadow database: a fresh database, bootstrapped, ready for migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.server import (
    ExternalServer,
    Server,
    create_database,
    drop_database,
    shared_embedded,
)

if TYPE_CHECKING:
    import psycopg

    from dragonfly_ci.migrations.apply import ApplyOutcome
    from dragonfly_ci.migrations.files import MigrationFile


@dataclass
class Shadow:
    server: Server
    dbname: str
    conn: psycopg.Connection  # autocommit, the session migrations run in
    platform: str

    @property
    def label(self) -> str:
        return f"{self.server.label}, platform {self.platform}"


def server_for(url: str | None) -> Server:
    """The user's server when a URL is given, else this process's embedded one."""
    return ExternalServer(url) if url else shared_embedded()


@contextmanager
def open_shadow(url: str | None, platform: str, *, prefix: str = "shadow") -> Iterator[Shadow]:
    from dragonfly_ci.postgres.platform import bootstrap

    server = server_for(url)
    dbname = create_database(server, prefix=prefix)
    try:
        with connect(server.conninfo(dbname), autocommit=True, purpose="the shadow database") as conn:
            bootstrap(conn, platform)
        # A new session starts from the database settings the bootstrap made (the search
        # path with `extensions`), as the Supabase CLI's session does on a hosted project;
        # RESET ALL between files returns to them.
        with connect(server.conninfo(dbname), autocommit=True, purpose="the shadow database") as conn:
            yield Shadow(server, dbname, conn, platform)
    finally:
        drop_database(server, dbname)


@dataclass
class Build:
    """A shadow with the project's migrations applied (as far as they apply)."""

    shadow: Shadow
    files: list[MigrationFile]
    outcome: ApplyOutcome

    def require_applied(self, purpose: str) -> None:
        """Bad input when a migration failed: `purpose` cannot be done without them."""
        from dragonfly_ci.errors import BadInput

        failure = self.outcome.failure
        if failure:
            where = failure.location
            raise BadInput(failure.message, file=where.file if where else None,
                           line=where.line if where else None,
                           hint=f"the migrations must apply before {purpose}")


@contextmanager
def build_from_migrations(files: list[MigrationFile], url: str | None, platform: str) -> Iterator[Build]:
    """Open a shadow and apply `files` to it; the shadow is removed on exit."""
    from dragonfly_ci.migrations.apply import apply_files

    with open_shadow(url, platform) as shadow:
        yield Build(shadow, files, apply_files(shadow.conn, files))
