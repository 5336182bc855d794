"""`dragonfly-ci contract init`: write a first contract from the migrations."""

from __future__ import annotations

from pathlib import Path

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput


def run(project: Project, output: Path, *, force: bool = False, shadow_url: str | None = None) -> str:
    """Write the drafted contract; return a one-line description of what it holds."""
    from dragonfly_ci.contract_draft import draft_contract, render
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.postgres.catalog import take_snapshot
    from dragonfly_ci.postgres.shadow import build_from_migrations

    if output.exists() and not force:
        raise BadInput("contract file already exists", file=project.display(output),
                       hint="pass --force to overwrite it, or --output to write elsewhere")
    files, _ = discover(project.migrations_dir, project.display)
    with build_from_migrations(files, project.resolve_shadow_url(shadow_url), project.platform) as build:
        build.require_applied("a contract can be drafted")
        snapshot = take_snapshot(build.shadow.conn)
    draft = draft_contract(snapshot, project.exposed_schemas)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(draft), encoding="utf-8")
    return (f"{len(draft['rpcs'])} RPCs, {len(draft['tables'])} tables and {len(draft['views'])} views "
            f"in {', '.join(project.exposed_schemas)}; review and prune it")
