"""The real Supabase CLI, for interoperability tests.

The CLI is the npm package `supabase` at the version in `version.txt`,
installed by `install.sh` into `.cache/supabase-cli` at the repository root, or
any executable named by `$SUPABASE_CLI`. Tests that need it fail (never skip)
when it is missing, with the command that installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLI_VERSION = (HERE / "version.txt").read_text(encoding="utf-8").strip()
INSTALL_PREFIX = REPO / ".cache" / "supabase-cli"
INSTALL_COMMAND = "bash tests/supabase_cli/install.sh"
ENV_VAR = "SUPABASE_CLI"
TIMEOUT_S = 300


class CliMissing(Exception):
    """The pinned CLI is not installed (or another version is)."""


def find_cli() -> Path:
    """`$SUPABASE_CLI`, else the install prefix's executable; checked to be the pinned version."""
    configured = os.environ.get(ENV_VAR)
    path = Path(configured) if configured else INSTALL_PREFIX / "node_modules" / ".bin" / "supabase"
    where = f"${ENV_VAR}={configured}" if configured else str(path)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise CliMissing(
            f"the Supabase CLI {CLI_VERSION} is not installed ({where} is not an executable). "
            f"Install it with `{INSTALL_COMMAND}` (npm; into .cache/supabase-cli), "
            f"or set {ENV_VAR} to a supabase {CLI_VERSION} executable."
        )
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60,
                             env=_quiet_env(None))
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliMissing(f"the Supabase CLI at {where} does not run: {exc}") from exc
    version = out.stdout.strip()
    if out.returncode != 0 or version != CLI_VERSION:
        raise CliMissing(
            f"the Supabase CLI at {where} reports {version or out.stderr.strip()!r}, "
            f"not {CLI_VERSION}: these tests compare with that release's splitter. "
            f"Run `{INSTALL_COMMAND}`."
        )
    return path


def _quiet_env(home: Path | None) -> dict[str, str]:
    env = {**os.environ, "SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}
    env.pop("SUPABASE_SCANNER_BUFFER_SIZE", None)
    if home is not None:
        env["HOME"] = str(home)  # the CLI writes telemetry ids and traces under ~/.supabase
    return env


def with_sslmode_disable(url: str) -> str:
    """The URL with `sslmode=disable` (the CLI tries TLS first otherwise)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("sslmode", "disable")
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Cli:
    path: Path
    home: Path  # a private $HOME for the CLI's own files

    def run(self, *args: str, workdir: Path, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `supabase ARGS --workdir WORKDIR`; raise with its output when it fails and `check`."""
        self.home.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [str(self.path), *args, "--workdir", str(workdir)],
            capture_output=True, text=True, timeout=TIMEOUT_S, env={**_quiet_env(self.home), **(env or {})},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"supabase {' '.join(args[:2])} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def db_push(self, db_url: str, workdir: Path, *, env: dict[str, str] | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("db", "push", "--db-url", with_sslmode_disable(db_url), "--yes",
                        workdir=workdir, env=env, check=check)

    def repair_applied(self, db_url: str, workdir: Path, versions: Iterable[str]) -> None:
        """`migration repair --status applied`: store the files' statements without running them."""
        self.run("migration", "repair", "--status", "applied", *versions,
                 "--db-url", with_sslmode_disable(db_url), "--yes", workdir=workdir)

    def migration_list(self, db_url: str, workdir: Path, *, json_output: bool = True) -> list[MigrationRow]:
        args = ["migration", "list", "--db-url", with_sslmode_disable(db_url)]
        if json_output:
            args += ["--output-format", "json"]
        return parse_migration_list(self.run(*args, workdir=workdir).stdout)


def project(workdir: Path, migrations: Path | dict[str, str]) -> Path:
    """A Supabase project folder for `--workdir`: `supabase/migrations/` copied or written.

    `migrations` is a folder to copy, or file names mapped to their text.
    """
    target = workdir / "supabase" / "migrations"
    if isinstance(migrations, Path):
        shutil.copytree(migrations, target)
    else:
        target.mkdir(parents=True)
        for name, text in migrations.items():
            (target / name).write_bytes(text.encode("utf-8"))
    return workdir


@dataclass(frozen=True)
class MigrationRow:
    """One row of `supabase migration list`: a version local, remote or both ("" when absent)."""

    local: str
    remote: str
    time: str


def parse_migration_list(output: str) -> list[MigrationRow]:
    """Rows of `supabase migration list` output, JSON (`--output-format json`) or the text table.

    The table looks like

           Local            | Remote           | Time (UTC)
          ------------------|------------------|-----------------------
           `20240101000000` | `20240101000000` | `2024-01-01 00:00:00`
           ` `              | `20230101000000` | `2023-01-01 00:00:00`

    where "` `" is an empty cell.
    """
    text = output.strip()
    if text.startswith("{"):
        listed = json.loads(text)["migrations"]
        return [MigrationRow(row["local"], row["remote"], row["time"]) for row in listed]
    rows = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 3 or cells[0] == "Local" or set("".join(cells)) <= {"-"}:
            continue
        local, remote, time = (cell.strip("`").strip() for cell in cells)
        rows.append(MigrationRow(local, remote, time))
    return rows
