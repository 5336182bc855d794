"""`contract-gate --base REF`: what a pull request changes, next to what it builds.

The base's migrations are read from git (`dragonfly_ci.gitrefs`) and built into
a second shadow; both shadows' public surfaces are compared
(`dragonfly_ci.checks.surface`) and each change is placed at the line of the
head migration that made it. The PR's new migrations are linted with squawk,
and the lines the PR changed are recorded so annotations put errors there first.

The second shadow reuses what it can: when the head's migrations start with
the base's, unchanged (the usual pull request, which only adds files), the
base is built once, copied (`CREATE DATABASE ... TEMPLATE`, a file copy on the
embedded server) and only the new files are applied to the copy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dragonfly_ci.config import Project
from dragonfly_ci.findings import Finding, GateResult, Location, Severity
from dragonfly_ci.gitrefs import BaseMigrations, changed_lines, migrations_at, text_at
from dragonfly_ci.migrations.files import MigrationFile
from dragonfly_ci.report._words import plural
from dragonfly_ci.rules import finding

if TYPE_CHECKING:
    from dragonfly_ci.checks.surface import Change
    from dragonfly_ci.postgres.catalog import Snapshot
    from dragonfly_ci.postgres.shadow import Build, Shadow


@dataclass
class PullRequestCheck:
    base: BaseMigrations
    head_files: list[MigrationFile]
    new_files: list[MigrationFile]  # in the head, not at the base: what the PR adds
    changed_files: list[MigrationFile]  # new, or different from the base's file of that name
    contract_before: Any  # the contract's YAML data at the base (None: absent)
    contract_after: Any
    contract_display: str
    changed: dict[str, frozenset[int]]  # repository-relative path -> lines the PR changed
    base_snapshot: Snapshot | None = None
    base_failure: Finding | None = None
    reused: bool = False
    facts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, project: Project, ref: str, head_files: list[MigrationFile]) -> PullRequestCheck:
        base = migrations_at(project, ref)
        before = {f.display: f for f in base.files}
        new = [f for f in head_files if f.display not in before]
        changed = [f for f in head_files if f.display not in before or before[f.display].text != f.text]
        contract = project.contract_file
        after_text = contract.read_text(encoding="utf-8") if contract.is_file() else None
        top = base.folder.top
        lines = changed_lines(base.commit, [project.migrations_dir, contract], top)
        return cls(
            base=base, head_files=head_files, new_files=new, changed_files=changed,
            contract_before=_yaml(text_at(base.commit, contract, top)),
            contract_after=_yaml(after_text),
            contract_display=project.display(contract),
            changed={project.display(top / rel): found for rel, found in lines.items()},
        )

    # --- the two shadows ---------------------------------------------------------------------

    def reusable(self) -> bool:
        """Whether the head's migrations are the base's, unchanged, followed by new ones."""
        base = self.base.files
        head = self.head_files[: len(base)]
        return len(head) == len(base) and all(
            b.display == h.display and b.text == h.text for b, h in zip(base, head, strict=True))

    @contextmanager
    def shadows(self, url: str | None, platform: str) -> Iterator[Build]:
        """Build the base (keeping its snapshot) and yield the head's build."""
        from dragonfly_ci.migrations.apply import ApplyOutcome, apply_files
        from dragonfly_ci.postgres.shadow import Build, build_from_migrations

        started = time.perf_counter()
        if not self.reusable():
            with build_from_migrations(self.base.files, url, platform) as base_build:
                self._keep_base(base_build, started)
            self.facts["base shadow"] = "built on its own (the head changes the base's migrations)"
            with build_from_migrations(self.head_files, url, platform) as build:
                yield build
            return
        with build_from_migrations(self.base.files, url, platform) as base_build:
            self._keep_base(base_build, started)
            new = self.head_files[len(self.base.files):]
            if base_build.outcome.failure is None and not new:
                self.reused = True
                self.facts["base shadow"] = "the head's own: the pull request adds no migration"
                yield base_build
                return
            if base_build.outcome.failure is not None:
                self.facts["base shadow"] = "built on its own (the base's migrations fail)"
                with build_from_migrations(self.head_files, url, platform) as build:
                    yield build
                return
            self.reused = True
            self.facts["base shadow"] = (f"copied for the head, which applied only its "
                                         f"{plural(len(new), 'new migration')}")
            with copy_of(base_build.shadow) as head:
                more = apply_files(head.conn, new)
                done = base_build.outcome
                yield Build(head, self.head_files, ApplyOutcome(
                    applied=[*done.applied, *more.applied], failure=more.failure,
                    outside_transaction=[*(done.outside_transaction or []),
                                         *(more.outside_transaction or [])],
                ))

    def _keep_base(self, build: Build, started: float) -> None:
        from dragonfly_ci.postgres.catalog import take_snapshot

        if build.outcome.failure is not None:
            failure = build.outcome.failure
            self.base_failure = finding(
                "surface/base-not-built",
                f"at {self.base.ref}, {failure.message}",
                location=failure.location,
                hint=f"the surface at {self.base.ref} could not be built, so this pull request's "
                "changes to it were not checked; fix the base first, or set "
                "surface/base-not-built to warning in dragonfly.yml",
            )
            return
        self.base_snapshot = take_snapshot(build.shadow.conn)
        self.facts["base built in"] = f"{time.perf_counter() - started:.1f} s"

    # --- comparing and linting ---------------------------------------------------------------

    def compare(self, build: Build, head_snapshot: Snapshot, project: Project,
                already: list[Finding] = ()) -> list[Finding]:
        """The surface changes as findings, less those `already` (the contract check's) says."""
        from dragonfly_ci.checks.surface import compare, findings
        from dragonfly_ci.migrations.sources import located_index

        if self.base_failure is not None:
            return [self.base_failure]
        assert self.base_snapshot is not None
        changes = compare(self.base_snapshot, head_snapshot, project.exposed_schemas)
        sources = located_index(self.changed_files, build.shadow.conn)
        fallback = Location(self.changed_files[-1].display) if self.changed_files else None
        breaking = sum(1 for c in changes if c.breaking)
        self.facts["surface changes"] = (f"{plural(breaking, 'breaking change')}, "
                                         f"{plural(len(changes) - breaking, 'additive change')}")
        return said_once(findings(changes, sources, self._judge, fallback, self.contract_display), already)

    def _judge(self, change: Change) -> str:
        before = _entry(self.contract_before, change.section, change.name)
        after = _entry(self.contract_after, change.section, change.name)
        if before is None and after is None:
            return "uncontracted"
        return "contracted" if before == after else "acknowledged"

    def lint(self, project: Project) -> list[Finding]:
        from dragonfly_ci.migrations.lint import lint

        if not self.new_files:
            self.facts["lint"] = "no new migration to lint"
            return []
        self.facts["lint"] = f"squawk on the {plural(len(self.new_files), 'new migration')}"
        return lint(self.new_files, project.repo_root)

    def record(self, result: GateResult) -> None:
        short = self.base.commit[:7]
        result.facts["base"] = f"{self.base.ref} at {short}: {plural(len(self.base.files), 'migration')}"
        result.facts.update(self.facts)
        if "surface changes" not in self.facts and self.base_failure is None:
            result.facts["surface changes"] = "not compared: a migration of the head failed to apply"
        result.changed_lines = dict(self.changed)


