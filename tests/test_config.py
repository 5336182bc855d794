"""The project file: where it is found, what it resolves to, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dragonfly_ci.config import SHADOW_URL_ENV, find_project_file, load_project
from dragonfly_ci.errors import BadInput


def repo(tmp_path: Path, *, migrations: bool = True) -> Path:
    root = (tmp_path / "repo").resolve()
    root.mkdir()
    (root / ".git").mkdir()
    if migrations:
        (root / "supabase" / "migrations").mkdir(parents=True)
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- finding the project file --------------------------------------------------------


def test_project_file_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    root = repo(tmp_path)
    project_file = write(root / "dragonfly.yml", "version: 1\n")
    deep = root / "app" / "src"
    deep.mkdir(parents=True)

    project = load_project(cwd=deep)

    assert project.file == project_file
    assert project.root == root
    assert project.repo_root == root
    assert project.supabase_dir == root / "supabase"
    assert project.migrations_dir == root / "supabase" / "migrations"
    assert project.doc is not None and project.doc.path == project_file


def test_project_file_above_the_repository_root_is_not_used(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(tmp_path / "dragonfly.yml", "version: 1\nsupabase_dir: elsewhere\n")
    sub = root / "sub"
    sub.mkdir()

    assert find_project_file(sub) is None
    project = load_project(cwd=sub)

    assert project.file is None
    assert project.root == root


def test_nearest_project_file_wins(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\n")
    inner = write(root / "svc" / "dragonfly.yml", "version: 1\n")
    (root / "svc" / "supabase" / "migrations").mkdir(parents=True)

    project = load_project(cwd=root / "svc")

    assert project.file == inner
    assert project.supabase_dir == root / "svc" / "supabase"
    assert project.repo_root == root


def test_project_file_option_as_a_file(tmp_path: Path) -> None:
    root = repo(tmp_path)
    custom = write(root / "ci" / "gates.yml", "version: 1\nsupabase_dir: ../supabase\n")

    project = load_project(Path("ci/gates.yml"), cwd=root)

    assert project.file == custom
    assert project.root == root / "ci"
    assert project.supabase_dir.resolve() == root / "supabase"


def test_project_file_option_as_a_folder(tmp_path: Path) -> None:
    root = repo(tmp_path)
    inside = write(root / "ci" / "dragonfly.yml", "version: 1\nsupabase_dir: ../supabase\n")

    project = load_project(root / "ci", cwd=tmp_path)

    assert project.file == inside


@pytest.mark.parametrize("given", ["missing.yml", "ci"])
def test_project_file_option_that_does_not_exist(tmp_path: Path, given: str) -> None:
    root = repo(tmp_path)
    (root / "ci").mkdir()

    with pytest.raises(BadInput) as caught:
        load_project(Path(given), cwd=root)

    err = caught.value
    assert err.exit_code == 2
    assert err.message == "project file not found"
    expected = root / given if given.endswith(".yml") else root / given / "dragonfly.yml"
    assert err.file == str(expected)
    assert "--project-file" in err.hint


def test_invalid_project_file_is_bad_input_at_its_line(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\nshadow:\n  platform: docker\n")

    with pytest.raises(BadInput) as caught:
        load_project(cwd=root)

    assert caught.value.exit_code == 2
    assert caught.value.line == 3
    assert "shadow.platform" in caught.value.message


# --- zero configuration ----------------------------------------------------------------


def test_zero_config_when_only_supabase_migrations_exist(tmp_path: Path) -> None:
    root = repo(tmp_path)

    project = load_project(cwd=root / "supabase" / "migrations")

    assert project.file is None
    assert project.doc is None
    assert project.root == root
    assert project.supabase_dir == root / "supabase"
    assert project.contract_file == root / "supabase" / "contract.yml"
    assert project.contract_required is False
    assert project.exposed_schemas == ("public",)
    assert project.platform == "supabase"
    assert project.shadow_url is None
    assumed = project.assumptions()
    assert "no dragonfly.yml" in assumed
    assert "supabase_dir=supabase" in assumed
    assert "platform=supabase" in assumed
    assert "exposed schemas public" in assumed
    assert "embedded shadow" in assumed


def test_zero_config_assumptions_name_config_toml_schemas(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "supabase" / "config.toml", '[api]\nschemas = ["public", "graphql_public", "ops"]\n')

    project = load_project(cwd=root)

    assert project.exposed_schemas == ("public", "graphql_public", "ops")
    assert "exposed schemas public, graphql_public, ops" in project.assumptions()


def test_no_project_file_and_no_supabase_dir(tmp_path: Path) -> None:
    root = repo(tmp_path, migrations=False)
    (root / "supabase").mkdir()  # without migrations/

    with pytest.raises(BadInput) as caught:
        load_project(cwd=root)

    err = caught.value
    assert err.exit_code == 2
    assert "no dragonfly.yml and no supabase/migrations" in err.message
    assert err.file == str(root)
    assert "--project-file" in err.hint


def test_supabase_dir_pointing_nowhere_names_the_project_file_and_line(tmp_path: Path) -> None:
    root = repo(tmp_path)
    project_file = write(root / "dragonfly.yml", "# project\nversion: 1\nsupabase_dir: db/supabase\n")

    with pytest.raises(BadInput) as caught:
        load_project(cwd=root)

    err = caught.value
    assert err.exit_code == 2
    assert err.file == str(project_file)
    assert err.line == 3
    assert "'db/supabase'" in err.message
    assert str(err).startswith(f"{project_file}:3: ")


# --- exposed schemas -------------------------------------------------------------------


def test_exposed_schemas_from_config_toml(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\n")
    write(root / "supabase" / "config.toml",
          'project_id = "x"\n[api]\nenabled = true\nschemas = ["public", "api"]\n')

    assert load_project(cwd=root).exposed_schemas == ("public", "api")


def test_exposed_schemas_in_the_project_file_override_config_toml(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\nexposed_schemas: [ops, api]\n")
    write(root / "supabase" / "config.toml", '[api]\nschemas = ["public"]\n')

    assert load_project(cwd=root).exposed_schemas == ("ops", "api")


def test_exposed_schemas_in_the_project_file_skip_a_broken_config_toml(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\nexposed_schemas: [ops]\n")
    write(root / "supabase" / "config.toml", "[api\n")

    assert load_project(cwd=root).exposed_schemas == ("ops",)


@pytest.mark.parametrize(
    "toml",
    [None, "", "[api]\nenabled = true\n", '[api]\nschemas = []\n', '[api]\nschemas = "ops"\n',
     '[db]\nport = 54322\n'],
)
def test_exposed_schemas_default_to_public(tmp_path: Path, toml: str | None) -> None:
    root = repo(tmp_path)
    if toml is not None:
        write(root / "supabase" / "config.toml", toml)

    assert load_project(cwd=root).exposed_schemas == ("public",)


def test_malformed_config_toml_is_bad_input(tmp_path: Path) -> None:
    root = repo(tmp_path)
    toml = write(root / "supabase" / "config.toml", '[api]\nschemas = ["public"\n')

    with pytest.raises(BadInput) as caught:
        load_project(cwd=root)

    assert caught.value.exit_code == 2
    assert caught.value.file == str(toml)
    assert caught.value.message.startswith("invalid TOML")


def test_non_utf8_config_toml_is_bad_input(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "supabase" / "config.toml").write_bytes(b'[api]\nschemas = ["caf\xe9"]\n')

    with pytest.raises(BadInput):
        load_project(cwd=root)


def test_config_toml_with_api_not_a_table(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "supabase" / "config.toml", "api = 1\n")

    try:
        schemas = load_project(cwd=root).exposed_schemas
    except BadInput:
        return
    assert schemas == ("public",)


# --- the rest of the file -------------------------------------------------------------


def test_contract_shadow_and_rules_from_the_project_file(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml",
          "version: 1\ncontract: api/contract.yml\nshadow:\n  url: postgres://u@h/db\n  platform: none\n"
          "rules:\n  contract/rpc-uncontracted: 'off'\n  contract/rpc-overloaded: error\n")

    project = load_project(cwd=root)

    assert project.contract_file == root / "api" / "contract.yml"
    assert project.contract_required is True
    assert project.shadow_url == "postgres://u@h/db"
    assert project.platform == "none"
    assert project.rules == {"contract/rpc-uncontracted": "off", "contract/rpc-overloaded": "error"}


def test_rule_can_be_switched_off_unquoted(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\nrules:\n  contract/rpc-uncontracted: off\n")

    assert load_project(cwd=root).rules == {"contract/rpc-uncontracted": "off"}


def test_resolve_shadow_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo(tmp_path)
    write(root / "dragonfly.yml", "version: 1\nshadow:\n  url: postgres://file/db\n")
    project = load_project(cwd=root)
    monkeypatch.delenv(SHADOW_URL_ENV, raising=False)

    assert project.resolve_shadow_url(None) == "postgres://file/db"
    monkeypatch.setenv(SHADOW_URL_ENV, "postgres://env/db")
    assert project.resolve_shadow_url(None) == "postgres://env/db"
    assert project.resolve_shadow_url("postgres://arg/db") == "postgres://arg/db"


def test_resolve_shadow_url_is_none_without_any(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo(tmp_path)
    monkeypatch.delenv(SHADOW_URL_ENV, raising=False)

    assert load_project(cwd=root).resolve_shadow_url(None) is None


def test_display_is_repository_relative_with_forward_slashes(tmp_path: Path) -> None:
    root = repo(tmp_path, migrations=False)
    write(root / "services" / "api" / "dragonfly.yml", "version: 1\n")
    migrations = root / "services" / "api" / "supabase" / "migrations"
    migrations.mkdir(parents=True)

    project = load_project(cwd=root / "services" / "api")

    assert project.repo_root == root
    assert project.display(migrations / "1_a.sql") == "services/api/supabase/migrations/1_a.sql"
    assert project.display(project.supabase_dir / ".." / "dragonfly.yml") == "services/api/dragonfly.yml"
    outside = tmp_path / "elsewhere.sql"
    assert project.display(outside) == outside.as_posix()
