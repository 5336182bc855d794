"""A loopback GitHub REST API: the endpoints PyGithub calls for check runs and issue comments.

What it does as GitHub does:
- requires `Authorization: token <token>` (PyGithub's form for Auth.Token), else 401
  with GitHub's error JSON `{message, documentation_url}`;
- `POST /repos/{owner}/{repo}/check-runs` creates a check run (201) and
  `PATCH .../check-runs/{id}` updates it (200), appending annotations; it refuses
  (422) a request with more than 50 annotations, an output without `title` and
  `summary`, a summary over 65,535 characters, an annotation without path,
  start_line, end_line, annotation_level (notice|warning|failure) or message, a
  column on an annotation spanning lines, a `conclusion` with a status other
  than completed, and a completed run without a conclusion;
- `GET /repos/{owner}/{repo}/issues/{n}/comments` lists comments, paginated by
  `per_page`/`page` with a `Link: <...>; rel="next"` header;
  `POST` there creates one (201); `PATCH /repos/{owner}/{repo}/issues/comments/{id}`
  edits one (200); a body over 65,536 characters is a 422;
- `forbid_writes = True` answers every write with GitHub's 403 for a read-only
  token: `{"message": "Resource not accessible by integration"}`.

`requests` is every request it saw, in order (method, path, query, JSON body,
headers); `check_runs` and `comments` are its state.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DOCS = "https://docs.github.com/rest"
LEVELS = {"notice", "warning", "failure"}
STATUSES = {"queued", "in_progress", "completed"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    token: str
    base_url: str = ""
    forbid_writes: bool = False
    requests: list[Request] = field(default_factory=list)
    check_runs: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, dict] = field(default_factory=dict)  # id -> {issue, body, ...}
    _next_id: int = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def comments_on(self, number: int) -> list[dict]:
        return [c for c in self.comments.values() if c["issue"] == number]

    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> dict:
        cid = self.new_id()
        comment = {"id": cid, "issue": number, "body": body, "user": {"login": login},
                   "url": f"{self.base_url}/repos/{repo}/issues/comments/{cid}",
                   "html_url": f"https://github.invalid/{repo}/pull/{number}#issuecomment-{cid}"}
        self.comments[cid] = comment
        return comment

    def writes(self, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.method != "GET" and (method is None or r.method == method)]


class _Error(Exception):
    def __init__(self, status: int, message: str, errors: list | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
        if errors:
            self.body["errors"] = errors


def _check_output(output: Any) -> None:
    if output is None:
        return
    if not isinstance(output, dict) or not output.get("title") or "summary" not in output:
        raise _Error(422, "Invalid request.", ["output requires title and summary"])
    if len(output["summary"]) > 65535 or len(output.get("text") or "") > 65535:
        raise _Error(422, "Invalid request.", ["output.summary is too long (maximum is 65535 characters)"])
    annotations = output.get("annotations") or []
    if len(annotations) > 50:
        raise _Error(422, "Invalid request.", ["Only 50 annotations are allowed per request"])
    for a in annotations:
        missing = [k for k in ("path", "start_line", "end_line", "annotation_level", "message")
                   if a.get(k) in (None, "")]
        if missing:
            raise _Error(422, "Invalid request.", [f"annotation lacks {', '.join(missing)}"])
        if a["annotation_level"] not in LEVELS:
            raise _Error(422, "Invalid request.", [f"annotation_level {a['annotation_level']!r}"])
        if ("start_column" in a or "end_column" in a) and a["start_line"] != a["end_line"]:
            raise _Error(422, "Invalid request.", ["columns only on one-line annotations"])
        if not isinstance(a["start_line"], int) or a["end_line"] < a["start_line"]:
            raise _Error(422, "Invalid request.", ["bad line range"])


def _check_status(body: dict, current: str | None = None) -> None:
    status = body.get("status", current)
    if status is not None and status not in STATUSES:
        raise _Error(422, "Invalid request.", [f"status {status!r}"])
    if body.get("conclusion") and status != "completed":
        raise _Error(422, "Invalid request.", ["conclusion needs status completed"])
    if body.get("status") == "completed" and not body.get("conclusion"):
        raise _Error(422, "Invalid request.", ["a completed check run needs a conclusion"])


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            state.requests.append(Request(self.command, parts.path, parse_qs(parts.query), body,
                                          {k.lower(): v for k, v in self.headers.items()}))
            try:
                if self.headers.get("Authorization") != f"token {state.token}":
                    raise _Error(401, "Bad credentials")
                if state.forbid_writes and self.command != "GET":
                    raise _Error(403, "Resource not accessible by integration")
                status, answer, headers = self._route(self.command, parts.path, parse_qs(parts.query), body)
            except _Error as exc:
                status, answer, headers = exc.status, exc.body, {}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve  # noqa: N815

        def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any, dict]:
            p = path.strip("/").split("/")
            if len(p) >= 4 and p[0] == "repos":
                repo = f"{p[1]}/{p[2]}"
                rest = p[3:]
                if rest == ["check-runs"] and method == "POST":
                    return 201, self._create_run(repo, body or {}), {}
                if len(rest) == 2 and rest[0] == "check-runs" and method == "PATCH":
                    return 200, self._update_run(int(rest[1]), body or {}), {}
                if len(rest) == 3 and rest[0] == "issues" and rest[2] == "comments":
                    number = int(rest[1])
                    if method == "GET":
                        return self._list_comments(repo, number, query)
                    if method == "POST":
                        return 201, self._comment(repo, number, body or {}), {}
                if len(rest) == 3 and rest[:2] == ["issues", "comments"] and method == "PATCH":
                    return 200, self._edit_comment(int(rest[2]), body or {}), {}
            raise _Error(404, "Not Found")

        def _create_run(self, repo: str, body: dict) -> dict:
            if not isinstance(body.get("name"), str) or not isinstance(body.get("head_sha"), str):
                raise _Error(422, "Invalid request.", ["name and head_sha are required"])
            _check_status(body)
            _check_output(body.get("output"))
            rid = state.new_id()
            output = dict(body.get("output") or {})
            run = {
                "id": rid, "name": body["name"], "head_sha": body["head_sha"],
                "status": body.get("status", "queued"), "conclusion": body.get("conclusion"),
                "external_id": body.get("external_id"),
                "url": f"{state.base_url}/repos/{repo}/check-runs/{rid}",
                "output": {"title": output.get("title"), "summary": output.get("summary"),
                           "annotations_count": len(output.get("annotations") or [])},
                "annotations": list(output.get("annotations") or []),
            }
            state.check_runs[rid] = run
            return {k: v for k, v in run.items() if k != "annotations"}

        def _update_run(self, rid: int, body: dict) -> dict:
            run = state.check_runs.get(rid)
            if run is None:
                raise _Error(404, "Not Found")
            _check_status(body, run["status"])
            _check_output(body.get("output"))
            for key in ("status", "conclusion", "name"):
                if key in body:
                    run[key] = body[key]
            if body.get("output"):
                run["annotations"] += body["output"].get("annotations") or []
                run["output"] = {"title": body["output"]["title"], "summary": body["output"]["summary"],
                                 "annotations_count": len(run["annotations"])}
            return {k: v for k, v in run.items() if k != "annotations"}

        def _list_comments(self, repo: str, number: int, query: dict) -> tuple[int, Any, dict]:
            per_page = int((query.get("per_page") or ["30"])[0])
            page = int((query.get("page") or ["1"])[0])
            everything = state.comments_on(number)
            chunk = everything[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(everything):
                nxt = (f"{state.base_url}/repos/{repo}/issues/{number}/comments"
                       f"?per_page={per_page}&page={page + 1}")
                headers["Link"] = f'<{nxt}>; rel="next"'
            return 200, [{k: v for k, v in c.items() if k != "issue"} for c in chunk], headers

        def _comment(self, repo: str, number: int, body: dict) -> dict:
            text = body.get("body")
            if not isinstance(text, str) or len(text) > 65536:
                raise _Error(422, "Validation Failed", ["body is too long (maximum is 65536 characters)"])
            comment = state.add_comment(repo, number, text, login="github-actions[bot]")
            return {k: v for k, v in comment.items() if k != "issue"}

        def _edit_comment(self, cid: int, body: dict) -> dict:
            comment = state.comments.get(cid)
            if comment is None:
                raise _Error(404, "Not Found")
            text = body.get("body")
            if not isinstance(text, str) or len(text) > 65536:
                raise _Error(422, "Validation Failed", ["body is too long (maximum is 65536 characters)"])
            comment["body"] = text
            return {k: v for k, v in comment.items() if k != "issue"}

    return Handler


@contextmanager
def serve(token: str) -> Iterator[FakeGitHub]:
    """A FakeGitHub listening on 127.0.0.1, its `base_url` set, stopped on exit."""
    state = FakeGitHub(token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
