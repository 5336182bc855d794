"""env-doctor: an environment's configuration, checked without touching a database.

variables (process environment over the `.env` file) -> findings: required
variables set; the database URL, the Supabase API URL and the API keys
well-formed and naming one project; a non-production environment not
pointing at a protected one. Never prints, never exits, never connects.

No message, hint or fact contains a value: variables are named, and values
are shown at most as a shape (`eyJ…(JWT, role=anon)`, `user@host:port/db`).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from dragonfly_ci.config import Project
from dragonfly_ci.findings import Finding, GateResult, Location
from dragonfly_ci.rules import apply_overrides, finding
from dragonfly_ci.targets import (
    Environment,
    Variables,
    environment,
    parsers_agree,
    protected_others,
    read_variables,
)

GATE = "env-doctor"

_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_API_HOST = re.compile(r"^([a-z0-9]+)\.supabase\.co$")
_DB_HOST = re.compile(r"^db\.([a-z0-9]+)\.supabase\.co$")
_POOLER_HOST = re.compile(r"\.pooler\.supabase\.com$")
_ROLE_OF_PREFIX = {"sb_publishable_": "anon", "sb_secret_": "service_role"}


# ---------------------------------------------------------------- values, parsed


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a database URL that are not secret."""

    host: str
    port: str
    dbname: str
    user: str
    sslmode: str | None

    @property
    def local(self) -> bool:
        return _is_local(self.host)

    @property
    def ref(self) -> str | None:
        """The Supabase project: db.<ref>.supabase.co, or the pooler's user <role>.<ref>."""
        if match := _DB_HOST.match(self.host.lower()):
            return match.group(1)
        if _POOLER_HOST.search(self.host.lower()) and "." in self.user:
            return self.user.rsplit(".", 1)[1]
        return None

    @property
    def shape(self) -> str:
        return f"{self.user or '(default user)'}@{self.host}:{self.port}/{self.dbname}"


def parse_database_url(value: str) -> DatabaseUrl | str:
    """The URL's parts, or what is wrong with it (never quoting it: it holds a password)."""
    from psycopg.conninfo import conninfo_to_dict

    text = value.strip()
    if "://" in text and not re.match(r"postgres(?:ql)?://", text, re.IGNORECASE):
        return "is not a PostgreSQL URL: it must start with postgresql:// or postgres://"
    try:
        parts = conninfo_to_dict(text)
    except Exception:  # noqa: BLE001 - libpq's message quotes the text, which may hold the password
        return "does not parse as a PostgreSQL connection URL"
    host, dbname = str(parts.get("host") or ""), str(parts.get("dbname") or "")
    port, sslmode = str(parts.get("port") or "5432"), parts.get("sslmode")
    if not host:
        return "names no host"
    if not dbname:
        return "names no database (add /postgres, the database Supabase projects use)"
    if not parsers_agree(text) or not all(p.isdigit() for p in port.split(",")):
        return ("does not parse as intended: a password or user containing @ / : ? or # must be "
                "percent-encoded (e.g. @ as %40)")
    if sslmode is not None and sslmode not in _SSLMODES:
        return f"has an unknown sslmode (one of {', '.join(sorted(_SSLMODES))})"
    return DatabaseUrl(host, port, dbname, str(parts.get("user") or ""), sslmode)


@dataclass(frozen=True)
class ApiKey:
    """What a Supabase API key says about itself; never the key."""

    kind: str  # "JWT", "sb_publishable_" or "sb_secret_"
    role: str  # anon or service_role; the new key formats map to these
    ref: str | None = None
    exp: float | None = None

    @property
    def shape(self) -> str:
        if self.kind == "JWT":
            expires = f", expires {_date(self.exp)}" if self.exp is not None else ""
            return f"eyJ…(JWT, role={self.role}{expires})"
        return f"{self.kind}…"


