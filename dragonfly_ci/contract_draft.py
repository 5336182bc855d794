"""A first contract, drafted from what the migrations build.

`dragonfly-ci contract init` writes it so a team starts from the truth and
prunes, instead of typing signatures by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from dragonfly_ci.checks.contract import API_ROLES, TABLE_KINDS, VIEW_KINDS, is_rpc
from dragonfly_ci.postgres.catalog import Snapshot

HEADER = """\
# yaml-language-server: $schema=https://raw.githubusercontent.com/dragonfly/release-actions/v1/dragonfly_ci/schemas/contract.schema.json
# The RPC contract: what workers and dashboards rely on, checked by
# `dragonfly-ci contract-gate` on every pull request.
# Drafted by `dragonfly-ci contract init` from the schema the migrations build:
# keep what consumers really call and read, delete the rest.
"""


def draft_contract(snapshot: Snapshot, exposed_schemas: Iterable[str]) -> dict:
    exposed = set(exposed_schemas)
    rpcs = {}
    for function in sorted(snapshot.functions.values(), key=lambda f: f.identity):
        if not is_rpc(function, exposed):
            continue
        if function.qualified_name in rpcs:
            continue  # an overload: the contract names one signature per RPC
        rpcs[function.qualified_name] = {
            "args": [
                {"name": name, "type": type_} if name else type_
                for name, type_ in zip(function.arg_names, function.arg_types, strict=True)
            ],
            "returns": function.result,
            "security": "definer" if function.security_definer else "invoker",
            "execute": [r for r in API_ROLES
                        if r in snapshot.roles and snapshot.role_holds(r, function.execute)],
        }
    tables, views = {}, []
    for relation in sorted(snapshot.relations.values(), key=lambda r: r.qualified_name):
        if relation.schema not in exposed or relation.extension:
            continue
        if relation.kind in TABLE_KINDS:
            tables[relation.qualified_name] = {"columns": {
                c.name: {"type": c.type, "nullable": not c.not_null} for c in relation.columns
            }}
        elif relation.kind in VIEW_KINDS:
            views.append(relation.qualified_name)
    return {"version": 1, "rpcs": rpcs, "tables": tables, "views": views}


def render(draft: dict) -> str:
    return HEADER + yaml.safe_dump(draft, sort_keys=False, default_flow_style=None, width=100)
