"""`dragonfly-ci doctor`: the health of a live database.

Connectivity within a timeout, the server version, the migration ledger, the
contract checked on a live Snapshot (the same check as the contract gate), and
the dashboard views: each view the project's dashboard SQL files define must
exist with the definition that SQL produces, compared as PostgreSQL
normalises it on a shadow, never as text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Finding, GateResult
from dragonfly_ci.rules import apply_overrides, finding

if TYPE_CHECKING:
    from dragonfly_ci.migrations.files import MigrationFile
    from dragonfly_ci.postgres.catalog import Snapshot
    from dragonfly_ci.targets import Target

GATE = "doctor"


def run(project: Project, target: Target, *, shadow_url: str | None = None) -> GateResult:
    from dragonfly_ci.checks.contract import check_contract
    from dragonfly_ci.contract import load_contract, resolve
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.migrations.ledger import has_ledger, read_ledger
    from dragonfly_ci.migrations.sources import located_index
    from dragonfly_ci.postgres.catalog import take_snapshot
    from dragonfly_ci.postgres.connect import connect

    started = time.perf_counter()
    result = GateResult(GATE)
    files, _ = discover(project.migrations_dir, project.display)
    contract = None
    if project.contract_file.is_file():
        contract = load_contract(project.contract_file, project.display(project.contract_file))
    dashboards = dashboard_files(project)

    with connect(target.url, autocommit=True, purpose=f"the {target.env or 'target'} database") as conn:
        result.facts["database"] = target.label
        result.facts["server"] = conn.execute("show server_version").fetchone()[0]
        if has_ledger(conn):
            rows = read_ledger(conn)
            newest = f", newest {rows[-1].version} {rows[-1].name}" if rows else ""
            result.facts["ledger"] = f"{len(rows)} applied{newest}"
        else:
            result.findings.append(finding(
                "doctor/ledger-missing",
                "supabase_migrations.schema_migrations does not exist in this database",
                hint="apply the migrations with `dragonfly-ci migrate` (or `supabase db push`)",
            ))
        live = take_snapshot(conn)
        if contract is not None:
            sources = located_index(files, conn)
            missing: list = []
            resolved = resolve(contract, conn, missing)
            result.findings += missing + check_contract(resolved, live, sources)
            result.facts["contract"] = f"{contract.display}: checked on the live database"
    if dashboards:
        result.findings += check_dashboard_views(project, files, dashboards, live, shadow_url)
        result.facts["dashboard views"] = ", ".join(f.display for f in dashboards)
    result.findings = apply_overrides(result.findings, project.rules)
    result.duration_s = time.perf_counter() - started
    return result


def dashboard_files(project: Project) -> list[MigrationFile]:
    """The dashboard SQL files, as files to apply after the migrations."""
    from dragonfly_ci.migrations.files import MigrationFile

    files: list[MigrationFile] = []
    for i, pattern in enumerate(project.dashboard_views):
        matches = sorted(p for p in project.root.glob(pattern) if p.is_file())
        if not matches:
            raise BadInput(
                f"dashboard_views: {pattern!r} matches no file",
                file=project.file and project.display(project.file),
                line=project.doc.line(("dashboard_views", i)) if project.doc else None,
                hint="fix the pattern (relative to dragonfly.yml), or remove it",
            )
        files += [MigrationFile("dashboard", p.stem, p, project.display(p)) for p in matches]
    return files


def check_dashboard_views(project: Project, migrations: list[MigrationFile],
                          dashboards: list[MigrationFile], live: Snapshot,
                          shadow_url: str | None) -> list[Finding]:
    from dragonfly_ci.checks.drift import first_differing_line
    from dragonfly_ci.migrations.sources import CREATE, REPLACE, build_index
    from dragonfly_ci.postgres.catalog import take_snapshot
    from dragonfly_ci.postgres.shadow import build_from_migrations

    url = project.resolve_shadow_url(shadow_url)
    with build_from_migrations([*migrations, *dashboards], url, project.platform) as build:
        if build.outcome.failure:
            return [build.outcome.failure]
        expected = take_snapshot(build.shadow.conn)
    findings = []
    index = build_index(dashboards)
    for key in sorted(set(index.keys("relation"))):
        event = index.last("relation", key, (CREATE, REPLACE))
        view = expected.relation(key)
        if event is None or view is None or view.definition is None:
            continue
        actual = live.relation(key)
        if actual is None or actual.definition is None:
            findings.append(finding(
                "doctor/dashboard-view-missing",
                f"view {key} (defined in {event.location.file}) does not exist in the database",
                location=event.location,
                hint="create it with a migration: dashboards read it",
                subject=key,
            ))
        elif actual.definition != view.definition:
            first = first_differing_line(view.definition, actual.definition)
            where = (f"line {first[0]} is {first[2]!r} in the database, {first[1]!r} in the file"
                     if first else "the definitions differ only in whitespace")
            findings.append(finding(
                "doctor/dashboard-view-differs",
                f"view {key} differs from {event.location.file}: {where}",
                location=event.location,
                hint="ship the dashboard SQL as a migration, or update the file to what runs",
                subject=key,
            ))
    return findings
