"""Migration files on disk, discovered by the Supabase CLI's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Finding, Location
from dragonfly_ci.rules import finding

# The Supabase CLI's pattern: the digits are the version, the rest the name.
MIGRATION_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")


@dataclass(frozen=True)
class MigrationFile:
    version: str
    name: str
    path: Path
    display: str  # repository-relative path, as annotations need it
    _text: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def text(self) -> str:
        if not self._text:
            try:
                self._text.append(self.path.read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise BadInput(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                               file=self.display, hint="save the file as UTF-8") from None
        return self._text[0]


def discover(migrations_dir: Path, display: callable) -> tuple[list[MigrationFile], list[Finding]]:
    """Migration files in version order, and warnings for the files skipped.

    `display` turns a path into the repository-relative path findings show.
    """
    if not migrations_dir.is_dir():
        raise BadInput(
            "migrations directory not found",
            file=display(migrations_dir),
            hint="run from the repository root, set supabase_dir in dragonfly.yml, "
            "or create it with `supabase migration new <name>`",
        )
    files: list[MigrationFile] = []
    skipped: list[Finding] = []
    folder = display(migrations_dir)  # once: resolving a thousand paths is not free
    for path in sorted(migrations_dir.iterdir()):
        if path.is_dir():
            continue
        match = MIGRATION_NAME.match(path.name)
        if not match:
            skipped.append(finding(
                "migration/skipped-file",
                f"{path.name} is not a migration file name; the Supabase CLI skips it too",
                location=Location(display(path)),
                hint="name migrations <version>_<name>.sql, e.g. with `supabase migration new`",
            ))
            continue
        files.append(MigrationFile(match.group(1), match.group(2), path, f"{folder}/{path.name}"))
    files.sort(key=lambda f: (f.version, f.path.name))
    seen: dict[str, MigrationFile] = {}
    for f in files:
        if f.version in seen:
            raise BadInput(
                f"duplicate migration version {f.version}: also used by {seen[f.version].display}",
                file=f.display,
                line=1,
                hint="give one of the files a new version, e.g. rename it with a later timestamp",
            )
        seen[f.version] = f
    return files, skipped
