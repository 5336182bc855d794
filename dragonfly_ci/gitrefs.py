"""Migration files and the contract as they are at a git ref, and what changed since.

A pull request's base is read straight from git (`ls-tree`, one `cat-file
--batch` for every blob), never by checking anything out: the working tree is
the head. Read-only; failures are `dragonfly_ci.git`'s (an unknown ref is bad
input, no git or no repository means it could not check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput, CouldNotCheck
from dragonfly_ci.git import resolve_commit, run_git, run_git_batch, toplevel
from dragonfly_ci.migrations.files import MIGRATION_NAME, MigrationFile

# A hunk header of `git diff`: the new side's first line and line count.
HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Folder:
    """The migrations folder inside its repository."""

    top: Path  # the repository's root
    rel: str  # the folder, relative to `top`, with slashes ("." for the root)


def migrations_folder(project: Project) -> Folder:
    folder = project.migrations_dir
    # The folder itself may be gone (every file deleted); git runs in what is left.
    top = toplevel(next(p for p in [folder, *folder.parents] if p.is_dir()))
    try:
        rel = folder.resolve().relative_to(top).as_posix()
    except ValueError:
        raise CouldNotCheck(f"the migrations folder is outside the git repository at {top}",
                            file=project.display(folder)) from None
    return Folder(top, rel)


def is_migration(path: str, rel: str) -> bool:
    """A file the Supabase CLI applies: directly in the folder, named <version>_<name>.sql."""
    pure = PurePosixPath(path)
    return pure.parent == PurePosixPath(rel) and MIGRATION_NAME.match(pure.name) is not None


def version_of(path: str) -> str:
    match = MIGRATION_NAME.match(PurePosixPath(path).name)
    assert match is not None
    return match.group(1)


def pathspec(rel: str) -> list[str]:
    return ["--", rel] if rel != "." else ["--"]


def migration_blobs(commit: str, folder: Folder) -> dict[str, str]:
    """The migration files at `commit`: repository-relative path -> blob id."""
    rel = folder.rel
    # ls-tree lists a folder's entries only with a trailing slash; a missing folder lists nothing.
    listing = run_git(["ls-tree", "-z", commit, "--", f"{rel}/" if rel != "." else "."], folder.top)
    files = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        _mode, kind, blob = meta.split()
        if kind == "blob" and is_migration(path, rel):
            files[path] = blob
    return files


def read_blobs(blob_ids: list[str], top: Path) -> dict[str, bytes]:
    """Every blob's content, in one `git cat-file --batch`."""
    wanted = list(dict.fromkeys(blob_ids))
    if not wanted:
        return {}
    out = run_git_batch(["cat-file", "--batch"], top, "".join(f"{b}\n" for b in wanted).encode())
    contents: dict[str, bytes] = {}
    at = 0
    for blob in wanted:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].decode("ascii", "replace").split()
        if len(header) < 3 or header[1] != "blob":  # "<id> missing"
            raise CouldNotCheck(f"git cat-file could not read blob {blob}", file=top)
        size = int(header[2])
        contents[blob] = out[header_end + 1: header_end + 1 + size]
        at = header_end + 1 + size + 1  # the content is followed by a newline
    return contents


@dataclass(frozen=True)
class BaseMigrations:
    ref: str
    commit: str
    folder: Folder
    files: list[MigrationFile]  # in version order, their text read from git
    blobs: dict[str, str]  # repository-relative path -> blob id


def migrations_at(project: Project, ref: str) -> BaseMigrations:
    """The migration files as they are at `ref`, ready to apply like files on disk."""
    folder = migrations_folder(project)
    commit = resolve_commit(ref, folder.top)
    blobs = migration_blobs(commit, folder)
    contents = read_blobs(list(blobs.values()), folder.top)
    files = []
    for path, blob in blobs.items():
        display = project.display(folder.top / path)
        try:
            text = contents[blob].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"not UTF-8 text at {ref} ({exc.reason} at byte {exc.start})",
                           file=display, hint="the base's migrations must be UTF-8") from None
        match = MIGRATION_NAME.match(PurePosixPath(path).name)
        assert match is not None
        files.append(MigrationFile(match.group(1), match.group(2), folder.top / path, display,
                                   [text]))
    files.sort(key=lambda f: (f.version, f.path.name))
    return BaseMigrations(ref, commit, folder, files, blobs)


def text_at(commit: str, path: Path, top: Path) -> str | None:
    """A file's text at `commit` (path on disk, inside `top`); None when it did not exist."""
    try:
        rel = path.resolve().relative_to(top).as_posix()
    except ValueError:
        return None
    listing = run_git(["ls-tree", "-z", commit, "--", rel], top)
    entry = next(filter(None, listing.split("\0")), None)
    if entry is None:
        return None
    _mode, kind, blob = entry.split("\t", 1)[0].split()
    if kind != "blob":
        return None
    return read_blobs([blob], top)[blob].decode("utf-8", "replace")


def changed_lines(commit: str, paths: list[Path], top: Path) -> dict[str, frozenset[int]]:
    """Lines of the working tree that differ from `commit`, by repository-relative path.

    Tracked changes come from `git diff -U0`; untracked files (not ignored) are
    new, so every line of them counts.
    """
    rels = []
    for path in paths:
        try:
            rels.append(path.resolve().relative_to(top).as_posix())
        except ValueError:
            continue
    if not rels:
        return {}
    spec = ["--", *rels]
    patch = run_git(["-c", "core.quotepath=off", "--literal-pathspecs", "diff", "-U0", "--text",
                     "--no-color", "--no-ext-diff", "--no-renames", commit, *spec], top)
    lines: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target == "/dev/null" else lines.setdefault(target[2:], set())
        elif current is not None:
            hunk = HUNK.match(line)
            if hunk:
                start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
                current.update(range(start, start + count))
    untracked = run_git(["--literal-pathspecs", "ls-files", "-z", "--others", "--exclude-standard",
                         *spec], top)
    for rel in filter(None, untracked.split("\0")):
        try:
            data = (top / rel).read_bytes()
        except OSError:
            continue
        count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        lines[rel] = set(range(1, count + 1))
    return {rel: frozenset(found) for rel, found in lines.items() if found}
