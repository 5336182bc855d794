"""Checking a resolved contract against a catalog Snapshot.

Pure: no database, no printing. The same check runs on the shadow the
migrations build (contract gate) and on a live database (doctor).
"""

from __future__ import annotations

from collections.abc import Iterable

from dragonfly_ci.contract import Contract, Rpc
from dragonfly_ci.findings import Finding, Location, latest
from dragonfly_ci.migrations.sources import DEFINITION, DROP, EVERYTHING, GRANT, SourceIndex
from dragonfly_ci.postgres.catalog import Function, Relation, Snapshot
from dragonfly_ci.rules import finding

TABLE_KINDS = ("table", "partitioned table", "foreign table")
VIEW_KINDS = ("view", "materialized view")
NOT_RPC_RESULTS = ("trigger", "event_trigger")
API_ROLES = ("anon", "authenticated", "service_role")


def is_rpc(function: Function, exposed: Iterable[str]) -> bool:
    """Callable through PostgREST: a plain function of an exposed schema, not an extension's,
    not a trigger function."""
    return (function.schema in exposed and function.kind == "function" and function.extension is None
            and function.result not in NOT_RPC_RESULTS)


class _Where:
    """Locations: the migration line that made an object, else the contract line."""

    def __init__(self, contract: Contract, sources: SourceIndex | None) -> None:
        self.contract = contract
        self.sources = sources

    def contract_line(self, line: int | None) -> Location:
        return Location(self.contract.display, line)

    def source(self, kind: str, key: str, actions: Iterable[str] = DEFINITION,
               args: tuple[str, ...] | None = None) -> Location | None:
        return self.sources.locate(kind, key, actions, args) if self.sources else None

    def of(self, kind: str, key: str, line: int | None, actions: Iterable[str] = DEFINITION,
           args: tuple[str, ...] | None = None) -> Location:
        return self.source(kind, key, actions, args) or self.contract_line(line)

    def latest_grant(self, function: Function) -> Location:
        """The last statement that could have changed a function's privileges."""
        candidates = [
            self.source("function", function.qualified_name, EVERYTHING, function.arg_types),
            self.source("all-function", function.schema, (GRANT,)),
        ]
        return latest(candidates) or self.contract_line(None)


def check_contract(
    contract: Contract,
    snapshot: Snapshot,
    sources: SourceIndex | None,
    exposed_schemas: Iterable[str] = (),
) -> list[Finding]:
    """Findings for every way the snapshot breaks the (resolved) contract."""
    where = _Where(contract, sources)
    findings: list[Finding] = []
    for rpc in contract.rpcs:
        findings += _check_rpc(rpc, snapshot, where)
    for table in contract.tables:
        relation = snapshot.relation(table.name)
        if relation is None or relation.kind not in TABLE_KINDS:
            findings.append(_relation_missing(
                "contract/table-missing", "table", table.name, table.line, relation, where,
                "restore it in a new migration, or change the contract with the consumers"))
            continue
        for spec in table.columns:
            key = f"{table.name}.{spec.name}"
            column = relation.column(spec.name)
            if column is None:
                findings.append(finding(
                    "contract/column-missing",
                    f"column {key} ({spec.type}) is in the contract but does not exist",
                    location=where.of("column", key, spec.line, (DROP,)),
                    hint="consumers select this column: add it back in a new migration",
                    subject=key,
                ))
                continue
            if not column.has_type(spec.type):
                findings.append(finding(
                    "contract/column-type-changed",
                    f"column {key} is {column.type}; the contract says {spec.type}",
                    location=where.of("column", key, spec.line),
                    hint="change the type back in a new migration, or update the contract "
                    "together with every consumer",
                    subject=key,
                ))
            if spec.nullable is not None and spec.nullable == column.not_null:
                actual = "not null" if column.not_null else "nullable"
                wanted = "nullable" if spec.nullable else "not null"
                findings.append(finding(
                    "contract/column-nullability-changed",
                    f"column {key} is {actual}; the contract says {wanted}",
                    location=where.of("column", key, spec.line),
                    subject=key,
                ))
    for view in contract.views:
        relation = snapshot.relation(view.name)
        if relation is None or relation.kind not in VIEW_KINDS:
            findings.append(_relation_missing(
                "contract/view-missing", "view", view.name, view.line, relation, where,
                "dashboards read this view: recreate it in a new migration"))
    findings += _uncontracted(contract, snapshot, where, exposed_schemas)
    return findings


