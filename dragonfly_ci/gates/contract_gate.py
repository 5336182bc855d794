"""The contract gate: build the schema the migrations define, check the contract.

inputs (project, contract, migration files) -> shadow database -> Snapshot
-> findings. Never prints, never exits: the CLI renders the GateResult.
"""

from __future__ import annotations

import time

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import GateResult, Location
from dragonfly_ci.report._words import plural
from dragonfly_ci.rules import apply_overrides, finding

GATE = "contract-gate"


def run(project: Project, *, shadow_url: str | None = None, base: str | None = None) -> GateResult:
    """The gate; with `base` (a git ref) also the pull request's surface diff and lint."""
    from dragonfly_ci.checks.contract import check_contract
    from dragonfly_ci.contract import load_contract, resolve
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.migrations.sources import located_index
    from dragonfly_ci.postgres.catalog import take_snapshot
    from dragonfly_ci.postgres.shadow import build_from_migrations

    started = time.perf_counter()
    result = GateResult(GATE)
    files, skipped = discover(project.migrations_dir, project.display)
    result.findings += skipped
    contract = None
    if project.contract_file.is_file():
        contract = load_contract(project.contract_file, project.display(project.contract_file))
    elif project.contract_required:
        raise BadInput(
            "contract file not found",
            file=project.display(project.contract_file),
            hint="create it (see the README's contract format) or fix `contract:` in dragonfly.yml",
        )

    pr = None
    if base is not None:
        from dragonfly_ci.gates.contract_diff import PullRequestCheck

        pr = PullRequestCheck.read(project, base, files)
    url = project.resolve_shadow_url(shadow_url)
    platform = project.platform
    building = pr.shadows(url, platform) if pr else build_from_migrations(files, url, platform)
    with building as build:
        shadow, outcome = build.shadow, build.outcome
        snapshot = None
        result.facts["shadow"] = shadow.label
        result.facts["migrations applied"] = f"{len(outcome.applied)} of {len(files)}"
        if outcome.outside_transaction:
            result.facts["applied outside a transaction"] = ", ".join(
                f.display for f in outcome.outside_transaction)
        if outcome.failure:
            result.findings.append(outcome.failure)
            result.facts["contract"] = "not checked: a migration failed to apply"
        elif contract is None:
            result.findings.append(finding(
                "contract/none",
                f"no contract at {project.display(project.contract_file)}: checked only that the "
                f"{len(files)} migrations apply. {project.assumptions() if project.file is None else ''}"
                .strip(),
                location=Location(project.display(project.contract_file)) if project.file else None,
                hint=f"write {project.display(project.contract_file)} to declare the RPCs, tables and "
                "views consumers rely on (see the README's contract format)",
            ))
        else:
            snapshot = take_snapshot(shadow.conn)
            resolved = resolve(contract, shadow.conn)
            sources = located_index(files, shadow.conn)
            result.findings += check_contract(resolved, snapshot, sources, project.exposed_schemas)
            result.facts["contract"] = f"{contract.display}: " + ", ".join([
                plural(len(contract.rpcs), "RPC"), plural(len(contract.tables), "table"),
                plural(len(contract.views), "view")])
            result.facts["exposed schemas"] = ", ".join(project.exposed_schemas)
        if pr and not outcome.failure:
            result.findings += pr.compare(build, snapshot or take_snapshot(shadow.conn), project,
                                          already=result.findings)
    if pr:
        result.findings += pr.lint(project)
        pr.record(result)
    result.findings = apply_overrides(result.findings, project.rules)
    result.duration_s = time.perf_counter() - started
    return result
