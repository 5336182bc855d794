"""The project file's `smoke:` section as typed steps, and the check of what came back.

The JSON Schema has already validated shapes; what it cannot say cleanly (an
HTTP status expected of a SQL step, a COMMIT inside a step that must be rolled
back) is bad input here, at the step's line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_S = 0.5
_SHOWN_CHARS = 300  # of a result or a response body, in a message


@dataclass(frozen=True)
class Expect:
    rows: int | None = None
    value: Any = None
    has_value: bool = False  # `value: null` is an expectation too
    contains: str | None = None
    status: tuple[int, ...] = ()

    def describe(self, kind: str) -> str:
        parts = []
        if kind == "http":
            parts.append(_status_words(self.status))
        elif kind == "tcp":
            parts.append("a TCP connection")
        if self.rows is not None:
            parts.append(f"{self.rows} row{'' if self.rows == 1 else 's'}")
        if self.has_value:
            parts.append(f"value {show(self.value)}")
        if self.contains is not None:
            parts.append(f"a result containing {self.contains!r}")
        return ", ".join(parts) or "no error"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str | None  # under the environment's Supabase URL
    url: str | None  # absolute
    url_env: str | None  # the variable holding an absolute URL
    schema: str | None  # PostgREST's Accept-Profile / Content-Profile
    key: str  # anon | service_role | none
    body: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TcpProbe:
    host: str | None
    host_env: str | None
    port: int


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, in file order
    name: str
    line: int | None
    soft: bool
    timeout_s: float
    retries: int
    backoff_s: float
    expect: Expect
    sql: str | None = None
    role: str | None = None
    http: HttpRequest | None = None
    tcp: TcpProbe | None = None

    @property
    def kind(self) -> str:
        return "sql" if self.sql is not None else "http" if self.http is not None else "tcp"


@dataclass(frozen=True)
class Outcome:
    step: Step
    passed: bool
    seconds: float
    attempts: int = 1
    detail: str = ""  # when it failed: what came back, or why nothing did
    hint: str = ""


def parse_steps(project: Project) -> list[Step]:
    """The declared steps, in file order; BadInput at a step's line for what the schema cannot say."""
    spec: dict[str, Any] = project.smoke
    defaults = (float(spec.get("timeout", DEFAULT_TIMEOUT_S)), int(spec.get("retries", DEFAULT_RETRIES)),
                float(spec.get("backoff", DEFAULT_BACKOFF_S)))
    return [_step(project, i, raw, defaults) for i, raw in enumerate(spec.get("steps", []))]


def _step(project: Project, i: int, raw: dict[str, Any], defaults: tuple[float, int, float]) -> Step:
    def bad(message: str, *key: str, hint: str = "") -> BadInput:
        line = project.doc.line(("smoke", "steps", i, *key)) if project.doc else None
        return BadInput(f"smoke step {raw['name']!r}: {message}",
                        file=project.display(project.file) if project.file else None, line=line, hint=hint)

    timeout, retries, backoff = defaults
    expect_raw: dict[str, Any] = raw.get("expect", {})
    status = expect_raw.get("status", ())
    expect = Expect(
        rows=expect_raw.get("rows"),
        value=expect_raw.get("value"),
        has_value="value" in expect_raw,
        contains=expect_raw.get("contains"),
        status=tuple(status) if isinstance(status, list) else (status,) if status else (),
    )
    step = Step(
        number=i + 1,
        name=raw["name"],
        line=project.doc.line(("smoke", "steps", i)) if project.doc else None,
        soft=bool(raw.get("soft", False)),
        timeout_s=float(raw.get("timeout", timeout)),
        retries=int(raw.get("retries", retries)),
        backoff_s=float(raw.get("backoff", backoff)),
        expect=expect,
        sql=raw.get("sql"),
        role=raw.get("role"),
        http=_http(raw["http"]) if "http" in raw else None,
        tcp=_tcp(raw["tcp"]) if "tcp" in raw else None,
    )
    if step.kind != "http" and expect.status:
        raise bad("expect.status applies to http steps only", "expect", "status",
                  hint="a SQL step passes when it raises no error; check rows, value or contains")
    if step.kind == "tcp" and expect_raw:
        raise bad("a tcp step expects only that the connection opens", "expect", hint="remove expect")
    if step.kind != "sql" and step.role:
        raise bad("role applies to sql steps only", "role",
                  hint="an http step's role is its key's: key: anon or key: service_role")
    if step.sql is not None and _controls_transaction(step.sql):
        raise bad("a smoke SQL step must not end its transaction (COMMIT, ROLLBACK, BEGIN, ...)", "sql",
                  hint="SQL steps run in one transaction that is always rolled back; remove the "
                  "transaction statements")
    return step


def _http(raw: dict[str, Any]) -> HttpRequest:
    relative = "path" in raw
    return HttpRequest(
        method=raw.get("method", "GET"),
        path=raw.get("path"),
        url=raw.get("url"),
        url_env=raw.get("url_env"),
        schema=raw.get("schema"),
        key=raw.get("key", "anon" if relative else "none"),
        body=raw.get("json"),
        has_body="json" in raw,
        headers=dict(raw.get("headers", {})),
    )


def _tcp(raw: dict[str, Any]) -> TcpProbe:
    return TcpProbe(host=raw.get("host"), host_env=raw.get("host_env"), port=int(raw["port"]))


def _controls_transaction(sql: str) -> bool:
    from dragonfly_ci.migrations.statements import ParseFailure, parse

    try:
        return any(s.kind == "TransactionStmt" for s in parse(sql).statements)
    except ParseFailure:
        return False  # the server will say what is wrong with it, at this step


def check(expect: Expect, *, rows: list[Any] | None, text: str, value: Any = None,
          has_value: bool = False) -> str:
    """What did not match, or "" when everything did.

    `rows`: the result's rows (None when the result is not a list), `value`: the
    first column of the first row (SQL) or the JSON body (HTTP), `text`: the
    result as text, for `contains`.
    """
    if expect.rows is not None:
        if rows is None:
            return f"expected {expect.rows} rows, got no list of rows: {clip(text)}"
        if len(rows) != expect.rows:
            return f"expected {expect.rows} rows, got {len(rows)}: {clip(text)}"
    if expect.has_value:
        if not has_value:
            return f"expected value {show(expect.value)}, got no value: {clip(text) or 'empty'}"
        if not _same(expect.value, value):
            return f"expected value {show(expect.value)}, got {show(value)}"
    if expect.contains is not None and expect.contains not in text:
        return f"expected a result containing {expect.contains!r}, got {clip(text) or 'nothing'}"
    return ""


def _same(expected: Any, got: Any) -> bool:
    # YAML's 1 and JSON's 1.0 are one number; True is not 1.
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return expected == got
    return type(expected) is type(got) and expected == got


def plain(value: Any) -> Any:
    """A database value as JSON would carry it: numbers stay numbers, the rest becomes text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def show(value: Any) -> str:
    return clip(json.dumps(value, ensure_ascii=False, default=str))


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _status_words(status: tuple[int, ...]) -> str:
    if not status:
        return "a 2xx status"
    return "status " + " or ".join(str(s) for s in status)