def _relation_missing(rule: str, what: str, name: str, line: int, relation: Relation | None,
                      where: _Where, hint: str) -> Finding:
    actual = f"is a {relation.kind}" if relation else "does not exist"
    return finding(rule, f"{what} {name} is in the contract but {actual}",
                   location=where.of("relation", name, line, (DROP,)), hint=hint, subject=name)


def _check_rpc(rpc: Rpc, snapshot: Snapshot, where: _Where) -> list[Finding]:
    candidates = [f for f in snapshot.functions_named(rpc.name) if f.kind == "function"]
    if not candidates:
        return [finding(
            "contract/rpc-missing",
            f"RPC {rpc.signature()} is in the contract but does not exist",
            location=where.of("function", rpc.name, rpc.line, (DROP,), rpc.arg_types or None),
            hint="workers call this function: restore it in a new migration",
            subject=rpc.name,
        )]
    findings = []
    matches = [f for f in candidates if rpc.args is None or f.arg_types == rpc.arg_types]
    if not matches:
        built = "; ".join(f.identity for f in candidates)
        return [finding(
            "contract/rpc-arguments-changed",
            f"RPC {rpc.name}: the contract declares ({', '.join(rpc.arg_types)}), "
            f"the migrations build {built}",
            location=where.of("function", rpc.name, rpc.line, args=candidates[-1].arg_types),
            hint="callers pass the contracted arguments: keep the old signature (add a new function "
            "beside it), or change the contract together with every caller",
            subject=rpc.name,
        )]
    if len(candidates) > 1:
        findings.append(finding(
            "contract/rpc-overloaded",
            f"RPC {rpc.name} has {len(candidates)} overloads: "
            + "; ".join(f.identity for f in candidates),
            location=where.of("function", rpc.name, rpc.line),
            hint="PostgREST resolves overloads by argument names and may call the wrong one: "
            "drop the overloads you do not need",
            subject=rpc.name,
        ))
    function = matches[0]
    at = where.of("function", rpc.name, rpc.line, args=function.arg_types)
    wanted_names = [(i, a.name) for i, a in enumerate(rpc.args or ()) if a.name]
    changed = [(i, name, function.arg_names[i] or "(unnamed)") for i, name in wanted_names
               if function.arg_names[i] != name]
    if changed:
        detail = ", ".join(f"argument {i + 1} is {actual}, not {name}" for i, name, actual in changed)
        findings.append(finding(
            "contract/rpc-argument-names-changed",
            f"RPC {function.identity}: {detail}",
            location=at,
            hint="PostgREST calls RPCs with named arguments: a rename breaks every caller",
            subject=rpc.name,
        ))
    if rpc.returns and function.result != rpc.returns:
        findings.append(finding(
            "contract/rpc-return-type-changed",
            f"RPC {function.identity} returns {function.result}; the contract says {rpc.returns}",
            location=at,
            hint="callers parse the result: restore the return type, or add a new function",
            subject=rpc.name,
        ))
    if rpc.security:
        actual = "definer" if function.security_definer else "invoker"
        if actual != rpc.security:
            findings.append(finding(
                "contract/rpc-security-changed",
                f"RPC {function.identity} is SECURITY {actual.upper()}; "
                f"the contract says SECURITY {rpc.security.upper()}",
                location=at,
                subject=rpc.name,
            ))
    for role in rpc.execute:
        if role not in snapshot.roles:
            reason = f"role {role} does not exist"
        elif not snapshot.role_holds(role, function.execute):
            reason = f"{role} cannot EXECUTE it"
        else:
            continue
        findings.append(finding(
            "contract/rpc-execute-missing",
            f"RPC {function.identity}: {reason}",
            location=where.latest_grant(function),
            hint=f"grant execute on function {function.identity} to {role}; in a new migration",
            subject=rpc.name,
        ))
    return findings


def _uncontracted(contract: Contract, snapshot: Snapshot, where: _Where,
                  exposed_schemas: Iterable[str]) -> list[Finding]:
    exposed = set(exposed_schemas)
    declared = contract.names()
    findings = []
    for function in snapshot.functions.values():
        if is_rpc(function, exposed) and function.qualified_name not in declared:
            findings.append(finding(
                "contract/rpc-uncontracted",
                f"{function.identity} is callable through the API (schema {function.schema} is "
                "exposed) but is not in the contract",
                location=where.of("function", function.qualified_name, None, args=function.arg_types),
                hint=f"add it under rpcs: in {contract.display}, or silence this rule in dragonfly.yml",
                subject=function.qualified_name,
            ))
    return findings
