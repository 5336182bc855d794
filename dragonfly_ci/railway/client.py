"""Railway's public GraphQL API: one POST per document, tokens as the Railway CLI sends them.

`RAILWAY_TOKEN` holds a project token, sent as `Project-Access-Token`;
`RAILWAY_API_TOKEN` an account or workspace token, sent as `Authorization:
Bearer`. Both set is bad input: which one was meant cannot be guessed.
`RAILWAY_API_URL` points the client elsewhere (tests, proxies).

Rate limits (429) and server errors (5xx, no answer) are retried with backoff,
honouring `Retry-After`; a refused token, a missing project, service or
environment, and anything still failing after the retries raise CouldNotCheck
(exit 3) saying what was being done. The token never appears in an error:
whatever the server says is scrubbed first.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.client import HTTPException
from typing import Any

from dragonfly_ci import __version__
from dragonfly_ci.errors import BadInput, CouldNotCheck
from dragonfly_ci.http import opener

API_URL = "https://backboard.railway.com/graphql/v2"
URL_ENV = "RAILWAY_API_URL"
PROJECT_TOKEN_ENV = "RAILWAY_TOKEN"
API_TOKEN_ENV = "RAILWAY_API_TOKEN"

_BODY_LIMIT = 4 * 1024 * 1024


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    variable: str  # the environment variable it came from

    @property
    def is_project_token(self) -> bool:
        return self.variable == PROJECT_TOKEN_ENV

    def headers(self) -> dict[str, str]:
        if self.is_project_token:
            return {"Project-Access-Token": self.value}
        return {"Authorization": f"Bearer {self.value}"}

    @property
    def described(self) -> str:
        if self.is_project_token:
            return f"${PROJECT_TOKEN_ENV} (a project token, sent as Project-Access-Token)"
        return f"${API_TOKEN_ENV} (an account or workspace token, sent as a bearer token)"

    @property
    def refused_hint(self) -> str:
        if self.is_project_token:
            return (f"{PROJECT_TOKEN_ENV} must hold a project token of this project and environment "
                    "(project settings > Tokens); an account or workspace token belongs in "
                    f"{API_TOKEN_ENV}")
        return (f"{API_TOKEN_ENV} must hold an account or workspace token that can see the project "
                f"(account settings > Tokens); a project token belongs in {PROJECT_TOKEN_ENV}")


def token_from_environment(environ: Mapping[str, str] | None = None) -> Token:
    """The token, as the Railway CLI reads it; an empty variable counts as unset."""
    environ = os.environ if environ is None else environ
    project = environ.get(PROJECT_TOKEN_ENV, "").strip()
    account = environ.get(API_TOKEN_ENV, "").strip()
    if project and account:
        raise BadInput(f"both {PROJECT_TOKEN_ENV} and {API_TOKEN_ENV} are set",
                       hint=f"set one: {PROJECT_TOKEN_ENV} for a project token, {API_TOKEN_ENV} for an "
                       "account or workspace token")
    if project:
        return Token(project, PROJECT_TOKEN_ENV)
    if account:
        return Token(account, API_TOKEN_ENV)
    raise BadInput(f"no Railway token: neither {PROJECT_TOKEN_ENV} nor {API_TOKEN_ENV} is set",
                   hint=f"export {PROJECT_TOKEN_ENV}=<project token> (or {API_TOKEN_ENV}=<account or "
                   "workspace token>); in Actions, from a secret through env:")


def api_url(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    url = environ.get(URL_ENV, "").strip() or API_URL
    if not url.startswith(("https://", "http://")):
        raise BadInput(f"${URL_ENV} is not an http(s) URL", hint=f"unset it to use {API_URL}")
    return url


class RailwayError(CouldNotCheck):
    """The API answered with an error; `not_found` when it says something does not exist."""

    def __init__(self, message: str, *, not_found: bool = False, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.not_found = not_found


class Unauthorized(RailwayError):
    pass


@dataclass
class _Answer:
    status: int | None  # None: no answer (connection failed, timed out)
    text: str = ""
    retry_after: float | None = None
    problem: str = ""  # why there was no answer


class Client:
    def __init__(self, token: Token, url: str | None = None, *, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 0.5, max_wait: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.token = token
        self.url = url or api_url()
        self.timeout = timeout
        self.retries = retries  # attempts after the first, for 429, 5xx and no answer
        self.backoff = backoff  # seconds before the first retry, doubled before each next one
        self.max_wait = max_wait  # a longer Retry-After fails at once: an hourly limit is used up
        self.sleep = sleep
        self.requests = 0

    def scrub(self, text: str) -> str:
        return text.replace(self.token.value, "***") if self.token.value else text

    def query(self, document: str, variables: Mapping[str, Any] | None = None, *, doing: str) -> dict:
        """The `data` of the answer, or an error that says what was being done."""
        body = json.dumps({"query": document, "variables": dict(variables or {})}).encode("utf-8")
        attempts = 0
        while True:
            attempts += 1
            answer = self._post(body)
            status = answer.status
            if status is not None and status != 429 and status < 500:
                return self._judge(answer, doing)
            if status == 429:
                wait = answer.retry_after
                if wait is not None and wait > self.max_wait:
                    raise RailwayError(
                        f"Railway's rate limit was reached while {doing}: it asks to retry after "
                        f"{wait:.0f} s", hint="the plan's hourly request limit is used up; run again later")
                problem = "rate limited (HTTP 429)"
            else:
                problem = answer.problem or f"HTTP {status}{_error_words(answer.text, self.scrub)}"
                wait = None
            if attempts > self.retries:
                raise RailwayError(f"the Railway API did not answer while {doing}: {problem} "
                                   f"(after {attempts} attempts)",
                                   hint="Railway may be having an outage (status.railway.com); "
                                   "run again later")
            self.sleep(wait if wait is not None else self.backoff * 2 ** (attempts - 1))

    def _post(self, body: bytes) -> _Answer:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": f"dragonfly-ci/{__version__}", **self.token.headers()}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        self.requests += 1
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return _Answer(response.status, response.read(_BODY_LIMIT).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read(_BODY_LIMIT).decode("utf-8", "replace")
            except (OSError, HTTPException):
                text = ""
            return _Answer(exc.code, text, _retry_after(exc.headers.get("Retry-After")))
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                return _Answer(None, problem=f"no answer within {self.timeout:g} s")
            return _Answer(None, problem=f"could not connect: {self.scrub(str(reason))}")
        except TimeoutError:
            return _Answer(None, problem=f"no answer within {self.timeout:g} s")
        except (HTTPException, OSError) as exc:
            return _Answer(None, problem=f"the connection failed ({type(exc).__name__})")

    def _judge(self, answer: _Answer, doing: str) -> dict:
        if answer.status in (401, 403):
            what = "refused" if answer.status == 401 else "has no access for"
            raise Unauthorized(f"Railway {what} the token in {self.token.described} while {doing} "
                               f"(HTTP {answer.status})", hint=self.token.refused_hint)
        try:
            document = json.loads(answer.text)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise RailwayError(f"the Railway API answered HTTP {answer.status} without a GraphQL "
                               f"answer while {doing}", hint=f"check ${URL_ENV} if it is set")
        errors = [e.get("message", "") if isinstance(e, dict) else str(e)
                  for e in document.get("errors") or []]
        if errors:
            words = self.scrub("; ".join(errors))
            if any("not authorized" in e.lower() for e in errors):
                raise Unauthorized(f"Railway did not authorize the token in {self.token.described} "
                                   f"while {doing}: {words}", hint=self.token.refused_hint)
            raise RailwayError(f"the Railway API answered an error while {doing}: {words}",
                               not_found=any("not found" in e.lower() for e in errors))
        if answer.status != 200 or not isinstance(document.get("data"), dict):
            raise RailwayError(f"the Railway API answered HTTP {answer.status} without data while {doing}")
        return document["data"]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _error_words(text: str, scrub: Callable[[str], str]) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        return ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not errors:
        return ""
    return ": " + scrub("; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                                  for e in errors))[:300]
