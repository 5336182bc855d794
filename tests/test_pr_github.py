"""Check runs and the sticky PR comment, through PyGithub against a loopback GitHub API."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.findings import Finding, GateResult, Location, Severity
from dragonfly_ci.report import checks_api, pr_comment
from dragonfly_ci.report.pull_request import from_environment, load_report, publish
from tests.fakes.github_api import serve

TOKEN = "ghs_fakeTOKEN0123456789abcdef"
REPO = "acme/shop"
HEAD_SHA = "a" * 40
MERGE_SHA = "b" * 40


def event(tmp_path: Path, *, number: int = 7, head_repo: str = REPO, name: str = "event.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"pull_request": {
        "number": number,
        "head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}},
        "base": {"sha": "c" * 40, "repo": {"full_name": REPO}},
    }}))
    return path


def actions_env(api_url: str, event_path: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    summary = tmp_path / "summary.md"
    summary.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": api_url, "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_SHA": MERGE_SHA,
            "GITHUB_STEP_SUMMARY": str(summary), **extra}


def shown(text: str) -> str:
    """Output without the `::add-mask::` command, the one place the token may appear."""
    return text.replace(f"::add-mask::{TOKEN}\n", "")


def many_findings(n: int = 120) -> GateResult:
    result = GateResult("contract-gate")
    severities = [Severity.ERROR, Severity.WARNING, Severity.NOTICE]
    for i in range(n):
        result.findings.append(Finding(
            rule="lint/ban-drop-column", severity=severities[i % 3],
            message=f"finding {i}", location=Location(f"supabase/migrations/{i:03d}_x.sql", i + 1, None, 3),
            hint="do not",
        ))
    result.findings.append(Finding("contract/none", Severity.NOTICE, "no location at all"))
    return result


def test_120_findings_become_three_annotation_batches_on_one_check_run(tmp_path: Path) -> None:
    with serve(TOKEN) as api:
        out = io.StringIO()
        env = actions_env(api.base_url, event(tmp_path), tmp_path)
        posted = publish(many_findings(), strict=False, comment=False, stream=out, env=env)

    assert posted
    writes = api.writes()
    assert [(r.method, r.path) for r in writes] == [
        ("POST", f"/repos/{REPO}/check-runs"),
        ("PATCH", f"/repos/{REPO}/check-runs/1001"),
        ("PATCH", f"/repos/{REPO}/check-runs/1001"),
    ]
    batches = [r.body["output"]["annotations"] for r in writes]
    assert [len(b) for b in batches] == [50, 50, 20]
    create = writes[0].body
    assert create["name"] == "dragonfly-ci contract-gate"
    assert create["head_sha"] == HEAD_SHA  # the PR's head, not GITHUB_SHA's merge commit
    assert create["status"] == "in_progress" and "conclusion" not in create
    assert writes[-1].body["status"] == "completed"
    assert writes[-1].body["conclusion"] == "failure"
    run = api.check_runs[1001]
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert len(run["annotations"]) == 120  # every finding with a location, none lost to caps
    assert {a["message"] for a in run["annotations"]} == {f"finding {i}" for i in range(120)}
    # Errors come first, as the workflow-command annotations order them.
    assert [a["annotation_level"] for a in run["annotations"][:40]] == ["failure"] * 40
    first = run["annotations"][0]
    assert first["title"] == "lint/ban-drop-column"
    assert first["start_column"] == first["end_column"] == 3
    assert "120 errors" not in create["output"]["title"] and "40 errors" in create["output"]["title"]
    assert all(r.headers["authorization"] == f"token {TOKEN}" for r in api.requests)
    assert TOKEN not in shown(out.getvalue())
    assert out.getvalue().startswith(f"::add-mask::{TOKEN}\n")  # masked before first use


def test_a_passing_result_is_one_completed_request_with_success(tmp_path: Path) -> None:
    result = GateResult("contract-gate", findings=[Finding(
        "surface/rpc-added", Severity.NOTICE, "RPC public.f() is new", Location("m.sql", 2))])
    with serve(TOKEN) as api:
        publish(result, strict=False, comment=False, stream=io.StringIO(),
                env=actions_env(api.base_url, event(tmp_path), tmp_path))
    [create] = api.writes()
    assert create.body["status"] == "completed" and create.body["conclusion"] == "success"
    assert create.body["output"]["annotations"][0]["annotation_level"] == "notice"


def test_the_sticky_comment_is_found_by_its_marker_and_edited_in_place(tmp_path: Path) -> None:
    with serve(TOKEN) as api:
        # 120 other comments first: the marker's comment will be on the second page.
        for i in range(120):
            api.add_comment(REPO, 7, f"unrelated {i}")
        env = actions_env(api.base_url, event(tmp_path), tmp_path)
        first = many_findings(3)
        assert publish(first, strict=False, check_run=False, stream=io.StringIO(), env=env)
        created = [c for c in api.comments_on(7) if pr_comment.marker("contract-gate") in c["body"]]
        assert len(created) == 1
        comment_id = created[0]["id"]
        assert "## ❌ contract-gate failed" in created[0]["body"]
        assert "finding 0" in created[0]["body"]

        second = GateResult("contract-gate")
        out = io.StringIO()
        assert publish(second, strict=False, check_run=False, stream=out, env=env)

    ours = [c for c in api.comments_on(7) if pr_comment.marker("contract-gate") in c["body"]]
    assert [c["id"] for c in ours] == [comment_id]  # the same comment, not a second one
    assert "## ✅ contract-gate passed" in ours[0]["body"]
    assert "finding 0" not in ours[0]["body"]
    assert [(r.method, r.path) for r in api.writes()] == [
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment_id}"),
    ]
    pages = [r.query.get("page", ["1"])[0] for r in api.requests if r.method == "GET"]
    assert pages == ["1", "2", "1", "2"]  # both runs read past the first page to find it
    assert "PR comment edited on #7" in out.getvalue()


def test_a_huge_report_stays_within_the_comment_and_summary_limits(tmp_path: Path) -> None:
    result = many_findings(3000)
    with serve(TOKEN) as api:
        assert publish(result, strict=False, stream=io.StringIO(),
                       env=actions_env(api.base_url, event(tmp_path), tmp_path))
    [comment] = api.comments_on(7)
    assert len(comment["body"]) <= 65536
    assert "more findings not shown: a pull-request comment is limited" in comment["body"]
    assert len(api.check_runs[1001]["annotations"]) == 3000  # 60 batches of 50
    assert len(api.check_runs[1001]["output"]["summary"]) <= 65535


def test_a_403_is_a_warning_and_nothing_else(tmp_path: Path) -> None:
    with serve(TOKEN) as api:
        api.forbid_writes = True
        out = io.StringIO()
        env = actions_env(api.base_url, event(tmp_path), tmp_path)
        posted = publish(many_findings(3), strict=False, stream=out, env=env)

    assert posted is False
    text = out.getvalue()
    assert "::warning title=dragonfly-ci::could not create the check run: HTTP 403 Resource not " \
           "accessible by integration" in text
    assert "could not write the PR comment: HTTP 403" in text
    assert TOKEN not in shown(text)
    assert "could not create the check run" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_fork_pull_request_posts_nothing_and_says_why(tmp_path: Path) -> None:
    with serve(TOKEN) as api:
        out = io.StringIO()
        env = actions_env(api.base_url, event(tmp_path, head_repo="someone/shop"), tmp_path)
        assert publish(many_findings(3), strict=False, stream=out, env=env) is False
    assert api.requests == []
    assert "this pull request comes from a fork" in out.getvalue()
    assert "workflow_run" in out.getvalue()


def test_the_context_comes_from_the_event_payload(tmp_path: Path) -> None:
    run_event = tmp_path / "run.json"
    run_event.write_text(json.dumps({"workflow_run": {"head_sha": HEAD_SHA,
                                                      "pull_requests": [{"number": 12}]}}))
    where = from_environment({"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "workflow_run",
                              "GITHUB_EVENT_PATH": str(run_event), "GITHUB_SHA": MERGE_SHA})
    assert where is not None
    assert (where.number, where.head_sha, where.api_url) == (12, HEAD_SHA, "https://api.github.com")
    push = from_environment({"GITHUB_REPOSITORY": REPO, "GITHUB_SHA": MERGE_SHA,
                             "GITHUB_API_URL": "https://ghe.example/api/v3/"})
    assert push is not None
    assert (push.number, push.head_sha, push.api_url) == (None, MERGE_SHA, "https://ghe.example/api/v3")
    assert from_environment({}) is None


# --- through the command line --------------------------------------------------------------------


@pytest.fixture
def gate_env(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The reference project as a git checkout, run as in GitHub Actions."""
    git_env = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    (project / ".git").rmdir()
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True,
                       env={**os.environ, **git_env})
    monkeypatch.chdir(project)
    for key, value in git_env.items():
        monkeypatch.setenv(key, value)

    def start(api_url: str) -> dict[str, str]:
        (tmp_path / "out").touch()
        env = actions_env(api_url, event(tmp_path), tmp_path, GITHUB_OUTPUT=str(tmp_path / "out"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return start


def test_the_gate_passes_when_the_api_refuses_and_says_so(gate_env, capsys) -> None:
    with serve(TOKEN) as api:
        api.forbid_writes = True
        gate_env(api.base_url)
        code = main(["contract-gate", "--base", "main"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured.err + out
    assert "::warning title=dragonfly-ci::could not create the check run: HTTP 403" in out
    assert "could not write the PR comment: HTTP 403" in out
    assert TOKEN not in shown(out)
    assert out.startswith(f"::add-mask::{TOKEN}\n")  # before anything else is printed
    assert [r.method for r in api.requests].count("POST") == 2  # it tried both, once each


def test_the_gate_posts_its_result_and_writes_sarif_and_json_beside(gate_env, capsys,
                                                                    tmp_path: Path) -> None:
    with serve(TOKEN) as api:
        gate_env(api.base_url)
        code = main(["contract-gate", "--base", "main", "--sarif-file", str(tmp_path / "r.sarif"),
                     "--json-file", str(tmp_path / "r.json")])
    assert code == 0
    out = capsys.readouterr().out
    assert "check run created for aaaaaaa" in out and "PR comment created on #7" in out
    [run] = api.check_runs.values()
    assert run["conclusion"] == "success" and run["head_sha"] == HEAD_SHA
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    result, strict = load_report(tmp_path / "r.json")
    assert result.gate == "contract-gate" and result.passed() and strict is False


def test_publish_posts_a_saved_report_from_a_workflow_run(tmp_path: Path, monkeypatch, capsys) -> None:
    report = tmp_path / "report.json"
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    monkeypatch.chdir(tmp_path)
    result = many_findings(60)
    from dragonfly_ci.report import json_report

    report.write_text(json_report.render(result))
    run_event = tmp_path / "run.json"
    run_event.write_text(json.dumps({"workflow_run": {"head_sha": HEAD_SHA, "pull_requests": []}}))
    with serve(TOKEN) as api:
        for key, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO,
                           "GITHUB_API_URL": api.base_url, "GITHUB_EVENT_NAME": "workflow_run",
                           "GITHUB_EVENT_PATH": str(run_event)}.items():
            monkeypatch.setenv(key, value)
        assert main(["publish", str(report), "--pr", "9"]) == 0
        api.forbid_writes = True
        assert main(["publish", str(report), "--pr", "9"]) == 3  # asked to post, could not
    [run] = api.check_runs.values()
    assert len(run["annotations"]) == 60 and run["head_sha"] == HEAD_SHA
    assert len(api.comments_on(9)) == 1
    assert main(["publish", str(tmp_path / "missing.json")]) == 2
    capsys.readouterr()


def test_annotations_put_errors_on_changed_lines_first_within_the_caps() -> None:
    from dragonfly_ci.report.github import annotations

    result = GateResult("contract-gate", changed_lines={"m.sql": frozenset({13, 14, 15})})
    for line in range(1, 16):
        result.findings.append(Finding("surface/column-removed", Severity.ERROR, f"e{line}",
                                       Location("m.sql", line)))
    result.findings.append(Finding("lint/x", Severity.WARNING, "w", Location("m.sql", 14)))

    shown = annotations(result)

    errors = [props["start_line"] for level, _, props in shown if level == "error"]
    assert errors[:3] == [13, 14, 15]  # on the changed lines, though they sort last
    assert len(errors) == 10  # GitHub's per-level cap
    assert errors[3:] == [1, 2, 3, 4, 5, 6, 7]
    assert shown[-1][0] == "notice" and "5 more findings" in shown[-1][1]
    check_run = [a["start_line"] for a in checks_api.annotations(result)]
    assert check_run[:3] == [13, 14, 15] and len(check_run) == 16  # the check run takes them all
