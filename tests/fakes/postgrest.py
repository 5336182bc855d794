"""A loopback PostgREST (behind Supabase's `/rest/v1`) over a real database.

What it does as PostgREST does:
- checks the `apikey` header (and `Authorization: Bearer`, which wins for the
  role) as HS256 JWTs signed with the project's JWT secret; a missing or bad
  key is a 401 with PostgREST's error JSON `{code, details, hint, message}`;
- `GET /rest/v1/` answers an OpenAPI document of the schema's functions;
- `POST /rest/v1/rpc/<fn>` really calls the function in the database, in a
  transaction, as the JWT's `role` (`set local role`), with
  `request.jwt.claims` set, arguments by name through `json_to_record` as
  PostgREST passes them; the schema is `Content-Profile`'s (`Accept-Profile`
  for GET), which must be one of the exposed schemas (else 406, PGRST106);
- a function that does not exist with those argument names is 404 PGRST202;
  SQL errors carry their SQLSTATE as `code` and the HTTP status PostgREST
  maps them to (42501: 401 for anon, 403 otherwise; PTnnn: nnn; P0001: 400 ...);
- a void function answers 204, a set-returning one a JSON array, any other a
  JSON value.

What tests can tell it (each counts down per request, faults before auth):
`answer_status(n, 503)` answers n requests with that status, `drop(n)` closes n
connections without a word, `slow(seconds)` delays every answer,
`echo_keys_in_errors` puts the received key into 401 details (a careless
gateway, to prove the toolkit scrubs what servers send back). `requests` is
every request it saw, in order. `GET /live` is PostgREST's admin liveness
check (unauthenticated); `/moved` redirects to `/rest/v1/`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import psycopg
from psycopg import sql

from tests.fakes.loopback import LoopbackServer, send


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(role: str, secret: str, *, ref: str = "smoketestref", exp: int | None = None) -> str:
    """A Supabase-style API key: an HS256 JWT with `role`, `ref` and `iss: supabase`."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iss": "supabase", "ref": ref, "role": role, "iat": now,
                               "exp": exp if exp is not None else now + 3600}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, details: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}


