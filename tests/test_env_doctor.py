"""env-doctor: an environment's configuration, checked without a database, and never leaked."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from dragonfly_ci.config import load_project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Finding, GateResult
from dragonfly_ci.gates import env_doctor
from dragonfly_ci.report import render
from dragonfly_ci.targets import resolve_target

DEV, PROD, OTHER = "devrefaaaaaaaaaaaaaa", "prodrefbbbbbbbbbbbbb", "otherrefcccccccccccc"
PASSWORD, PROD_PASSWORD = "Pl4nted-dev-pw", "Pl4nted-prod-pw"
NOW = 1_800_000_000

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
    supabase:
      url_env: PROD_SUPABASE_URL
      anon_key_env: PROD_SUPABASE_ANON_KEY
      service_role_key_env: PROD_SUPABASE_SERVICE_ROLE_KEY
"""
# Lines of the project file that findings about process variables point at.
LINE = {"DEV_DATABASE_URL": 4, "SUPABASE_URL": 6, "SUPABASE_ANON_KEY": 6, "SUPABASE_SERVICE_ROLE_KEY": 6}
ENV_NAMES = ("DEV_DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY",
             "PROD_DATABASE_URL", "PROD_SUPABASE_URL", "PROD_SUPABASE_ANON_KEY",
             "PROD_SUPABASE_SERVICE_ROLE_KEY", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")


def jwt(role: str, ref: str | None = DEV, *, exp: object = 4_100_000_000, tag: str = "") -> str:
    """A Supabase-shaped key; the signature is arbitrary (env-doctor never verifies it)."""
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload: dict[str, object] = {"iss": "supabase", "role": role, "iat": 1_700_000_000, "exp": exp}
    if ref:
        payload["ref"] = ref
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.PlantedSig{role}{tag}{ref}"


def db_url(ref: str = DEV, password: str = PASSWORD, *, query: str = "") -> str:
    return f"postgresql://postgres:{password}@db.{ref}.supabase.co:5432/postgres{query}"


def dev_values(ref: str = DEV) -> dict[str, str]:
    return {"DEV_DATABASE_URL": db_url(ref), "SUPABASE_URL": f"https://{ref}.supabase.co",
            "SUPABASE_ANON_KEY": jwt("anon", ref), "SUPABASE_SERVICE_ROLE_KEY": jwt("service_role", ref)}


PROD_VALUES = {"PROD_DATABASE_URL": db_url(PROD, PROD_PASSWORD),
               "PROD_SUPABASE_URL": f"https://{PROD}.supabase.co",
               "PROD_SUPABASE_ANON_KEY": jwt("anon", PROD),
               "PROD_SUPABASE_SERVICE_ROLE_KEY": jwt("service_role", PROD)}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = (tmp_path / "repo").resolve()
    (root / ".git").mkdir(parents=True)
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "dragonfly.yml").write_text(PROJECT, encoding="utf-8")
    return root


def write_dotenv(root: Path, values: dict[str, str | None]) -> None:
    """`.env.dev`: a comment on line 1, then one line per value (None: the key is left out)."""
    lines = ["# the dev project"] + [f"{k}={v}" for k, v in values.items() if v is not None]
    (root / ".env.dev").write_text("\n".join(lines) + "\n", encoding="utf-8")


def doctor(root: Path, env: str = "dev") -> GateResult:
    return env_doctor.run(load_project(cwd=root), env, now=NOW)


def found(result: GateResult, rule: str | None = None) -> list[Finding]:
    return [f for f in result.findings if rule in (None, f.rule)]


def only(result: GateResult, rule: str) -> Finding:
    matches = found(result, rule)
    assert len(matches) == 1, result.findings
    return matches[0]


def at(f: Finding) -> tuple[str, int | None]:
    assert f.location is not None
    return f.location.file, f.location.line


