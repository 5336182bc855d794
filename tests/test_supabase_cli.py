"""Interoperability with the real Supabase CLI (the pinned npm release).

The CLI writes the ledger here and we check that `cli_split.split` returns
exactly the statements it stored, file by file: for the reference project and
the platform fixture pushed with `supabase db push`, and for every text of the
split corpus (invalid SQL included) stored with `migration repair --status
applied`, which records a file's statements without running them.

These tests need the CLI: `bash tests/supabase_cli/install.sh` (or
`$SUPABASE_CLI`). Without it they fail, saying so.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.migrations.cli_split import is_split_of, scanner_buffer_error, split
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.platform import bootstrap
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database, start_embedded
from tests.supabase_cli import Cli, CliMissing, MigrationRow, find_cli, parse_migration_list, project
from tests.test_cli_split import cli_corpus

REPO = Path(__file__).resolve().parent.parent
REFERENCE_MIGRATIONS = REPO / "supabase" / "migrations"
PLATFORM_MIGRATIONS = REPO / "tests" / "fixtures" / "platform_project" / "supabase" / "migrations"
FILE_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")  # the CLI's migrateFilePattern

Ledger = dict[str, tuple[str | None, list[str] | None]]


@pytest.fixture(scope="session")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    try:
        path = find_cli()
    except CliMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    return Cli(path, home=tmp_path_factory.mktemp("supabase-home"))


@pytest.fixture(scope="session")
def tcp_server() -> Iterator[EmbeddedServer]:
    """The CLI needs a TCP URL: a private embedded server listening on 127.0.0.1."""
    server = start_embedded(tcp=True)
    yield server
    server.stop()


@pytest.fixture
def database(tcp_server: EmbeddedServer) -> Iterator[str]:
    """A fresh database on the TCP server: its name."""
    name = create_database(tcp_server, prefix="cli")
    yield name
    drop_database(tcp_server, name)


def ledger(server: EmbeddedServer, database: str) -> Ledger:
    with connect(server.conninfo(database)) as conn:
        rows = conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations"
        ).fetchall()
    return {version: (name, statements) for version, name, statements in rows}


def migration_files(folder: Path) -> dict[str, tuple[str, str]]:
    """version -> (name, text) for the files the CLI applies."""
    found = {}
    for path in sorted(folder.iterdir()):
        match = FILE_NAME.match(path.name)
        if match:
            found[match.group(1)] = (match.group(2), path.read_text(encoding="utf-8"))
    assert found, f"no migration files in {folder}"
    return found


def differences(files: dict[str, tuple[str, str]], rows: Ledger) -> list[str]:
    """Each file whose ledger row is not (name, split(text)), described."""
    problems = []
    for version, (name, text) in files.items():
        if version not in rows:
            problems.append(f"{version}: no ledger row")
            continue
        stored_name, statements = rows[version]
        ours = split(text)
        if stored_name != name:
            problems.append(f"{version}: name {stored_name!r}, file says {name!r}")
        if statements != ours:
            first = next((i for i, (a, b) in enumerate(zip(statements or [], ours, strict=False)) if a != b),
                         min(len(statements or []), len(ours)))
            problems.append(
                f"{version}: {len(statements or [])} statements stored, split() gives {len(ours)}; "
                f"first difference at statement {first}:\n  CLI:  {(statements or [None])[first:first + 1]!r}"
                f"\n  ours: {ours[first:first + 1]!r}"
            )
    return problems


def push_and_compare(cli: Cli, server: EmbeddedServer, database: str, migrations: Path,
                     tmp_path: Path) -> None:
    with connect(server.conninfo(database), autocommit=True) as conn:
        bootstrap(conn, "supabase")
    workdir = project(tmp_path / "project", migrations)
    cli.db_push(server.url(database), workdir)
    files = migration_files(migrations)
    rows = ledger(server, database)
    assert sorted(rows) == sorted(files), "the ledger's versions are not the files' versions"
    assert differences(files, rows) == []


def test_push_reference_project(cli: Cli, tcp_server: EmbeddedServer, database: str, tmp_path: Path) -> None:
    push_and_compare(cli, tcp_server, database, REFERENCE_MIGRATIONS, tmp_path)


def test_push_platform_fixture(cli: Cli, tcp_server: EmbeddedServer, database: str, tmp_path: Path) -> None:
    push_and_compare(cli, tcp_server, database, PLATFORM_MIGRATIONS, tmp_path)


def test_repair_stores_what_split_returns_for_the_corpus(
    cli: Cli, tcp_server: EmbeddedServer, database: str, tmp_path: Path
) -> None:
    corpus = cli_corpus()
    files = {f"{20240101000000 + i}": (f"case_{i}", text) for i, (text, _) in enumerate(corpus.values())}
    workdir = project(tmp_path / "project", {f"{v}_{name}.sql": text for v, (name, text) in files.items()})
    cli.repair_applied(tcp_server.url(database), workdir, files)
    rows = ledger(tcp_server, database)
    names = dict(zip(files, corpus, strict=True))
    problems = [f"[{names[p.split(':')[0]]}] {p}" for p in differences(files, rows)]
    assert problems == []
    # The corpus's expected values are the CLI's too.
    for version, (_, expected) in zip(files, corpus.values(), strict=True):
        assert rows[version][1] == expected, names[version]


def test_repair_overwrites_stored_statements_with_the_current_file(
    cli: Cli, tcp_server: EmbeddedServer, database: str, tmp_path: Path
) -> None:
    version, name = "20240101000000", "edited"
    workdir = project(tmp_path / "project", {f"{version}_{name}.sql": "select 1;\nselect 2;\n"})
    cli.repair_applied(tcp_server.url(database), workdir, [version])
    path = workdir / "supabase" / "migrations" / f"{version}_{name}.sql"
    edited = "select 1;\n-- now three\nselect 3;\n"
    path.write_text(edited, encoding="utf-8")
    before = ledger(tcp_server, database)[version][1]
    assert before == ["select 1", "select 2"]
    assert not is_split_of(edited, before)
    cli.repair_applied(tcp_server.url(database), workdir, [version])
    assert ledger(tcp_server, database)[version][1] == split(edited) == ["select 1", "-- now three\nselect 3"]


def test_scanner_buffer_error_is_the_clis(cli: Cli, tcp_server: EmbeddedServer, database: str,
                                          tmp_path: Path) -> None:
    text = "select 1;\nselect '" + "x" * 5000 + "';\n"
    workdir = project(tmp_path / "project", {"20240101000000_long.sql": text})
    result = cli.db_push(tcp_server.url(database), workdir,
                         env={"SUPABASE_SCANNER_BUFFER_SIZE": "4KB"}, check=False)
    ours = scanner_buffer_error(text, "4KB")
    assert result.returncode != 0
    assert ours is not None and ours in result.stderr, result.stderr
    # Under a large enough buffer the same file goes through.
    cli.db_push(tcp_server.url(database), workdir, env={"SUPABASE_SCANNER_BUFFER_SIZE": "8KB"})
    assert scanner_buffer_error(text, "8KB") is None
    assert ledger(tcp_server, database)["20240101000000"][1] == split(text)


def test_migration_list_parsing(cli: Cli, tcp_server: EmbeddedServer, database: str, tmp_path: Path) -> None:
    workdir = project(tmp_path / "project", {
        "20240101000000_both.sql": "select 1;",
        "20240102000000_local_only.sql": "select 2;",
        "3_short.sql": "select 3;",
        "README.md": "skipped by the CLI",
    })
    url = tcp_server.url(database)
    cli.repair_applied(url, workdir, ["20240101000000"])
    with connect(tcp_server.conninfo(database), autocommit=True) as conn:
        conn.execute("insert into supabase_migrations.schema_migrations (version, name) "
                     "values ('20230101000000', 'dashboard')")
    expected = [
        MigrationRow("", "20230101000000", "2023-01-01 00:00:00"),
        MigrationRow("20240101000000", "20240101000000", "2024-01-01 00:00:00"),
        MigrationRow("20240102000000", "", "2024-01-02 00:00:00"),
        MigrationRow("3", "", "3"),
    ]
    assert cli.migration_list(url, workdir) == expected
    assert cli.migration_list(url, workdir, json_output=False) == expected


def test_parse_migration_list_text_table() -> None:
    table = (
        "\n  \n   Local            | Remote           | Time (UTC)            \n"
        "  ------------------|------------------|-----------------------\n"
        "   ` `              | `20230101000000` | `2023-01-01 00:00:00` \n"
        "   `20240101000000` | `20240101000000` | `2024-01-01 00:00:00` \n\n"
    )
    assert parse_migration_list(table) == [
        MigrationRow("", "20230101000000", "2023-01-01 00:00:00"),
        MigrationRow("20240101000000", "20240101000000", "2024-01-01 00:00:00"),
    ]
    assert parse_migration_list('{"migrations":[],"message":"Migrations listed"}') == []


# --- migrate and db push share one ledger, both ways round ------------------------------

VERSIONS = sorted(p.name.split("_")[0] for p in REFERENCE_MIGRATIONS.glob("*.sql"))


def _bootstrapped(server, database: str) -> str:
    with connect(server.conninfo(database), autocommit=True) as conn:
        bootstrap(conn, "supabase")
    return server.url(database)


def _migrate(workdir: Path, *args: str, monkeypatch, capsys) -> tuple[int, dict]:
    shutil.copy(REPO / "dragonfly.yml", workdir / "dragonfly.yml")
    (workdir / ".git").mkdir(exist_ok=True)
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["migrate", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_after_our_migrate_the_cli_has_nothing_to_do(cli, tcp_server, database, tmp_path, monkeypatch,
                                                     capsys):
    url = _bootstrapped(tcp_server, database)
    workdir = project(tmp_path / "work", REFERENCE_MIGRATIONS)
    code, report = _migrate(workdir, "--db-url", url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, report

    rows = cli.migration_list(url, workdir)
    assert sorted(r.remote for r in rows) == VERSIONS
    assert all(r.local == r.remote for r in rows)
    pushed = cli.db_push(url, workdir)
    assert "Remote database is up to date" in pushed.stdout + pushed.stderr


def test_after_the_cli_pushes_our_status_finds_no_false_edits(cli, tcp_server, database, tmp_path,
                                                              monkeypatch, capsys):
    url = _bootstrapped(tcp_server, database)
    workdir = project(tmp_path / "work", REFERENCE_MIGRATIONS)
    cli.db_push(url, workdir)
    code, report = _migrate(workdir, "status", "--db-url", url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, report
    assert report["findings"] == []  # nothing pending, nothing edited, nothing unknown
    assert report["facts"]["applied"] == str(len(VERSIONS))

    # And an edit after the CLI's push is caught, at its line.
    path = workdir / "supabase" / "migrations" / sorted(p.name for p in REFERENCE_MIGRATIONS.glob("*.sql"))[1]
    path.write_text(path.read_text().replace("p_limit < 1", "p_limit < 2", 1))
    code, report = _migrate(workdir, "status", "--db-url", url, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["ledger/applied-migration-edited"]
