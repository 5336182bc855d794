"""Environments, and which live database a command works on: `--db-url URL` or `--env NAME`.

The one place environment names become values. An environment declared in
the project file names the variables that hold its database URL, its Supabase
API URL and keys, and an optional `.env` file. A variable already set in the
process environment wins over the file, as dotenv tools do; the file only
fills variables that are unset.

Values are secrets: `Target.label` shows the URL with its password removed,
`Target.secrets` lists every secret value so the CLI can mask them in CI logs
before anything is printed, and no repr shows a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

from dragonfly_ci.config import Project
from dragonfly_ci.dotenv import Dotenv
from dragonfly_ci.dotenv import load as load_dotenv
from dragonfly_ci.errors import BadInput
from dragonfly_ci.postgres.connect import password_of, redact_url, written_password

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|CREDENTIAL|PRIVATE", re.IGNORECASE)
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_NO_VALUES: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class SupabaseVariables:
    """Which variables hold the Supabase API URL and keys (their names, never values)."""

    url_env: str | None = None
    anon_key_env: str | None = None
    service_role_key_env: str | None = None


@dataclass(frozen=True)
class Environment:
    """An environment as the project file declares it."""

    name: str
    db_url_env: str
    protected: bool = False
    dotenv: Path | None = None  # absolute; the file may be absent
    required: tuple[str, ...] = ()
    supabase: SupabaseVariables = field(default_factory=SupabaseVariables)

    @property
    def variable_names(self) -> tuple[str, ...]:
        """Every variable the environment names, each once, in declaration order."""
        names = [self.db_url_env, *self.required, self.supabase.url_env, self.supabase.anon_key_env,
                 self.supabase.service_role_key_env]
        return tuple(dict.fromkeys(n for n in names if n))

    def declared_at(self) -> dict[str, tuple[object, ...]]:
        """Each variable name -> the project-file key path that first names it."""
        base = ("environments", self.name)
        places: dict[str, tuple[object, ...]] = {self.db_url_env: (*base, "db_url_env")}
        for i, name in enumerate(self.required):
            places.setdefault(name, (*base, "required", i))
        for key in ("url_env", "anon_key_env", "service_role_key_env"):
            name = getattr(self.supabase, key)
            if name:
                places.setdefault(name, (*base, "supabase", key))
        return places


def environments(project: Project) -> dict[str, Environment]:
    return {name: _environment(project, name, spec) for name, spec in project.environments.items()}


def protected_others(project: Project, name: str) -> list[Environment]:
    """The protected environments other than `name`: those env-doctor compares `name` with."""
    return [e for e in environments(project).values() if e.protected and e.name != name]


def environment(project: Project, name: str) -> Environment:
    """The environment called `name`, or BadInput naming the ones declared."""
    spec = project.environments.get(name)
    if spec is None:
        known = ", ".join(sorted(project.environments)) or "none declared"
        raise BadInput(
            f"unknown environment {name!r} (known: {known})",
            file=project.file and project.display(project.file),
            line=project.doc.key_line(("environments",)) if project.doc else None,
            hint="declare it under environments: in dragonfly.yml, with db_url_env naming "
            "the variable that holds its database URL",
        )
    return _environment(project, name, spec)


def _environment(project: Project, name: str, spec: Mapping[str, Any]) -> Environment:
    # The project file's schema has checked every type here.
    supabase = spec.get("supabase") or {}
    file = spec.get("dotenv")
    return Environment(
        name=name,
        db_url_env=spec["db_url_env"],
        protected=bool(spec.get("protected")),
        dotenv=(project.root / file) if file else None,
        required=tuple(spec.get("required") or ()),
        supabase=SupabaseVariables(supabase.get("url_env"), supabase.get("anon_key_env"),
                                   supabase.get("service_role_key_env")),
    )


@dataclass(frozen=True)
class Origin:
    """Where a variable's value came from: a `.env` line, or the process environment."""

    file: str | None = None  # the .env file as findings show it; None: the process environment
    line: int | None = None


@dataclass(frozen=True)
class Variables:
    """An environment's variables: the process environment over its `.env` file."""

    values: Mapping[str, str] = field(repr=False)  # read-only
    origins: Mapping[str, Origin]
    dotenv: Dotenv | None  # None: no file declared, or it does not exist
    dotenv_display: str | None = None  # the declared file as findings show it

    def get(self, name: str | None) -> str | None:
        return self.values.get(name) if name else None