def with_prod(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(name, value)


# ---------------------------------------------------------------- all good


def test_a_good_environment_passes(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, dev_values())
    with_prod(monkeypatch)
    result = doctor(root)

    assert result.findings == []
    assert result.passed(strict=True)
    assert result.gate == "env-doctor"
    assert result.facts["variables"] == "4 of 4 set, 4 from .env.dev"
    assert result.facts["Supabase project"].startswith(DEV)
    assert result.facts["compared with prod"] == "yes"
    assert result.facts["database"] == f"postgres@db.{DEV}.supabase.co:5432/postgres"
    assert "eyJ…(JWT, role=service_role, expires 2099-" in result.facts["keys"]


def test_new_format_keys_and_a_local_stack_pass(root: Path) -> None:
    write_dotenv(root, {"DEV_DATABASE_URL": "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
                        "SUPABASE_URL": "http://127.0.0.1:54321",
                        "SUPABASE_ANON_KEY": "sb_publishable_abc123",
                        "SUPABASE_SERVICE_ROLE_KEY": jwt("service_role", None)})
    result = doctor(root)
    assert result.findings == []
    assert "compared with prod" not in result.facts or result.facts["compared with prod"].startswith("no")


def test_the_gate_checks_a_protected_environment_too(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_prod(monkeypatch)
    result = doctor(root, "prod")
    assert result.findings == []
    assert result.facts["environment"] == "prod (protected)"


# ---------------------------------------------------------------- missing, empty


def test_missing_and_empty_variables(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values: dict[str, str | None] = {**dev_values(), "SUPABASE_ANON_KEY": None, "SUPABASE_URL": ""}
    write_dotenv(root, values)
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "   ")
    result = doctor(root)

    missing = {f.subject: f for f in found(result, "env/variable-missing")}
    assert set(missing) == {"SUPABASE_ANON_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"}
    assert "is not set" in missing["SUPABASE_ANON_KEY"].message
    assert at(missing["SUPABASE_ANON_KEY"]) == ("dragonfly.yml", 6)  # where it is required
    assert "is set but empty" in missing["SUPABASE_URL"].message
    assert at(missing["SUPABASE_URL"]) == (".env.dev", 3)  # where the empty value is
    assert at(missing["SUPABASE_SERVICE_ROLE_KEY"]) == ("dragonfly.yml", 6)  # from the process
    assert "SUPABASE_ANON_KEY" in missing["SUPABASE_ANON_KEY"].hint
    assert ".env.dev" in missing["SUPABASE_ANON_KEY"].hint
    assert not result.passed()


def test_the_database_url_is_always_required(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": None})
    f = only(doctor(root), "env/variable-missing")
    assert f.subject == "DEV_DATABASE_URL" and at(f) == ("dragonfly.yml", 4)


def test_an_empty_process_variable_hiding_the_file_says_so(root: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, dev_values())
    monkeypatch.setenv("SUPABASE_URL", "")
    f = only(doctor(root), "env/variable-missing")
    assert "hides the value in .env.dev" in f.hint


def test_declared_but_not_required_variables_are_not_checked_when_unset(root: Path) -> None:
    (root / "dragonfly.yml").write_text(PROJECT.replace(
        "    required: [SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY]\n", ""))
    write_dotenv(root, {"DEV_DATABASE_URL": db_url()})
    result = doctor(root)
    assert result.findings == []
    assert "SUPABASE_ANON_KEY" in result.facts["not set, not required"]


# ---------------------------------------------------------------- malformed values


@pytest.mark.parametrize(("url", "message"), [
    (f"mysql://root:{PASSWORD}@db.example.com/app", "must start with postgresql://"),
    (f"postgresql://postgres:{PASSWORD}@db.{DEV}.supabase.co:5432", "names no database"),
    (f"postgresql://postgres:{PASSWORD}@/postgres", "names no host"),
    (f"postgresql://postgres:{PASSWORD}@db.{DEV}.supabase.co:54x2/postgres", "percent-encoded"),
    (f"postgresql://postgres:{PASSWORD}@x/y@db.{DEV}.supabase.co:5432/postgres", "percent-encoded"),
    (f"postgresql://postgres:{PASSWORD}@db.{DEV}.supabase.co/postgres?sslmode=on", "unknown sslmode"),
    (f"postgresql://postgres:{PASSWORD}@db.{DEV}.supabase.co/postgres?colour=blue", "does not parse"),
    (f"just some text with {PASSWORD}", "does not parse"),
], ids=["scheme", "no database", "no host", "port", "unencoded @ and /", "sslmode", "query", "text"])
def test_a_malformed_database_url(root: Path, url: str, message: str) -> None:
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": url})
    result = doctor(root)
    f = only(result, "env/database-url-invalid")
    assert message in f.message
    assert f.message.startswith("DEV_DATABASE_URL ")
    assert at(f) == (".env.dev", 2)
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in f.hint
    assert_no_secret(result, PASSWORD)


def test_a_remote_database_without_tls_is_a_warning(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": db_url(query="?sslmode=disable")})
    result = doctor(root)
    f = only(result, "env/database-url-insecure")
    assert f.severity.value == "warning" and at(f) == (".env.dev", 2)
    assert result.passed() and not result.passed(strict=True)


def test_a_local_database_without_tls_is_fine(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": "postgresql://postgres@localhost:54322/postgres"
                        "?sslmode=disable"})
    assert found(doctor(root), "env/database-url-insecure") == []


@pytest.mark.parametrize(("url", "message"), [
    (f"{DEV}.supabase.co", "not an http(s) URL"),
    (f"http://{DEV}.supabase.co", "use https://"),
    (f"https://{DEV}.supabase.co/rest/v1", "has a path"),
], ids=["no scheme", "http", "path"])
def test_a_malformed_api_url(root: Path, url: str, message: str) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_URL": url})
    f = only(doctor(root), "env/supabase-url-invalid")
    assert message in f.message and at(f) == (".env.dev", 3)


@pytest.mark.parametrize(("key", "message"), [
    ("not-a-jwt-PlantedKey", "neither a JWT"),
    ("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.PlantedKey", "not base64url-encoded JSON"),
    (jwt("anon").replace(".PlantedSig", ".Planted Sig"), "neither a JWT"),
    (jwt("anon") + "\n", "trailing whitespace"),
    (".".join([jwt("anon").split(".")[0], base64.urlsafe_b64encode(b'{"ref": "x"}').decode().rstrip("="),
               "PlantedKey"]), "without a role claim"),
    (jwt("anon", exp="soon"), "exp claim is not a number"),
], ids=["text", "payload not json", "space", "trailing newline", "no role", "exp not a number"])
def test_a_key_that_is_not_a_jwt(root: Path, monkeypatch: pytest.MonkeyPatch, key: str, message: str) -> None:
    write_dotenv(root, dev_values())
    monkeypatch.setenv("SUPABASE_ANON_KEY", key)  # from the process: located at the project file
    result = doctor(root)
    f = only(result, "env/key-invalid")
    assert message in f.message and f.subject == "SUPABASE_ANON_KEY"
    assert at(f) == ("dragonfly.yml", LINE["SUPABASE_ANON_KEY"])
    assert_no_secret(result, key.strip())


def test_the_service_role_variable_holding_the_anon_key(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_SERVICE_ROLE_KEY": jwt("anon", tag="x")})
    result = doctor(root)
    f = only(result, "env/key-role-mismatch")
    assert f.subject == "SUPABASE_SERVICE_ROLE_KEY" and at(f) == (".env.dev", 5)
    assert "should hold the service_role key but holds eyJ…(JWT, role=anon" in f.message
    assert "Row Level Security" not in f.message


def test_the_anon_variable_holding_a_secret_key_warns_about_rls(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_ANON_KEY": "sb_secret_PlantedKey123"})
    result = doctor(root)
    f = only(result, "env/key-role-mismatch")
    assert f.subject == "SUPABASE_ANON_KEY"
    assert "holds sb_secret_…" in f.message and "bypasses Row Level Security" in f.message
    assert_no_secret(result, "sb_secret_PlantedKey123")


def test_an_expired_key(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_ANON_KEY": jwt("anon", exp=NOW - 86_400)})
    f = only(doctor(root), "env/key-expired")
    assert f.subject == "SUPABASE_ANON_KEY" and at(f) == (".env.dev", 4)
    assert "expired on 2027-01-14" in f.message


# ---------------------------------------------------------------- projects that disagree


def test_refs_that_disagree_point_at_the_odd_one_out(root: Path) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_ANON_KEY": jwt("anon", OTHER)})
    f = only(doctor(root), "env/project-ref-mismatch")
    assert f.subject == "SUPABASE_ANON_KEY" and at(f) == (".env.dev", 4)
    assert f"is for Supabase project {OTHER}" in f.message
    assert f"DEV_DATABASE_URL, SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY are for project {DEV}" in f.message


def test_the_pooler_user_names_the_project(root: Path) -> None:
    pooler = f"postgres://postgres.{OTHER}:{PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": pooler})
    f = only(doctor(root), "env/project-ref-mismatch")
    assert f.subject == "DEV_DATABASE_URL" and at(f) == (".env.dev", 2)
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": pooler.replace(OTHER, DEV)})
    assert doctor(root).findings == []


def test_dev_pointing_at_the_production_project(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_prod(monkeypatch)
    prod_in_dev = {"DEV_DATABASE_URL": PROD_VALUES["PROD_DATABASE_URL"],
                   "SUPABASE_URL": PROD_VALUES["PROD_SUPABASE_URL"],
                   "SUPABASE_ANON_KEY": PROD_VALUES["PROD_SUPABASE_ANON_KEY"],
                   "SUPABASE_SERVICE_ROLE_KEY": PROD_VALUES["PROD_SUPABASE_SERVICE_ROLE_KEY"]}
    write_dotenv(root, prod_in_dev)
    result = doctor(root)

    by_variable = {f.subject: f for f in found(result, "env/points-at-production")}
    assert set(by_variable) == set(prod_in_dev)
    assert [f.rule for f in result.findings] == ["env/points-at-production"] * 4
    db = by_variable["DEV_DATABASE_URL"]
    assert at(db) == (".env.dev", 2)
    assert "points at protected environment prod" in db.message
    assert f"project {PROD}, like PROD_DATABASE_URL" in db.message
    assert "the same database as PROD_DATABASE_URL" in db.message
    service = by_variable["SUPABASE_SERVICE_ROLE_KEY"]
    assert "the same key as PROD_SUPABASE_SERVICE_ROLE_KEY" in service.message
    assert_no_secret(result, PROD_PASSWORD, *PROD_VALUES.values())


def test_one_production_value_in_dev_is_caught(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_prod(monkeypatch)
    prod_key = PROD_VALUES["PROD_SUPABASE_SERVICE_ROLE_KEY"]
    write_dotenv(root, {**dev_values(), "SUPABASE_SERVICE_ROLE_KEY": prod_key})
    result = doctor(root)
    assert sorted(f.rule for f in result.findings) == ["env/points-at-production", "env/project-ref-mismatch"]
    assert {f.subject for f in result.findings} == {"SUPABASE_SERVICE_ROLE_KEY"}


def test_the_same_local_database_as_production_is_caught_without_refs(root: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROD_DATABASE_URL", f"postgresql://admin:{PROD_PASSWORD}@db.internal:5432/app")
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": "postgresql://dev@db.internal/app?sslmode=require"})
    f = only(doctor(root), "env/points-at-production")
    assert "the same database as PROD_DATABASE_URL (db.internal:5432/app)" in f.message


def test_production_is_not_compared_when_its_variables_are_absent(root: Path) -> None:
    write_dotenv(root, dev_values())
    result = doctor(root)
    assert result.findings == []
    assert result.facts["compared with prod"].startswith("no")


# ---------------------------------------------------------------- .env files


def test_a_dotenv_syntax_error_is_reported_at_its_line(root: Path) -> None:
    values = dev_values()
    text = (f"# dev\nDEV_DATABASE_URL={values['DEV_DATABASE_URL']}\n"
            f"SUPABASE_URL={values['SUPABASE_URL']}\n"
            f"this line has no equals sign {PASSWORD}\n"
            f"SUPABASE_ANON_KEY={values['SUPABASE_ANON_KEY']}\n"
            f"SUPABASE_SERVICE_ROLE_KEY=\"{values['SUPABASE_SERVICE_ROLE_KEY']}\n")
    (root / ".env.dev").write_text(text, encoding="utf-8")
    result = doctor(root)

    errors = found(result, "env/dotenv-invalid")
    assert [at(f) for f in errors] == [(".env.dev", 4), (".env.dev", 6)]
    assert "not a KEY=VALUE line" in errors[0].message
    assert "never closed" in errors[1].message
    # The lines that parse still count; the unterminated one is missing.
    assert [f.subject for f in found(result, "env/variable-missing")] == ["SUPABASE_SERVICE_ROLE_KEY"]
    assert_no_secret(result, PASSWORD)


def test_process_environment_wins_over_the_dotenv_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(root, {**dev_values(), "SUPABASE_ANON_KEY": "garbage"})
    monkeypatch.setenv("SUPABASE_ANON_KEY", jwt("anon"))
    result = doctor(root)
    assert result.findings == []
    assert result.facts["variables"] == "4 of 4 set, 3 from .env.dev"


def test_an_absent_dotenv_file_uses_the_process_environment(root: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in dev_values().items():
        monkeypatch.setenv(name, value)
    result = doctor(root)
    assert result.findings == []
    assert "absent" in result.facts[".env file"]


def test_unknown_environment_is_bad_input(root: Path) -> None:
    with pytest.raises(BadInput, match=r"unknown environment 'staging' \(known: dev, prod\)") as err:
        doctor(root, "staging")
    assert (err.value.exit_code, err.value.file, err.value.line) == (2, "dragonfly.yml", 2)


def test_rule_overrides_apply(root: Path) -> None:
    (root / "dragonfly.yml").write_text(PROJECT + "rules:\n  env/key-expired: warning\n")
    write_dotenv(root, {**dev_values(), "SUPABASE_ANON_KEY": jwt("anon", exp=NOW - 1)})
    result = doctor(root)
    assert only(result, "env/key-expired").severity.value == "warning" and result.passed()


# ---------------------------------------------------------------- secrets never reach output


def rendered(result: GateResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Everything every report format writes: text, JSON, and GitHub's log, outputs and summary."""
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    (tmp_path / "output").touch()
    text = []
    for fmt in ("text", "json", "github"):
        stream = io.StringIO()
        render(result, fmt, strict=False, stream=stream, color=False)
        text.append(stream.getvalue())
    text += [(tmp_path / "summary.md").read_text(), (tmp_path / "output").read_text()]
    return "\n".join(text)


def assert_no_secret(result: GateResult, *secrets: str) -> None:
    document = json.dumps({"findings": [vars(f) | {"severity": f.severity.value, "location": str(f.location)}
                                        for f in result.findings], "facts": result.facts})
    for secret in secrets:
        assert secret not in document, secret


def test_no_output_contains_a_planted_password_or_key(root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with_prod(monkeypatch)
    planted_anon, planted_service = jwt("anon", OTHER, exp=NOW - 5), jwt("anon", PROD, tag="svc")
    write_dotenv(root, {"DEV_DATABASE_URL": PROD_VALUES["PROD_DATABASE_URL"] + "?sslmode=allow",
                        "SUPABASE_URL": f"https://{DEV}.supabase.co/rest/v1",
                        "SUPABASE_ANON_KEY": planted_anon,
                        "SUPABASE_SERVICE_ROLE_KEY": planted_service})
    # The CLI can mask every one of them before printing anything ...
    target = resolve_target(load_project(cwd=root), db_url=None, env="dev")
    assert {PROD_PASSWORD, planted_anon, planted_service} <= set(target.secrets)
    (root / ".env.dev").write_text((root / ".env.dev").read_text() + f"BROKEN {PASSWORD}\nX='{PASSWORD}\n")
    result = doctor(root)
    rules = {f.rule for f in result.findings}
    assert {"env/dotenv-invalid", "env/database-url-insecure", "env/supabase-url-invalid", "env/key-expired",
            "env/key-role-mismatch", "env/project-ref-mismatch", "env/points-at-production"} <= rules

    output = rendered(result, tmp_path, monkeypatch)
    assert "env/points-at-production" in output  # the reports are really there
    secrets = [PASSWORD, PROD_PASSWORD, planted_anon, planted_service, *PROD_VALUES.values()]
    secrets += [s.split(".")[2] for s in (planted_anon, planted_service)]  # the signatures alone
    for secret in secrets:  # ... and no report contains one.
        assert secret not in output, secret


def test_no_output_contains_a_malformed_url_s_password(root: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Unencoded '#' and '@': URL parsers disagree about where the password ends.
    password = "Pl4nted#pw@x"
    write_dotenv(root, {**dev_values(), "DEV_DATABASE_URL": f"'postgresql://postgres:{password}@db.{DEV}.supabase.co/postgres'"})
    output = rendered(doctor(root), tmp_path, monkeypatch)
    for fragment in (password, "Pl4nted", "pw@x"):
        assert fragment not in output