def parse_api_key(value: str) -> ApiKey | str:
    """A legacy JWT key (payload decoded, signature NOT verified) or a new-format key."""
    if value != value.strip():
        return "has leading or trailing whitespace (a newline pasted with the secret?)"
    for prefix, role in _ROLE_OF_PREFIX.items():
        if value.startswith(prefix) and len(value) > len(prefix):
            return ApiKey(prefix, role)
    parts = value.split(".")
    if len(parts) != 3 or not all(_B64URL.match(p) for p in parts):
        return ("is not a Supabase API key: neither a JWT (three base64url parts separated by dots) "
                "nor an sb_publishable_/sb_secret_ key")
    header, payload = _json_part(parts[0]), _json_part(parts[1])
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return "is not a JWT: its header or payload is not base64url-encoded JSON"
    role, ref, exp = payload.get("role"), payload.get("ref"), payload.get("exp")
    if not isinstance(role, str) or not role:
        return "is a JWT without a role claim, not a Supabase API key"
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, (int, float))):
        return "is a JWT whose exp claim is not a number"
    return ApiKey("JWT", role, ref if isinstance(ref, str) and ref else None, exp)


def _json_part(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class ApiUrl:
    host: str

    @property
    def ref(self) -> str | None:
        match = _API_HOST.match(self.host)
        return match.group(1) if match else None


def parse_api_url(value: str) -> ApiUrl | str:
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "does not parse as a URL"
    if parts.scheme not in ("http", "https") or not host:
        return "is not an http(s) URL with a host, e.g. https://<project-ref>.supabase.co"
    if parts.scheme == "http" and not _is_local(host):
        return "uses http:// for a remote host; use https://"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return "has a path or query; give the project's base URL, e.g. https://<project-ref>.supabase.co"
    if parts.username or parts.password:
        return "contains credentials; give the project's base URL"
    return ApiUrl(host)


def _is_local(host: str) -> bool:
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _date(epoch: float) -> str:
    try:
        return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return "(out of range)"


# ---------------------------------------------------------------- the gate


@dataclass(frozen=True)
class _Parsed:
    """One environment's values, parsed; what could not be parsed is absent."""

    database: tuple[str, DatabaseUrl] | None
    api_url: tuple[str, ApiUrl] | None
    keys: dict[str, ApiKey]  # by variable name
    key_values: dict[str, str]  # by variable name; compared, never shown

    def refs(self) -> list[tuple[str, str]]:
        """(variable, project ref) for every value that names a Supabase project."""
        found = [(self.database[0], self.database[1].ref) if self.database else None,
                 (self.api_url[0], self.api_url[1].ref) if self.api_url else None,
                 *((name, key.ref) for name, key in self.keys.items())]
        return [(name, ref) for name, ref in filter(None, found) if ref]


def run(project: Project, env: str, *, environ: Mapping[str, str] | None = None,
        now: float | None = None) -> GateResult:
    """Check environment `env`; BadInput (exit 2) if the project file does not declare it."""
    started = time.perf_counter()
    environ = os.environ if environ is None else environ
    spec = environment(project, env)
    variables = read_variables(project, spec, environ)
    doctor = _Doctor(project, spec, variables, environ)
    doctor.check_dotenv()
    doctor.check_present()
    parsed = doctor.parse(time.time() if now is None else now)
    doctor.check_refs(parsed)
    if not spec.protected:
        for other in protected_others(project, env):
            doctor.check_not_production(parsed, other)
    result = GateResult(GATE, findings=apply_overrides(doctor.findings, project.rules), facts=doctor.facts)
    result.duration_s = time.perf_counter() - started
    return result


class _Doctor:
    def __init__(self, project: Project, env: Environment, variables: Variables,
                 environ: Mapping[str, str]) -> None:
        self.project, self.env, self.variables, self.environ = project, env, variables, environ
        self.findings: list[Finding] = []
        self.facts: dict[str, str] = {"environment": env.name + (" (protected)" if env.protected else "")}
        self._declared = env.declared_at()

    def _where(self, name: str) -> Location | None:
        """The .env line the value came from, else the project-file line that names the variable."""
        origin = self.variables.origins.get(name)
        if origin is not None and origin.file is not None:
            return Location(origin.file, origin.line)
        if self.project.file is None:
            return None
        line = self.project.doc.line(self._declared.get(name, ("environments", self.env.name))) \
            if self.project.doc else None
        return Location(self.project.display(self.project.file), line)

    def _add(self, rule: str, name: str, message: str, hint: str) -> None:
        self.findings.append(finding(rule, message, location=self._where(name), hint=hint, subject=name))

    def _set_hint(self, name: str) -> str:
        where = f", or in {self.variables.dotenv_display}" if self.variables.dotenv_display else ""
        return (f"set {name} in the process environment{where} (in Actions: a secret passed "
                f"through env:, e.g. {name}: ${{{{ secrets.{name} }}}})")

    def check_dotenv(self) -> None:
        shown, parsed = self.variables.dotenv_display, self.variables.dotenv
        if shown is None:
            return
        if parsed is None:
            self.facts[".env file"] = f"{shown}: absent (only the process environment is used)"
            return
        self.facts[".env file"] = f"{shown}: {len(parsed.entries)} variables; set ones in the process win"
        for err in parsed.errors:
            self.findings.append(finding("env/dotenv-invalid", err.message,
                                         location=Location(shown, err.line), hint=err.hint))

    def check_present(self) -> None:
        names = self.env.variable_names
        required = dict.fromkeys([self.env.db_url_env, *self.env.required])
        unset = []
        for name in names:
            value = self.variables.get(name)
            if value is not None and value.strip():
                continue
            if value is None and name not in required:
                unset.append(name)
                continue
            state = "is not set" if value is None else "is set but empty"
            hint = self._set_hint(name)
            origin = self.variables.origins.get(name)
            shadowed = self.variables.dotenv and self.variables.dotenv.entries.get(name)
            if value is not None and origin is not None and origin.file is None and shadowed \
                    and shadowed.value.strip():
                hint = (f"{name} is set to an empty value in the process environment, which hides "
                        f"the value in {self.variables.dotenv_display}: unset it, or set it")
            self._add("env/variable-missing", name, f"environment {self.env.name}: {name} {state}", hint)
        present = sum(1 for n in names if (self.variables.get(n) or "").strip())
        self.facts["variables"] = f"{present} of {len(names)} set"
        if self.variables.dotenv is not None:
            from_file = sum(1 for n in names if (o := self.variables.origins.get(n)) and o.file)
            self.facts["variables"] += f", {from_file} from {self.variables.dotenv_display}"
        if unset:
            self.facts["not set, not required"] = ", ".join(unset) + " (not checked)"

    def parse(self, now: float) -> _Parsed:
        return self._parse(self.env, self.variables, now, report=True)

    def _parse(self, env: Environment, variables: Variables, now: float, *, report: bool) -> _Parsed:
        """Parse one environment's values; `report`: findings and facts for this environment."""
        database = api_url = None
        keys: dict[str, ApiKey] = {}
        key_values: dict[str, str] = {}
        name = env.db_url_env
        if (value := variables.get(name)) and value.strip():
            parsed = parse_database_url(value)
            if isinstance(parsed, DatabaseUrl):
                database = (name, parsed)
                if report:
                    self.facts["database"] = parsed.shape
                    self._check_sslmode(name, parsed)
            elif report:
                self._add("env/database-url-invalid", name, f"{name} {parsed}",
                          f"set {name} to postgresql://USER:PASSWORD@HOST:PORT/DATABASE (Supabase: "
                          "Project Settings → Database → Connection string)")
        name = env.supabase.url_env
        if name and (value := variables.get(name)) and value.strip():
            url = parse_api_url(value)
            if isinstance(url, ApiUrl):
                api_url = (name, url)
            elif report:
                self._add("env/supabase-url-invalid", name, f"{name} {url}",
                          f"set {name} to the project's API URL (Project Settings → API)")
        for name, role in ((env.supabase.anon_key_env, "anon"),
                           (env.supabase.service_role_key_env, "service_role")):
            if not name or not (value := variables.get(name)) or not value.strip():
                continue
            key = parse_api_key(value)
            if isinstance(key, str):
                if report:
                    self._add("env/key-invalid", name, f"{name} {key}",
                              f"set {name} to the project's {role} key (Project Settings → API Keys)")
                continue
            keys[name], key_values[name] = key, value
            if report:
                self._check_key(name, key, role, now)
        if report and keys:
            self.facts["keys"] = ", ".join(f"{n} {k.shape}" for n, k in keys.items())
        return _Parsed(database, api_url, keys, key_values)

    def _check_sslmode(self, name: str, url: DatabaseUrl) -> None:
        if url.local or url.sslmode not in ("disable", "allow"):
            return
        self._add("env/database-url-insecure", name,
                  f"{name} connects to the remote host {url.host} with sslmode={url.sslmode}: the "
                  "password and data may cross the network unencrypted",
                  f"use sslmode=require (or verify-full) in {name}")

    def _check_key(self, name: str, key: ApiKey, role: str, now: float) -> None:
        if key.role != role:
            danger = (" It bypasses Row Level Security: an anon key is shipped to clients, so this "
                      "one must be rotated if it was." if key.role == "service_role" else "")
            self._add("env/key-role-mismatch", name,
                      f"{name} should hold the {role} key but holds {key.shape}.{danger}",
                      f"set {name} to the project's {role} key (Project Settings → API Keys)")
        if key.exp is not None and key.exp < now:
            self._add("env/key-expired", name, f"{name} holds a key that expired on {_date(key.exp)}",
                      f"set {name} to a current {role} key (Project Settings → API Keys)")

    def check_refs(self, parsed: _Parsed) -> None:
        refs = parsed.refs()
        if not refs:
            return
        counts = Counter(ref for _, ref in refs)
        majority = max(counts, key=counts.__getitem__)  # on a tie, the first named (the database's)
        agreed = [name for name, ref in refs if ref == majority]
        if len(counts) == 1:
            self.facts["Supabase project"] = f"{majority} (from {', '.join(agreed)})"
            return
        for name, ref in refs:
            if ref != majority:
                self._add("env/project-ref-mismatch", name,
                          f"{name} is for Supabase project {ref}, but {', '.join(agreed)} "
                          f"{'is' if len(agreed) == 1 else 'are'} for project {majority}",
                          f"take {name} from project {majority}'s settings, or fix the others if "
                          f"{ref} is the right project")

    def check_not_production(self, parsed: _Parsed, prod: Environment) -> None:
        prod_vars = read_variables(self.project, prod, self.environ)
        theirs = self._parse(prod, prod_vars, 0, report=False)
        if not (theirs.database or theirs.api_url or theirs.keys):
            self.facts[f"compared with {prod.name}"] = "no: none of its values is set and well-formed here"
            return
        self.facts[f"compared with {prod.name}"] = "yes"
        reasons: dict[str, list[str]] = {}
        if parsed.database and theirs.database:
            ours, other = parsed.database[1], theirs.database[1]
            if (ours.host.lower(), ours.port, ours.dbname) == (other.host.lower(), other.port, other.dbname):
                reasons.setdefault(parsed.database[0], []).append(
                    f"the same database as {theirs.database[0]} ({ours.host}:{ours.port}/{ours.dbname})")
        if parsed.api_url and theirs.api_url and parsed.api_url[1].host == theirs.api_url[1].host:
            reasons.setdefault(parsed.api_url[0], []).append(
                f"the same API host as {theirs.api_url[0]} ({parsed.api_url[1].host})")
        prod_refs: dict[str, str] = {}
        for name, ref in theirs.refs():
            prod_refs.setdefault(ref, name)
        for name, ref in parsed.refs():
            if ref in prod_refs:
                reasons.setdefault(name, []).append(f"project {ref}, like {prod_refs[ref]}")
        for name, value in parsed.key_values.items():
            for prod_name, prod_value in theirs.key_values.items():
                if value == prod_value:
                    reasons.setdefault(name, []).append(f"the same key as {prod_name}")
        for name, why in reasons.items():
            self._add("env/points-at-production", name,
                      f"{name} in non-production environment {self.env.name} points at protected "
                      f"environment {prod.name}: {'; '.join(dict.fromkeys(why))}",
                      f"set {name} to environment {self.env.name}'s own value; production values "
                      "never belong in another environment")