def read_variables(project: Project, env: Environment,
                   environ: Mapping[str, str] | None = None) -> Variables:
    """The environment's variables and the `.env` file's, process values first.

    Never raises for a bad `.env` file: its errors are in `.dotenv.errors`
    (resolve_target raises the first; env-doctor reports them all), and the
    entries it could read still count.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    parsed = display = None
    if env.dotenv is not None:
        display = project.display(env.dotenv)
        if env.dotenv.exists():
            parsed = load_dotenv(env.dotenv, display=display, environ=environ)
            for key, entry in parsed.entries.items():
                values[key], origins[key] = entry.value, Origin(display, entry.line)
    for name in [*env.variable_names, *values]:
        if name in environ:
            values[name], origins[name] = environ[name], Origin()
    return Variables(MappingProxyType(values), MappingProxyType(origins), parsed, display)


@dataclass(frozen=True)
class Target:
    url: str = field(repr=False)
    env: str | None = None
    protected: bool = False
    # The environment's variables (process over .env), read-only; never printed.
    variables: Mapping[str, str] = field(default_factory=lambda: _NO_VALUES, repr=False, compare=False)
    supabase_url: str | None = None
    anon_key: str | None = field(default=None, repr=False)
    service_role_key: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        where = redact_url(self.url) if parsers_agree(self.url) else "(database URL not shown: " \
            "percent-encode the @ / ? # : in its password)"
        return f"{where} (environment {self.env})" if self.env else where

    @property
    def secrets(self) -> list[str]:
        """Values to mask in CI logs before anything else is printed: the database
        password, the API keys, and the variables whose name or shape says secret
        (a multi-line value is masked line by line, as `::add-mask::` needs)."""
        return secrets_of(self.url, [self.anon_key, self.service_role_key], self.variables)


def secrets_of(url: str | None, keys: Iterable[str | None], variables: Mapping[str, str]) -> list[str]:
    """The database URL's password, the keys, and every secret in `variables`."""
    found: list[str | None] = [*(_passwords(url) if url else []), *keys]
    for name, value in variables.items():
        found += _passwords(value)
        if _SECRET_NAME.search(name) or _JWT.match(value.strip()):
            found.append(value)
    lines = (line.strip() for value in found if value for line in value.splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def environment_secrets(project: Project, name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """What `env-doctor --env NAME` reads, so the CLI can mask it first: the secrets of
    environment NAME and of every protected environment it is compared with."""
    wanted = [environment(project, name), *protected_others(project, name)]
    found: list[str] = []
    for env in wanted:
        variables = read_variables(project, env, environ)
        found += secrets_of(variables.get(env.db_url_env), [], variables.values)
    return list(dict.fromkeys(found))


def _passwords(value: str) -> list[str | None]:
    """A URL's or conninfo's password as libpq and urllib read it, and, when they
    disagree (an unencoded @ / ? #), everything that may be the password as written."""
    if "://" not in value and "=" not in value:
        return []
    found = [password_of(value), url_password(value)]
    if not parsers_agree(value):
        found.append(written_password(value))
    return found


def parsers_agree(url: str) -> bool:
    """Whether libpq (which connects) and urllib (which redacts) read a URL's user, password
    and host alike; an unencoded @ / ? # : in a password makes them disagree, and then
    redaction could show part of the password."""
    from psycopg.conninfo import conninfo_to_dict

    if "://" not in url:
        return True
    try:
        parts = conninfo_to_dict(url.strip())
        split = urlsplit(url.strip())
        host = split.hostname
    except Exception:  # noqa: BLE001 - unparsable is not agreeing
        return False
    libpq_host, port = str(parts.get("host") or ""), str(parts.get("port") or "5432")
    return (unquote(split.password or "") == str(parts.get("password") or "")
            and unquote(split.username or "") == str(parts.get("user") or "")
            and (not host or host == libpq_host.lower())
            and "@" not in libpq_host + str(parts.get("dbname") or "")
            and all(p.isdigit() for p in port.split(",")))


def url_password(value: str) -> str | None:
    """The password in any `scheme://user:password@host` URL or libpq conninfo."""
    if "://" not in value:
        return password_of(value) if "=" in value else None
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        password = None
    return unquote(password) if password else password_of(value)


def resolve_target(project: Project, *, db_url: str | None, env: str | None,
                   environ: Mapping[str, str] | None = None) -> Target:
    if not env:
        if db_url:
            return Target(db_url)
        raise BadInput("no database given", hint="pass --db-url URL, or --env NAME for an "
                       "environment declared in dragonfly.yml")
    spec = environment(project, env)
    variables = read_variables(project, spec, environ)
    if variables.dotenv is not None:
        variables.dotenv.raise_first()
    variable = spec.db_url_env
    # --db-url overrides the environment's database; its other variables still apply.
    url = (db_url or variables.get(variable) or "").strip()
    if not url:
        state = "is set but empty" if variable in variables.values else "is not set"
        origin = variables.origins.get(variable) or Origin()
        file, line = origin.file, origin.line  # an empty value in the .env file: fix it there
        if file is None:
            file = project.file and project.display(project.file)
            line = project.doc.line(("environments", env, "db_url_env")) if project.doc else None
        also = f", or set it in {variables.dotenv_display}" if variables.dotenv_display else ""
        raise BadInput(
            f"environment {env!r}: ${variable} {state}", file=file, line=line,
            hint=f"export {variable}=postgresql://...{also} (in Actions: a secret passed through env:)",
        )
    supabase = spec.supabase
    return Target(
        url,
        env=env,
        protected=spec.protected,
        variables=variables.values,
        supabase_url=variables.get(supabase.url_env) or None,
        anon_key=variables.get(supabase.anon_key_env) or None,
        service_role_key=variables.get(supabase.service_role_key_env) or None,
    )