@contextmanager
def copy_of(shadow: Shadow) -> Iterator[Shadow]:
    """A new shadow copied from `shadow`, whose session is closed (a template takes none)."""
    from dragonfly_ci.postgres.connect import connect
    from dragonfly_ci.postgres.server import create_database, drop_database
    from dragonfly_ci.postgres.shadow import Shadow

    shadow.conn.close()
    server = shadow.server
    name = create_database(server, template=shadow.dbname, prefix="head")
    try:
        with connect(server.conninfo(name), autocommit=True, purpose="the shadow database") as conn:
            yield Shadow(server, name, conn, shadow.platform)
    finally:
        drop_database(server, name)


def said_once(changes: list[Finding], already: list[Finding]) -> list[Finding]:
    """The surface findings less those the contract check already makes: an error about the
    same object (or one of its parts) at the same line. One problem takes one annotation."""
    def key(f: Finding) -> tuple | None:
        if f.severity is not Severity.ERROR or f.location is None:
            return None
        return f.location.file, f.location.line

    said: dict[tuple, list[str]] = {}
    for f in already:
        if key(f) is not None:
            said.setdefault(key(f), []).append(f.subject)

    def repeats(f: Finding) -> bool:
        return any(s == f.subject or s.startswith(f.subject + ".") or f.subject.startswith(s + ".")
                   for s in said.get(key(f), ()))

    return [f for f in changes if key(f) is None or not repeats(f)]


def _yaml(text: str | None) -> Any:
    if text is None:
        return None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return {"unreadable": text}  # differs from any readable contract: counts as changed


def _entry(contract: Any, section: str, name: str) -> Any:
    """The contract's entry for `name` in `section` (wrapped: an entry may be empty); None: none."""
    if not isinstance(contract, dict):
        return None
    entries = contract.get(section)
    if isinstance(entries, dict) and name in entries:
        return (entries[name],)
    if isinstance(entries, list) and name in entries:
        return (name,)
    return None