def _claims(token: str, secret: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise _Refused(401, "PGRST301", f"Expected 3 parts in JWT; got {len(parts)}")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        given = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise _Refused(401, "PGRST301", "JWSError (CompactDecodeError Invalid number of parts)") from None
    if not hmac.compare_digest(given, expected):
        raise _Refused(401, "PGRST301", "JWSError JWSInvalidSignature")
    if claims.get("exp") is not None and claims["exp"] < time.time():
        raise _Refused(401, "PGRST303", "JWT expired")
    return claims


def _status_of(sqlstate: str, role: str) -> int:
    """PostgREST's SQLSTATE -> HTTP status table (the part a smoke test can meet)."""
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    exact = {"42501": 401 if role == "anon" else 403, "42883": 404, "42P01": 404, "23503": 409,
             "23505": 409, "25006": 405, "P0001": 400, "57014": 500}
    if sqlstate in exact:
        return exact[sqlstate]
    prefixes = {"08": 503, "09": 500, "0L": 403, "0P": 403, "28": 403, "53": 503, "54": 500,
                "55": 500, "57": 500, "58": 500, "XX": 500, "40": 500, "P0": 500}
    return prefixes.get(sqlstate[:2], 400)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case: HTTP's are case-insensitive
    body: bytes


class FakePostgrest(LoopbackServer):
    def __init__(self, conninfo: str, *, jwt_secret: str,
                 schemas: tuple[str, ...] = ("public", "ops")) -> None:
        self.conninfo = conninfo
        self.jwt_secret = jwt_secret
        self.schemas = schemas
        self.requests: list[SeenRequest] = []
        self.echo_keys_in_errors = False
        self._lock = threading.Lock()
        self._status_left: list[int] = []
        self._drops_left = 0
        self._delay = 0.0
        super().__init__()

    @property
    def url(self) -> str:
        """The Supabase URL: PostgREST answers under its /rest/v1."""
        return f"http://127.0.0.1:{self.port}"

    def answer_status(self, times: int, status: int = 503) -> None:
        with self._lock:
            self._status_left += [status] * times

    def drop(self, times: int) -> None:
        with self._lock:
            self._drops_left += times

    def slow(self, seconds: float) -> None:
        self._delay = seconds

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- one request ---------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0]
        with self._lock:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.requests.append(SeenRequest(handler.command, path, headers, body))
            drop = self._drops_left > 0
            self._drops_left -= drop
            status = self._status_left.pop(0) if self._status_left else None
        if drop:
            handler.close_connection = True
            return
        if self._delay:
            self._stopping.wait(self._delay)
        if status is not None:
            return send(handler, status, {"code": "PGRST001", "details": None, "hint": None,
                                           "message": "Database client error. Retrying the connection."})
        try:
            self._route(handler, path, body)
        except _Refused as refused:
            send(handler, refused.status, refused.body,
                  {"WWW-Authenticate": 'Bearer error="invalid_token"'} if refused.status == 401 else None)

    def _route(self, handler: BaseHTTPRequestHandler, path: str, body: bytes) -> None:
        method = handler.command
        if path == "/live" and method in ("GET", "HEAD"):
            return send(handler, 200, None)
        if path.startswith("/moved"):
            return send(handler, 302, None, {"Location": "/rest/v1/"})
        if not path.startswith("/rest/v1/"):
            raise _Refused(404, "PGRST125", "Invalid path specified in request URL")
        claims = self._authenticate(handler)
        profile_header = "Accept-Profile" if method in ("GET", "HEAD") else "Content-Profile"
        schema = handler.headers.get(profile_header) or self.schemas[0]
        if schema not in self.schemas:
            raise _Refused(406, "PGRST106", "The schema must be one of the following: "
                           + ", ".join(self.schemas))
        if path == "/rest/v1/" and method in ("GET", "HEAD"):
            return send(handler, 200, self._openapi(schema))
        if path.startswith("/rest/v1/rpc/") and method == "POST":
            return self._rpc(handler, schema, path.removeprefix("/rest/v1/rpc/"), body, claims)
        raise _Refused(404, "PGRST125", "Invalid path specified in request URL")

    def _authenticate(self, handler: BaseHTTPRequestHandler) -> dict[str, Any]:
        apikey = handler.headers.get("apikey")
        bearer = (handler.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not apikey:
            raise _Refused(401, "PGRST302", "Anonymous access is disabled",
                           hint="No `apikey` request header was found.")
        try:
            claims = _claims(apikey, self.jwt_secret)
            if bearer:
                claims = _claims(bearer, self.jwt_secret)
        except _Refused as refused:
            if self.echo_keys_in_errors:
                refused.body["details"] = f"rejected token {bearer or apikey}"
            raise
        if not claims.get("role"):
            raise _Refused(401, "PGRST301", "JWT has no role claim")
        return claims

    def _openapi(self, schema: str) -> dict[str, Any]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            names = [r[0] for r in conn.execute(
                "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                "where n.nspname = %s and p.prokind = 'f' order by 1", [schema])]
        return {"swagger": "2.0", "info": {"title": "PostgREST API", "version": "12.2.0"},
                "paths": {"/": {}, **{f"/rpc/{name}": {"post": {}} for name in names}}}

    def _rpc(self, handler: BaseHTTPRequestHandler, schema: str, name: str, body: bytes,
             claims: dict[str, Any]) -> None:
        try:
            args = json.loads(body or b"{}")
        except ValueError:
            raise _Refused(400, "PGRST102", "Empty or invalid json") from None
        if not isinstance(args, dict):
            raise _Refused(400, "PGRST102", "Invalid body: the arguments must be a JSON object")
        role = str(claims["role"])
        with psycopg.connect(self.conninfo) as conn:
            function = _find_function(conn, schema, name, set(args))
            if function is None:
                given = ", ".join(sorted(args))
                raise _Refused(404, "PGRST202", f"Could not find the function {schema}.{name}({given}) in "
                               "the schema cache",
                               details=f"Searched for the function {schema}.{name} with parameters {given} "
                               "or with a single unnamed json/jsonb parameter, but no matches were found "
                               "in the schema cache.")
            arg_types, returns_set, returns_void = function
            try:
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                conn.execute("select set_config('request.jwt.claims', %s, true)", [json.dumps(claims)])
                rows = conn.execute(_call(schema, name, arg_types, returns_void),
                                    [json.dumps(args)] if arg_types else None).fetchall()
            except psycopg.Error as exc:
                conn.rollback()
                diag = exc.diag
                sqlstate = exc.sqlstate or "XX000"
                return send(handler, _status_of(sqlstate, role), {
                    "code": sqlstate, "details": diag.message_detail, "hint": diag.message_hint,
                    "message": diag.message_primary or str(exc)})
            conn.commit()
        if returns_void:
            return send(handler, 204, None)
        values = [r[0] for r in rows]
        send(handler, 200, values if returns_set else (values[0] if values else None))


def _find_function(conn: psycopg.Connection, schema: str, name: str,
                   given: set[str]) -> tuple[list[tuple[str, str]], bool, bool] | None:
    """(named input arguments used, with types), returns set, returns void; as PostgREST
    matches: every given name is an input argument and every argument without a default is given."""
    rows = conn.execute(
        """
        select coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'), p.pronargs,
               p.pronargdefaults, p.proretset, p.prorettype = 'void'::regtype,
               array(select format_type(t.oid, null)
                     from unnest(p.proargtypes::oid[]) with ordinality as t(oid, i) order by t.i)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = %s and p.proname = %s and p.prokind = 'f'
        """, [schema, name]).fetchall()
    for names, modes, nargs, ndefaults, returns_set, returns_void, types in rows:
        inputs = [n for n, m in zip(names, modes or ["i"] * len(names), strict=False) if m in ("i", "b", "v")]
        inputs = inputs[:nargs]
        required = set(inputs[: nargs - ndefaults])
        if given <= set(inputs) and required <= given:
            used = [(n, t) for n, t in zip(inputs, types, strict=True) if n in given]
            return used, returns_set, returns_void
    return None


def _call(schema: str, name: str, args: list[tuple[str, str]], returns_void: bool) -> sql.Composed:
    function = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    selected = sql.SQL("1" if returns_void else "to_jsonb(_r)")
    if not args:
        return sql.SQL("select {} from {}() as _r").format(selected, function)
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in args)
    named = sql.SQL(", ").join(sql.SQL("{} := _.{}").format(sql.Identifier(n), sql.Identifier(n))
                               for n, _ in args)
    return sql.SQL("select {} from json_to_record(%s::json) as _({}), lateral {}({}) as _r").format(
        selected, columns, function, named)


@contextmanager
def running(conninfo: str, *, jwt_secret: str, schemas: tuple[str, ...] = ("public", "ops")
            ) -> Iterator[FakePostgrest]:
    fake = FakePostgrest(conninfo, jwt_secret=jwt_secret, schemas=schemas).start()
    try:
        yield fake
    finally:
        fake.stop()
