"""Running git: the one place that knows how git fails and what to tell the user.

Gates call git read-only, through subprocess (no library: whatever git the
runner has is the git that made the checkout). A failure becomes one of the
documented outcomes: an unknown ref is bad input (2); no git, no repository or
any other git failure means nothing could be checked (3).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from dragonfly_ci.errors import BadInput, CouldNotCheck

# What git prints when a revision does not resolve (rev-parse, diff, ls-tree, cat-file).
_UNKNOWN_REVISION = re.compile(
    r"unknown revision|bad revision|bad object|Needed a single revision|not a valid object name"
    r"|invalid object name|not a tree object"
)


def fetch_hint(ref: str) -> str:
    return (f"fetch it first: actions/checkout with fetch-depth: 0, or git fetch origin {ref}; "
            "check the spelling with git rev-parse --verify " + ref)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # English messages, so failures can be recognised below.
    env.update(LC_ALL="C", LANGUAGE="")
    # A check must not write to the repository, not even the index's stat cache
    # that `git diff` refreshes opportunistically, nor contend for index.lock.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _run(args: Sequence[str], cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """git's result as text, or as bytes when `stdin` is given (for --batch commands)."""
    if not cwd.is_dir():
        raise CouldNotCheck("folder not found, so git cannot run in it", file=cwd)
    # Paths are bytes to git; surrogateescape round-trips any of them to Path.
    text = {"text": True, "encoding": "utf-8", "errors": "surrogateescape"} if stdin is None else {}
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=_environment(), capture_output=True, check=False,
            input=stdin, **text,
        )
    except FileNotFoundError:
        raise CouldNotCheck("git is not installed or not on PATH",
                            hint="install git (every GitHub-hosted runner has it)") from None
    except OSError as exc:
        raise CouldNotCheck(f"could not run git: {exc}") from None


def _failure(proc: subprocess.CompletedProcess, args: Sequence[str], cwd: Path) -> Exception:
    stderr = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode("utf-8", "replace")
    stderr = stderr.strip()
    last = stderr.splitlines()[-1] if stderr else f"exit status {proc.returncode}"
    if "not a git repository" in stderr:
        return CouldNotCheck(
            "not in a git repository", file=cwd,
            hint="run in a git checkout (in GitHub Actions: actions/checkout before this step)",
        )
    if "dubious ownership" in stderr:
        return CouldNotCheck(
            "git refuses a repository owned by another user", file=cwd,
            hint=f"mark it safe: git config --global --add safe.directory {cwd}",
        )
    if _UNKNOWN_REVISION.search(stderr):
        return BadInput(f"git {args[0]}: {last}", hint=fetch_hint("<ref>"))
    return CouldNotCheck(f"git {args[0]} failed: {last}", file=cwd)


def run_git(args: Sequence[str], cwd: Path) -> str:
    """git's stdout; BadInput for an unknown revision, CouldNotCheck for anything else."""
    proc = _run(args, cwd)
    if proc.returncode != 0:
        raise _failure(proc, args, cwd)
    return proc.stdout


def run_git_batch(args: Sequence[str], cwd: Path, stdin: bytes) -> bytes:
    """git's raw stdout for a command fed `stdin` (cat-file --batch: sizes count bytes)."""
    proc = _run(args, cwd, stdin)
    if proc.returncode != 0:
        raise _failure(proc, args, cwd)
    return proc.stdout


def resolve_commit(ref: str, cwd: Path) -> str:
    """The full SHA of the commit `ref` names (tags peeled); BadInput naming it if unknown."""
    # A leading dash would be read as an option; no ref name can start with one.
    if not ref or ref.startswith("-"):
        raise BadInput(f"not a git ref: {ref!r}", hint="pass a branch, tag or commit, e.g. origin/main")
    args = ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]
    proc = _run(args, cwd)
    if proc.returncode == 1 and not proc.stderr.strip():  # --quiet: the ref does not resolve
        raise BadInput(f"unknown git ref {ref!r}: no such commit in this clone", hint=fetch_hint(ref))
    if proc.returncode != 0:
        raise _failure(proc, args, cwd)
    return proc.stdout.strip()


def toplevel(cwd: Path) -> Path:
    """The root of the working tree holding `cwd`."""
    return Path(run_git(["rev-parse", "--show-toplevel"], cwd).strip()).resolve()
