"""HTTP and TCP steps: each attempt has a timeout; retries are bounded, with backoff.

Only what may pass on its own is retried: connection errors, timeouts and 5xx
answers. A 4xx is the server's considered answer and is reported at once.
Redirects are never followed: they would carry the API key to another host.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any

from dragonfly_ci.http import opener
from dragonfly_ci.smoke.steps import Outcome, Step, check, clip

_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    """The environment's Supabase API: its base URL and API keys (secrets)."""

    supabase_url: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # anon, service_role


@dataclass(frozen=True)
class _Attempt:
    passed: bool
    retryable: bool
    detail: str = ""
    hint: str = ""


def run_probe(step: Step, endpoint: Endpoint, *, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    started = time.perf_counter()
    prepared = _prepare_http(step, endpoint) if step.http else _prepare_tcp(step)
    if isinstance(prepared, _Attempt):  # nothing to send: configuration is missing
        return Outcome(step, False, time.perf_counter() - started, attempts=0,
                       detail=prepared.detail, hint=prepared.hint)
    attempts, delay = 0, step.backoff_s
    while True:
        attempts += 1
        attempt = prepared()
        if attempt.passed or not attempt.retryable or attempts > step.retries:
            break
        sleep(delay)
        delay *= 2
    detail = attempt.detail
    if not attempt.passed and attempts > 1:
        detail += f" (after {attempts} attempts)"
    return Outcome(step, attempt.passed, time.perf_counter() - started, attempts=attempts,
                   detail=detail, hint=attempt.hint)


def _prepare_http(step: Step, endpoint: Endpoint) -> Callable[[], _Attempt] | _Attempt:
    http = step.http
    assert http is not None
    if http.path is not None:
        if not endpoint.supabase_url:
            return _Attempt(False, False, "not run: the environment has no Supabase URL",
                            "set the environment's Supabase URL variable (see environments: in "
                            "dragonfly.yml), or use url: for an absolute URL")
        url = endpoint.supabase_url.rstrip("/") + http.path
    elif http.url_env is not None:
        url = os.environ.get(http.url_env, "").strip()
        if not url:
            return _Attempt(False, False, f"not run: ${http.url_env} is not set",
                            f"export {http.url_env}=https://... (in Actions: through env:)")
    else:
        url = http.url or ""
    headers = {"Accept": "application/json", **http.headers}
    if http.key != "none":
        key = endpoint.keys.get(http.key)
        if not key:
            return _Attempt(False, False, f"not run: the environment has no {http.key} key",
                            f"set the environment's {http.key} key variable, or use key: none")
        headers.update({"apikey": key, "Authorization": f"Bearer {key}"})
    if http.schema and http.schema != "public":
        # PostgREST picks the schema of a read by Accept-Profile, of a write by Content-Profile.
        profile = "Accept-Profile" if http.method in ("GET", "HEAD") else "Content-Profile"
        headers[profile] = http.schema
    body = None
    if http.has_body:
        body = json.dumps(http.body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method=http.method)
    return lambda: _send(request, step)


def _send(request: urllib.request.Request, step: Step) -> _Attempt:
    wanted = step.expect.describe("http")
    try:
        with opener.open(request, timeout=step.timeout_s) as response:
            status, body = response.status, response.read(_BODY_LIMIT)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, _read(exc)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return _timed_out(step, wanted)
        return _Attempt(False, True, f"expected {wanted}, got no answer: {exc.reason}",
                        "check that the URL is right and the service is up")
    except TimeoutError:
        return _timed_out(step, wanted)
    except (HTTPException, OSError) as exc:
        return _Attempt(False, True, f"expected {wanted}, got no answer: the connection failed "
                        f"({type(exc).__name__}: {exc or 'no response'})",
                        "check that the URL is right and the service is up")
    text = body.decode("utf-8", "replace")
    allowed = step.expect.status or tuple(range(200, 300))
    if status not in allowed:
        return _Attempt(False, status >= 500, f"expected {wanted}, got {status}{_error_words(text)}",
                        _status_hint(status))
    parsed, has_json = _json(text)
    mismatch = check(step.expect, rows=parsed if isinstance(parsed, list) else None, text=text,
                     value=parsed, has_value=has_json)
    return _Attempt(not mismatch, False, f"status {status}, but {mismatch}" if mismatch else "")


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(_BODY_LIMIT)
    except (OSError, HTTPException):
        return b""


def _timed_out(step: Step, wanted: str) -> _Attempt:
    return _Attempt(False, True, f"expected {wanted}, got no answer: timed out after {step.timeout_s:g} s",
                    "raise the step's timeout if the service is slow by design, or find out why it is")


def _json(text: str) -> tuple[Any, bool]:
    try:
        return json.loads(text), True
    except ValueError:
        return None, False


def _error_words(text: str) -> str:
    """PostgREST's (and the gateway's) error JSON in words: code, message, details, hint."""
    parsed, _ = _json(text)
    if not isinstance(parsed, dict) or not ({"message", "code"} & parsed.keys()):
        return f": {clip(text)}" if text.strip() else ""
    code, message = parsed.get("code"), parsed.get("message") or parsed.get("msg")
    words = ": " + " ".join(str(p) for p in (code, message) if p)
    for extra in ("details", "hint"):
        if parsed.get(extra):
            words += f" ({extra}: {parsed[extra]})"
    return clip(words)


def _status_hint(status: int) -> str:
    if status == 401:
        return "the API key was refused, or its role lacks a privilege: check the step's key"
    if status == 403:
        return "the key's role lacks a privilege: check EXECUTE on the function and USAGE on its schema"
    if status == 404:
        return "check the path, the function's name and argument names, and the schema (Content-Profile)"
    if status >= 500:
        return "the service failed or is unavailable; look at its logs"
    return ""


def _prepare_tcp(step: Step) -> Callable[[], _Attempt] | _Attempt:
    tcp = step.tcp
    assert tcp is not None
    host = tcp.host
    if tcp.host_env is not None:
        host = os.environ.get(tcp.host_env, "").strip()
        if not host:
            return _Attempt(False, False, f"not run: ${tcp.host_env} is not set",
                            f"export {tcp.host_env}=<host> (in Actions: through env:)")
    address = (host or "", tcp.port)
    where = f"{host}:{tcp.port}"  # a host name is no secret; a URL with credentials never gets here

    def connect() -> _Attempt:
        try:
            with socket.create_connection(address, timeout=step.timeout_s):
                return _Attempt(True, False)
        except TimeoutError:
            return _Attempt(False, True, f"expected a TCP connection to {where}, got no answer: "
                            f"timed out after {step.timeout_s:g} s")
        except OSError as exc:
            return _Attempt(False, True, f"expected a TCP connection to {where}, got "
                            f"{exc.strerror or exc}", "check the host, the port and the firewall")

    return connect
