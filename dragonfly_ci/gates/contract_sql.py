"""`dragonfly-ci contract sql`: the contract as a standalone psql script."""

from __future__ import annotations

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput


def run(project: Project, *, shadow_url: str | None = None) -> str:
    """The verify script's text; types resolved on a shadow built from the migrations."""
    from dragonfly_ci.contract import load_contract, resolve
    from dragonfly_ci.contract_sql import render
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.postgres.shadow import build_from_migrations

    if not project.contract_file.is_file():
        raise BadInput("contract file not found", file=project.display(project.contract_file),
                       hint="write one, or draft it with `dragonfly-ci contract init`")
    contract = load_contract(project.contract_file, project.display(project.contract_file))
    files, _ = discover(project.migrations_dir, project.display)
    with build_from_migrations(files, project.resolve_shadow_url(shadow_url), project.platform) as build:
        build.require_applied("the contract's types can be resolved")
        resolved = resolve(contract, build.shadow.conn)
    return render(resolved, contract.display)
