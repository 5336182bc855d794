"""Posting a result to the pull request it is about: a check run and the sticky comment.

What the gate knows of the pull request comes from the Actions environment:
`GITHUB_REPOSITORY`, `GITHUB_API_URL` (GitHub Enterprise and tests point it
elsewhere), `GITHUB_EVENT_NAME` and the event payload at `GITHUB_EVENT_PATH`
(`pull_request.number` and `pull_request.head.sha`, since `GITHUB_SHA` is the
merge commit there; `workflow_run.head_sha` and its `pull_requests`), with
`GITHUB_SHA` as the last resort. The token is `GITHUB_TOKEN` from the
environment, masked before first use.

Posting never fails a gate: a fork's read-only token, a 403 or an unreachable
API is a warning (an annotation and a line in the job summary), and the
annotations and summary carry the findings anyway.
"""

from __future__ import annotations

import json
import os
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Finding, GateResult, Location, Severity

DEFAULT_API_URL = "https://api.github.com"
FORK_HELP = ("fork pull requests get a read-only token: post the results from a workflow_run "
             "workflow with `dragonfly-ci publish` (see the README's \"Fork pull requests\")")


@dataclass(frozen=True)
class PullRequest:
    api_url: str
    repository: str  # owner/name
    head_sha: str | None
    number: int | None
    event: str
    from_fork: bool  # a pull_request event whose head lives in another repository


def from_environment(env: dict[str, str] | None = None) -> PullRequest | None:
    """The pull request (or commit) this run is about; None outside Actions."""
    env = dict(os.environ if env is None else env)
    repository = env.get("GITHUB_REPOSITORY")
    if not repository:
        return None
    event_name = env.get("GITHUB_EVENT_NAME", "")
    payload: dict = {}
    if env.get("GITHUB_EVENT_PATH"):
        try:
            payload = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            payload = {}
    number, sha, fork = None, None, False
    pull = payload.get("pull_request") if isinstance(payload.get("pull_request"), dict) else None
    run = payload.get("workflow_run") if isinstance(payload.get("workflow_run"), dict) else None
    if pull:
        number = pull.get("number")
        sha = (pull.get("head") or {}).get("sha")
        head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
        fork = event_name == "pull_request" and bool(head_repo) and head_repo != repository
    elif run:
        sha = run.get("head_sha")
        pulls = run.get("pull_requests") or []
        number = pulls[0].get("number") if pulls else None
    return PullRequest(
        api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        repository=repository,
        head_sha=sha or env.get("GITHUB_SHA") or None,
        number=number if isinstance(number, int) else None,
        event=event_name,
        from_fork=fork,
    )


def publish(result: GateResult, *, strict: bool, check_run: bool = True, comment: bool = True,
            stream: TextIO, pr: int | None = None, sha: str | None = None,
            required: bool = False, env: dict[str, str] | None = None) -> bool:
    """Create the check run and write the sticky comment, as far as possible; True when all
    that was asked for was posted. Problems are warnings, never exceptions."""
    if not (check_run or comment):
        return True
    env = dict(os.environ if env is None else env)
    token = env.get("GITHUB_TOKEN", "")
    where = from_environment(env)
    if not token or where is None:
        if required:
            _warn("no GITHUB_TOKEN and GITHUB_REPOSITORY: nothing was posted", stream, env)
        return False
    if env.get("GITHUB_ACTIONS") == "true":
        from actions_toolkit import core

        stream.flush()
        with redirect_stdout(stream):  # where the rest of the report goes, in order
            core.set_secret(token)  # ::add-mask:: before the token is used
    if where.from_fork and not required:
        _warn(f"no check run or PR comment: this pull request comes from a fork; {FORK_HELP}",
              stream, env)
        return False
    head_sha = sha or where.head_sha
    number = pr or where.number
    from github import Auth, Github, GithubException
    from urllib3.util.retry import Retry

    # Retries only for reads (urllib3's default methods) and only after a server error: a
    # retried POST could create a second check run. No pauses between requests: a run makes
    # a handful.
    retry = Retry(total=2, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504))
    client = Github(auth=Auth.Token(token), base_url=where.api_url, lazy=True, timeout=30,
                    retry=retry, per_page=100, seconds_between_requests=None,
                    seconds_between_writes=None)
    repo = client.get_repo(where.repository)
    posted = True
    if check_run:
        if not head_sha:
            _warn("no check run: the commit is unknown (no pull request head or GITHUB_SHA)", stream, env)
            posted = False
        else:
            from dragonfly_ci.report.checks_api import create_check_run

            try:
                create_check_run(repo, result, head_sha, strict=strict)
                stream.write(f"dragonfly-ci: check run created for {head_sha[:7]}\n")
            except Exception as exc:  # noqa: BLE001 - GitHub's or the network's: a warning
                _warn(f"could not create the check run: {_why(exc, token, GithubException)}; the "
                      "annotations and the job summary carry the findings", stream, env)
                posted = False
    if comment:
        if number is None:
            if required:
                _warn("no PR comment: no pull request number (pass --pr)", stream, env)
                posted = False
        else:
            from dragonfly_ci.report.pr_comment import upsert

            try:
                done = upsert(repo, number, result, strict=strict, head_sha=head_sha)
                stream.write(f"dragonfly-ci: PR comment {done} on #{number}\n")
            except Exception as exc:  # noqa: BLE001 - GitHub's or the network's: a warning
                _warn(f"could not write the PR comment: {_why(exc, token, GithubException)}",
                      stream, env)
                posted = False
    client.close()
    return posted


def _why(exc: Exception, token: str, github_exception: type) -> str:
    if isinstance(exc, github_exception):
        data = exc.data if isinstance(exc.data, dict) else {}
        text = f"HTTP {exc.status} {data.get('message') or ''}".strip()
        if exc.status in (401, 403, 404):
            text += (" (the token cannot write here: a fork pull request's read-only token, or a "
                     "workflow without `permissions: checks: write, pull-requests: write`)")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text.replace(token, "***") if token else text


def _warn(message: str, stream: TextIO, env: dict[str, str]) -> None:
    if env.get("GITHUB_ACTIONS") == "true":
        from actions_toolkit.command import issue_command

        stream.flush()
        with redirect_stdout(stream):
            issue_command("warning", {"title": "dragonfly-ci"}, message)
        summary = env.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(f"\n> [!WARNING]\n> {message}\n")
    else:
        stream.write(f"dragonfly-ci: warning: {message}\n")
    stream.flush()


# --- a saved report -------------------------------------------------------------------------------


def load_report(path: Path) -> tuple[GateResult, bool]:
    """A GateResult from a JSON report (`--format json`), and whether it was strict."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        result = GateResult(str(data["gate"]), facts=dict(data.get("facts") or {}),
                            duration_s=float(data.get("duration_s") or 0))
        for item in data.get("findings") or []:
            loc = item.get("location")
            result.findings.append(Finding(
                rule=str(item["rule"]), severity=Severity(item["severity"]), message=str(item["message"]),
                location=Location(str(loc["file"]), loc.get("line"), loc.get("end_line"),
                                  loc.get("column")) if loc else None,
                hint=str(item.get("hint") or ""), subject=str(item.get("subject") or ""),
            ))
        strict = bool(data.get("strict"))
        result.could_not_check = not data.get("passed") and not result.errors and not (
            strict and result.warnings)
    except OSError as exc:
        raise BadInput(f"cannot read the report: {exc.strerror}", file=path) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"not a dragonfly-ci JSON report: {exc}", file=path,
                       hint="write it with --json-file PATH or --format json") from None
    return result, strict
