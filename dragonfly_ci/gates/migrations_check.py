"""`migrations check --base REF`: applied migrations are never edited, renamed or deleted.

The runbook's prime directive: a migration that has shipped is immutable; a
rollback is a new migration. On a pull request every migration file that exists
at the base ref has shipped (or will, with the base), so the working tree
(staged, unstaged and untracked files; not ignored ones) must still hold each
of them byte for byte, and new files should sort after the base's newest.

Read-only git through `dragonfly_ci.git`; never prints, never exits.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dragonfly_ci.config import Project
from dragonfly_ci.findings import Finding, GateResult, Location
from dragonfly_ci.git import resolve_commit, run_git
from dragonfly_ci.gitrefs import HUNK, is_migration, migration_blobs, migrations_folder, pathspec
from dragonfly_ci.gitrefs import version_of as _version
from dragonfly_ci.rules import apply_overrides, finding

GATE = "migrations-check"

NEW_MIGRATION = "`dragonfly-ci rollback new <slug>` (or `supabase migration new <name>`)"


@dataclass(frozen=True)
class _Change:
    status: str  # A added, D deleted, M modified, R renamed (git's letters)
    path: str  # repository-relative; for D the deleted path, for R the new one
    old: str = ""  # R only
    tracked: bool = True  # False: git has no diff for it, so no line either


def run(project: Project, base: str) -> GateResult:
    started = time.perf_counter()
    folder = project.migrations_dir
    where = migrations_folder(project)
    top, rel = where.top, where.rel
    commit = resolve_commit(base, top)
    base_files = migration_blobs(commit, where)
    changes = _changes(commit, rel, top, base_files)

    result = GateResult(GATE)

    def show(path: str) -> str:  # git's paths are relative to its root, findings' to the project's
        return project.display(top / path)

    newest = max((_version(p) for p in base_files), default=None)
    new_files = 0
    for change in changes:
        if change.status == "M":
            modified = _modified(change, commit, top, base, show)
            result.findings += [modified] if modified else []
        elif change.status == "R":
            result.findings.append(_renamed(change, base, show))
        elif change.status == "D":
            result.findings.append(_deleted(change.path, base, show))
        else:
            new_files += 1
            if newest is not None and _version(change.path) <= newest:
                result.findings.append(_out_of_order(change.path, newest, base, show))

    result.facts["migrations"] = project.display(folder)
    result.facts["base"] = f"{base} at {run_git(['rev-parse', '--short', commit], top).strip()}"
    result.facts["migration files at base"] = str(len(base_files))
    result.facts["new migration files"] = str(new_files)
    result.facts["compared with"] = "the working tree: staged, unstaged and untracked files"
    result.findings = apply_overrides(result.findings, project.rules)
    result.duration_s = time.perf_counter() - started
    return result


# --- what changed -------------------------------------------------------------------------------


def _changes(commit: str, rel: str, top: Path, base_files: dict[str, str]) -> list[_Change]:
    """Changes to migration files between `commit` and the working tree, renames detected."""
    # --literal-pathspecs: the folder's name is a path, never a glob.
    diff = run_git(["--literal-pathspecs", "diff", "-z", "--name-status", "-M", "--no-color",
                    "--no-ext-diff", commit, *pathspec(rel)], top)
    tokens = diff.split("\0")
    changes: list[_Change] = []
    i = 0
    while i < len(tokens) - 1:
        status = tokens[i][:1]
        if status in "RC":  # R086, old, new; copies (-C) are off, but parse them the same way
            old, new = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old = new = tokens[i + 1]
            i += 2
        was, now = old in base_files, is_migration(new, rel)
        if status == "R" and was:
            changes.append(_Change("R", new, old))  # also when renamed out of the CLI's name
        elif status == "D" or (status == "R" and not now):
            if was:
                changes.append(_Change("D", old))
        elif status in "AC" or (status == "R" and not was):
            if now:
                changes.append(_Change("A", new))
        elif was:  # M, T (type change), U (unmerged): the file is not what shipped
            changes.append(_Change("M", new))

    untracked = [p for p in filter(None, run_git(
        ["--literal-pathspecs", "ls-files", "-z", "--others", "--exclude-standard", *pathspec(rel)],
        top).split("\0")) if is_migration(p, rel)]
    return _pair_untracked(changes, untracked, base_files, top)


def _pair_untracked(changes: list[_Change], untracked: list[str], base_files: dict[str, str],
                    top: Path) -> list[_Change]:
    """Untracked files are new, unless they are a deleted base file moved or re-created.

    `git diff` only sees tracked files, so a plain `mv` (not `git mv`) reads as a
    deletion plus an untracked file, and `git rm --cached` as a deletion of a file
    still on disk. Content identical to a deleted file's blob is that file.
    """
    deleted = {c.path: c for c in changes if c.status == "D"}
    if not deleted or not untracked:
        return changes + [_Change("A", p) for p in untracked]
    # hash-object without -w: computes blob ids, writes nothing.
    blobs = run_git(["hash-object", "--", *untracked], top).split()
    by_blob = {base_files[p]: p for p in deleted}
    added = []
    for path, blob in zip(untracked, blobs, strict=True):
        if path in deleted:
            del deleted[path]
            if blob != base_files[path]:
                added.append(_Change("M", path, tracked=False))
        elif blob in by_blob and by_blob[blob] in deleted:
            added.append(_Change("R", path, deleted.pop(by_blob[blob]).path))
        else:
            added.append(_Change("A", path))
    return [c for c in changes if c.status != "D"] + list(deleted.values()) + added


def _first_change(commit: str, path: str, top: Path) -> tuple[int, bool] | None:
    """(first changed line in the working file, whitespace only?), None: no content change."""
    # --text: a .sql file git takes for binary must still show its lines.
    patch = run_git(["--literal-pathspecs", "diff", "-U0", "--text", "--no-color", "--no-ext-diff",
                     commit, "--", path], top)
    first: int | None = None
    removed: list[str] = []
    added: list[str] = []
    in_hunk = False
    for line in patch.splitlines():
        hunk = HUNK.match(line)
        if hunk:
            in_hunk = True
            if first is None:
                start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
                # A pure deletion names the line before the gap (0 at the top).
                first = start if count else max(start, 1)
        elif in_hunk and line[:1] == "-":
            removed.append(line[1:])
        elif in_hunk and line[:1] == "+":
            added.append(line[1:])
    if first is None:
        return None  # a mode change only: the statements are the same
    return first, _squeeze(removed) == _squeeze(added)


def _squeeze(lines: list[str]) -> str:
    # Joined first, so re-wrapping a statement over other lines also counts as whitespace.
    return re.sub(r"\s+", "", "".join(lines))


# --- findings -----------------------------------------------------------------------------------


Show = Callable[[str], str]


def _modified(change: _Change, commit: str, top: Path, base: str, show: Show) -> Finding | None:
    path, line, what = change.path, None, ""
    if change.tracked and (top / path).is_file():
        first = _first_change(commit, path, top)
        if first is None:
            return None
        line, whitespace = first
        what = " (whitespace only)" if whitespace else " (its content changed)"
    return finding(
        "migrations/applied-file-modified",
        f"{PurePosixPath(path).name} exists at {base} and was modified{what}: "
        "an applied migration is never edited",
        location=Location(show(path), line),
        hint=f"revert the edit (git checkout {_q(base)} -- {_q(path)}) and write the change as a new "
        f"migration ({NEW_MIGRATION}): applied migrations are immutable. Even whitespace and "
        "formatting changes are refused, so that `supabase db push`, the ledger's stored "
        "statements and the file agree.",
    )


def _renamed(change: _Change, base: str, show: Show) -> Finding:
    return finding(
        "migrations/applied-file-renamed",
        f"{PurePosixPath(change.path).name} was renamed from {show(change.old)}, which exists at "
        f"{base}: an applied migration is never renamed",
        location=Location(show(change.path)),
        hint=f"rename it back (git mv {_q(change.path)} {_q(change.old)}): the ledger records applied "
        "migrations by version, so a renamed file is a new pending migration and the applied one "
        f"has no file. Write changes as a new migration ({NEW_MIGRATION}).",
    )


def _deleted(path: str, base: str, show: Show) -> Finding:
    return finding(
        "migrations/applied-file-deleted",
        f"{PurePosixPath(path).name} exists at {base} and was deleted: an applied migration is "
        "never deleted",
        location=Location(show(path)),
        hint=f"restore it (git checkout {_q(base)} -- {_q(path)}); to undo what it did, write a new "
        f"migration ({NEW_MIGRATION}). If this branch only predates the file, merge {base} into it.",
    )


def _out_of_order(path: str, newest: str, base: str, show: Show) -> Finding:
    version = _version(path)
    if version == newest:
        relation = "has the same version as"
        why = f"a database that applied {newest} takes this file for applied and never runs it"
    else:
        relation = "sorts before"
        why = ("`supabase db push` refuses it without --include-all, `dragonfly-ci migrate` "
               "without --allow-out-of-order")
    return finding(
        "migrations/new-file-out-of-order",
        f"new migration {PurePosixPath(path).name} (version {version}) {relation} {base}'s newest "
        f"version, {newest}",
        location=Location(show(path), 1),
        hint=f"give it a version after {newest}, e.g. rename it with a current timestamp as "
        f"{NEW_MIGRATION} does: {why}",
    )


def _q(text: str) -> str:
    """Quoted for a shell, since hints are commands to paste."""
    return shlex.quote(text)
