"""Shared fixtures: one real PostgreSQL per test session, databases per test.

The server is the same embedded one the gates use in-process
(`shared_embedded()`), so gate runs and fixtures share it. The reference
migrations are built once into a template database; each test that needs them
gets its own `CREATE DATABASE ... TEMPLATE` copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dragonfly_ci.migrations.files import MigrationFile, discover
from dragonfly_ci.postgres.connect import connect
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database, shared_embedded

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def pg_server() -> EmbeddedServer:
    return shared_embedded()


@pytest.fixture
def fresh_db(pg_server: EmbeddedServer) -> Iterator[str]:
    """An empty database's conninfo."""
    name = create_database(pg_server, prefix="test")
    yield pg_server.conninfo(name)
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def reference_template(pg_server: EmbeddedServer) -> Iterator[str]:
    """A database built from the reference project, used only as a template."""
    from dragonfly_ci.migrations.apply import apply_files
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.postgres.platform import bootstrap

    name = create_database(pg_server, prefix="reference")
    files, _ = discover(REPO / "supabase" / "migrations", str)
    with connect(pg_server.conninfo(name), autocommit=True) as conn:
        bootstrap(conn, "supabase")
        outcome = apply_files(conn, files)
    assert outcome.failure is None, outcome.failure
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def reference_db(pg_server: EmbeddedServer, reference_template: str) -> Iterator[str]:
    """A fresh copy of the reference project's database: its conninfo."""
    name = create_database(pg_server, template=reference_template, prefix="test")
    yield pg_server.conninfo(name)
    drop_database(pg_server, name)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the reference project (dragonfly.yml + supabase/) in a git-less temp dir."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()  # marks the repository root, as a checkout would
    shutil.copy(REPO / "dragonfly.yml", root / "dragonfly.yml")
    shutil.copytree(REPO / "supabase", root / "supabase")
    return root


def add_migration(root: Path, name: str, sql: str) -> Path:
    """Write supabase/migrations/<name>.sql after every existing migration."""
    path = root / "supabase" / "migrations" / f"{name}.sql"
    path.write_text(sql, encoding="utf-8")
    return path


def migrations(tmp_path: Path, *texts: str) -> list[MigrationFile]:
    """Files m1, m2, ... with these texts in tmp_path/supabase/migrations, discovered."""
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts, start=1):
        (folder / f"2025010100000{i}_m{i}.sql").write_text(text, encoding="utf-8")
    files, _ = discover(folder, lambda p: p.relative_to(tmp_path).as_posix())
    return files


@pytest.fixture(scope="session")
def act_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """For the act tests (tests/act/): an export of this checkout for
    `--local-repository`, and one actions/setup cache, shared by the session so the
    toolkit's virtual environment is built once."""
    from tests.act import export_checkout

    root = tmp_path_factory.mktemp("act")
    return export_checkout(root / "release-actions"), root / "setup-cache"


@pytest.fixture
def railway() -> Iterator:
    """A loopback Railway API (tests/fakes/railway.py). A test that sent it a document
    or variables that do not validate against Railway's schema fails here."""
    from tests.fakes.railway import running

    with running() as fake:
        yield fake
    assert not fake.invalid, f"sent to Railway but invalid against its schema: {fake.invalid}"


@pytest.fixture
def world(railway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """A repository whose dragonfly.yml has a `railway:` section, and its project on the
    loopback Railway: worker (3 replicas in one region) and scheduler (2 + 1 in two
    regions) in production, worker (1) in staging; an account token in the environment."""
    from tests.railway_world import ACCOUNT_TOKEN, EU, PROJECT_FILE, PROJECT_TOKEN, STAGING_TOKEN, World

    project = railway.add_project("dragonfly", ["production", "staging"], ["worker", "scheduler", "web"])
    railway.add_instance(project, "production", "worker", replicas=3)
    railway.add_instance(project, "production", "scheduler", replicas=3, regions={"us-west2": 2, EU: 1})
    railway.add_instance(project, "staging", "worker", replicas=1)
    railway.account_tokens.add(ACCOUNT_TOKEN)
    railway.project_tokens[PROJECT_TOKEN] = (project["id"], project["environments"]["production"])
    railway.project_tokens[STAGING_TOKEN] = (project["id"], project["environments"]["staging"])
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "supabase" / "migrations").mkdir(parents=True)
    monkeypatch.chdir(repo)
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "RUNNER_TEMP", "RAILWAY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAILWAY_API_URL", railway.url)
    monkeypatch.setenv("RAILWAY_API_TOKEN", ACCOUNT_TOKEN)
    world = World(railway, project, repo, capsys, monkeypatch)
    world.write_project(PROJECT_FILE)
    return world
