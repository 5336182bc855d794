"""Environments: the project file's declarations, `.env` files, and the Target callers get."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dragonfly_ci import dotenv
from dragonfly_ci.cli import main
from dragonfly_ci.config import load_project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database
from dragonfly_ci.targets import (
    Target,
    environment,
    environment_secrets,
    read_variables,
    resolve_target,
)

PASSWORD = "Pl4nted-pw-Zq9"
REF = "devrefaaaaaaaaaaaaaa"

PROJECT = """\
version: 1
environments:
  dev:
    db_url_env: DEV_DATABASE_URL
    dotenv: .env.dev
    required: [SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY]
    supabase:
      url_env: SUPABASE_URL
      anon_key_env: SUPABASE_ANON_KEY
      service_role_key_env: SUPABASE_SERVICE_ROLE_KEY
  prod:
    db_url_env: PROD_DATABASE_URL
    protected: true
"""
NAMES = ("DEV_DATABASE_URL", "PROD_DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY",
         "SUPABASE_SERVICE_ROLE_KEY", "RAILWAY_TOKEN", "OTHER", "GITHUB_ACTIONS", "GITHUB_OUTPUT",
         "GITHUB_STEP_SUMMARY", "DRAGONFLY_DEBUG")


def jwt(role: str, ref: str = REF, **claims: object) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload = {"iss": "supabase", "ref": ref, "role": role, "iat": 1700000000, "exp": 4100000000, **claims}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl{role.replace('_', '')}"


ANON, SERVICE = jwt("anon"), jwt("service_role")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = (tmp_path / "repo").resolve()
    (root / ".git").mkdir(parents=True)
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "dragonfly.yml").write_text(PROJECT, encoding="utf-8")
    return root


def write_dotenv(root: Path, text: str) -> None:
    (root / ".env.dev").write_text(text, encoding="utf-8")


GOOD_DOTENV = f"""\
# dev project
DEV_DATABASE_URL=postgresql://postgres:{PASSWORD}@db.{REF}.supabase.co:5432/postgres
SUPABASE_URL=https://{REF}.supabase.co
SUPABASE_ANON_KEY={ANON}
export SUPABASE_SERVICE_ROLE_KEY='{SERVICE}'
RAILWAY_TOKEN="rw-token-planted"
"""


# ---------------------------------------------------------------- resolve_target


def test_env_reads_every_declared_value_from_the_dotenv_file(root: Path) -> None:
    write_dotenv(root, GOOD_DOTENV)
    target = resolve_target(load_project(cwd=root), db_url=None, env="dev")

    assert target.url == f"postgresql://postgres:{PASSWORD}@db.{REF}.supabase.co:5432/postgres"
    assert (target.env, target.protected) == ("dev", False)
    assert target.supabase_url == f"https://{REF}.supabase.co"
    assert (target.anon_key, target.service_role_key) == (ANON, SERVICE)
    assert target.variables["RAILWAY_TOKEN"] == "rw-token-planted"  # every key of the file
    assert PASSWORD not in target.label and "***" in target.label
    with pytest.raises(TypeError):
        target.variables["SUPABASE_URL"] = "x"  # type: ignore[index]


def test_no_repr_shows_a_value(root: Path) -> None:
    write_dotenv(root, GOOD_DOTENV)
    project = load_project(cwd=root)
    target = resolve_target(project, db_url=None, env="dev")
    variables = read_variables(project, environment(project, "dev"))
    for text in (repr(target), repr(variables), repr(variables.dotenv)):
        for secret in (PASSWORD, ANON, SERVICE, "rw-token-planted"):
            assert secret not in text


def test_secrets_list_every_secret_value(root: Path) -> None:
    write_dotenv(root, GOOD_DOTENV + 'OTHER_PRIVATE_KEY="line one\nline two"\n'
                 "CACHE_URL=redis://default:redispw-planted@cache:6379\n")
    target = resolve_target(load_project(cwd=root), db_url=None, env="dev")

    secrets = target.secrets
    for secret in (PASSWORD, ANON, SERVICE, "rw-token-planted", "line one", "line two",
                   "redispw-planted"):
        assert secret in secrets
    assert f"https://{REF}.supabase.co" not in secrets  # the API URL is not a secret
    assert all("\n" not in s and s for s in secrets)  # ::add-mask:: takes one line
    assert len(secrets) == len(set(secrets))


@pytest.mark.parametrize("password", ["Pl4nted/pw", "1234/pw", "Pl4nted?pw", "Pl4nted#pw@x", "Pl4nted@pw"])
def test_an_unencoded_password_is_neither_shown_nor_left_unmasked(password: str) -> None:
    # libpq and urllib disagree about where such a password ends: the label shows no URL.
    target = Target(f"postgresql://postgres:{password}@db.{REF}.supabase.co:5432/postgres", env="dev")
    assert "Pl4nted" not in target.label and "pw" not in target.label
    assert target.label.endswith("(environment dev)")
    assert password in target.secrets  # masked whole, as written


def test_secrets_of_a_target_without_environment() -> None:
    target = Target(f"host=db.internal dbname=app password={PASSWORD}", anon_key="a-key-1",
                    service_role_key="s-key-2")
    assert target.secrets == [PASSWORD, "a-key-1", "s-key-2"]


def test_environment_secrets_cover_the_protected_environments_env_doctor_reads(
        root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, GOOD_DOTENV)
    monkeypatch.setenv("PROD_DATABASE_URL", "postgresql://postgres:prod-pw-planted@db.prod/postgres")
    secrets = environment_secrets(load_project(cwd=root), "dev")
    assert {PASSWORD, ANON, SERVICE, "rw-token-planted", "prod-pw-planted"} <= set(secrets)
    with pytest.raises(BadInput, match="unknown environment"):
        environment_secrets(load_project(cwd=root), "nope")


def test_process_environment_wins_over_the_dotenv_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, GOOD_DOTENV)
    monkeypatch.setenv("SUPABASE_URL", "https://fromprocessaaaaaaaaaa.supabase.co")
    monkeypatch.setenv("DEV_DATABASE_URL", "postgresql://postgres@localhost:5432/postgres")
    project = load_project(cwd=root)
    target = resolve_target(project, db_url=None, env="dev")

    assert target.supabase_url == "https://fromprocessaaaaaaaaaa.supabase.co"
    assert target.url == "postgresql://postgres@localhost:5432/postgres"
    assert target.anon_key == ANON  # unset in the process: the file fills it
    origins = read_variables(project, environment(project, "dev")).origins
    assert origins["SUPABASE_URL"].file is None
    assert (origins["SUPABASE_ANON_KEY"].file, origins["SUPABASE_ANON_KEY"].line) == (".env.dev", 4)


def test_an_empty_process_variable_still_wins(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, GOOD_DOTENV)
    monkeypatch.setenv("DEV_DATABASE_URL", "")
    with pytest.raises(BadInput, match=r"\$DEV_DATABASE_URL is set but empty") as err:
        resolve_target(load_project(cwd=root), db_url=None, env="dev")
    assert err.value.file == "dragonfly.yml" and err.value.line == 4


def test_an_absent_dotenv_file_is_not_an_error(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_DATABASE_URL", f"postgresql://postgres:{PASSWORD}@localhost/postgres")
    target = resolve_target(load_project(cwd=root), db_url=None, env="dev")
    assert target.anon_key is None and target.supabase_url is None
    assert target.secrets == [PASSWORD]


def test_a_dotenv_syntax_error_is_bad_input_at_its_line(root: Path) -> None:
    write_dotenv(root, f"DEV_DATABASE_URL=postgresql://postgres:{PASSWORD}@localhost/postgres\n\n"
                 f"postgresql://postgres:{PASSWORD}@oops\n")
    with pytest.raises(BadInput) as err:
        resolve_target(load_project(cwd=root), db_url=None, env="dev")
    assert (err.value.exit_code, err.value.file, err.value.line) == (2, ".env.dev", 3)
    assert PASSWORD not in str(err.value)


def test_unset_url_names_the_file_and_line_to_fix(root: Path) -> None:
    write_dotenv(root, "SUPABASE_URL=https://x.supabase.co\n")
    with pytest.raises(BadInput, match=r"\$DEV_DATABASE_URL is not set") as err:
        resolve_target(load_project(cwd=root), db_url=None, env="dev")
    assert (err.value.file, err.value.line) == ("dragonfly.yml", 4)
    assert ".env.dev" in err.value.hint


def test_unknown_environment_is_bad_input(root: Path) -> None:
    with pytest.raises(BadInput, match=r"unknown environment 'staging' \(known: dev, prod\)") as err:
        resolve_target(load_project(cwd=root), db_url=None, env="staging")
    assert err.value.exit_code == 2 and err.value.line == 2


def test_db_url_needs_no_environment(root: Path) -> None:
    target = resolve_target(load_project(cwd=root), db_url=f"postgresql://u:{PASSWORD}@h/db", env=None)
    assert (target.env, target.variables, target.secrets) == (None, {}, [PASSWORD])


def test_environments_in_the_project_file_are_validated(root: Path) -> None:
    (root / "dragonfly.yml").write_text(PROJECT.replace("      url_env:", "      api_url_env:"))
    with pytest.raises(BadInput, match="unknown key 'api_url_env'") as err:
        load_project(cwd=root)
    assert err.value.line == 8
    (root / "dragonfly.yml").write_text(PROJECT.replace("[SUPABASE_URL,", "[9LIVES,"))
    with pytest.raises(BadInput, match="9LIVES") as err:
        load_project(cwd=root)
    assert err.value.line == 6


# ---------------------------------------------------------------- the live callers: migrate, rollback


@pytest.fixture
def live_url(pg_server: EmbeddedServer) -> Iterator[str]:
    name = create_database(pg_server, prefix="test")
    yield pg_server.url(name)
    drop_database(pg_server, name)


@pytest.mark.parametrize("command", [["migrate", "status"], ["migrate", "--dry-run"], ["rollback", "status"]])
def test_live_commands_take_the_database_from_the_dotenv_file(root: Path, live_url: str, command: list[str],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (root / "supabase" / "migrations" / "20240101000000_init.sql").write_text("create table t (id int);\n")
    write_dotenv(root, f'DEV_DATABASE_URL="{live_url}"  # the test server\n')
    monkeypatch.chdir(root)

    code = main([*command, "--env", "dev", "--format", "json"])
    out, err = capsys.readouterr()

    assert code == 0, (out, err)
    report = json.loads(out)
    assert report["facts"]["database"].endswith("(environment dev)")
    assert "20240101000000" in out


# ---------------------------------------------------------------- .env files


def parse(text: str, environ: dict[str, str] | None = None) -> dotenv.Dotenv:
    return dotenv.parse(text, file=".env", environ=environ or {})


def values(text: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    result = parse(text, environ)
    assert result.errors == []
    return {key: entry.value for key, entry in result.entries.items()}


@pytest.mark.parametrize(("text", "expected"), [
    ("A=1\n", {"A": "1"}),
    ("export A=1", {"A": "1"}),
    ("  A = spaced value   \n", {"A": "spaced value"}),
    ("A=value # comment\nB=x#not-a-comment\n", {"A": "value", "B": "x#not-a-comment"}),
    ("# only a comment\n\n   \nA=\n", {"A": ""}),
    ("A='single $B \\n \"kept\"' # comment\n", {"A": 'single $B \\n "kept"'}),
    ('A="tab\\tnew\\nquote\\" backslash\\\\ dollar\\${B} other\\q"',
     {"A": 'tab\tnew\nquote" backslash\\ dollar${B} other\\q'}),
    ('A="line one\nline two"\nB=2\n', {"A": "line one\nline two", "B": "2"}),
    ("A='line one\n# not a comment\n'\n", {"A": "line one\n# not a comment\n"}),
    ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ("\ufeffA=1", {"A": "1"}),
    ("A=x\nB=${A}/y\nC=\"${A}${A}\"\nD='${A}'\nE=$A\n",
     {"A": "x", "B": "x/y", "C": "xx", "D": "${A}", "E": "$A"}),
    ("A=https://x/?a=b&c=d", {"A": "https://x/?a=b&c=d"}),
], ids=["plain", "export", "spaces", "comments", "blank and empty", "single quotes", "double-quote escapes",
        "multiline double", "multiline single", "crlf", "bom", "expansion", "equals in value"])
def test_dotenv_values(text: str, expected: dict[str, str]) -> None:
    assert values(text) == expected


def test_dotenv_expansion_prefers_the_process_environment() -> None:
    environ = {"A": "process", "HOME_X": "h"}
    assert values("A=file\nB=${A}-${HOME_X}\n", environ) == {"A": "file", "B": "process-h"}


@pytest.mark.parametrize(("text", "line", "message"), [
    ("A=1\nnot a line with secret-xyz\nB=2\n", 2, "not a KEY=VALUE line"),
    ("A=1\n9A=secret-xyz\n", 2, "not a KEY=VALUE line"),
    ("A=1\nB=\"secret-xyz\nC=2\n", 2, "B: the double quote opened here is never closed"),
    ("A='secret-xyz'tail\n", 1, "A: unexpected text after the closing quote"),
    ("A=1\n\nA=secret-xyz\n", 3, "A is defined twice"),
    ("A=${UNDEFINED}secret-xyz\n", 1, "A: ${UNDEFINED} is not defined"),
    ("A=\"secret-xyz${oops\"\n", 1, "A: malformed ${...} reference"),
], ids=["no equals", "bad name", "unterminated", "after quote", "duplicate", "undefined", "malformed"])
def test_dotenv_errors_name_the_line_never_the_value(text: str, line: int, message: str) -> None:
    result = parse(text)
    assert [(e.line, e.message[:len(message)]) for e in result.errors][:1] == [(line, message)]
    for err in result.errors:
        assert "secret-xyz" not in err.message + err.hint
    with pytest.raises(BadInput) as raised:
        result.raise_first()
    assert (raised.value.file, raised.value.line) == (".env", line)


def test_dotenv_keeps_the_good_lines_around_a_bad_one() -> None:
    result = parse("A=1\nB='x'y\nC=3\n")
    assert {k: e.value for k, e in result.entries.items()} == {"A": "1", "C": "3"}
    assert [e.line for e in result.errors] == [2]


def test_an_unreadable_dotenv_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"A=\xff\n")
    result = dotenv.load(path, display=".env", environ={})
    assert [(e.line, e.message) for e in result.errors] == [(None, ".env file is not UTF-8")]
