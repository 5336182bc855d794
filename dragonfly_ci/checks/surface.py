"""The public surface of two schemas compared: what a pull request changes for API callers.

The surface is what PostgREST exposes: functions in the exposed schemas
(signature, argument names, defaults, return type, security, who may EXECUTE
them), tables and views there (columns, grants), and row level security on the
tables (enabled or not, policies that let `anon` in). Each difference is a
`Change`, breaking (a caller that worked before may fail, or data opens up) or
additive (something new a caller may start to use).

Pure: Snapshots in, Changes out; `findings` places them at migration lines and
grades them by what the contract says. No database, no printing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dragonfly_ci.checks.contract import API_ROLES, TABLE_KINDS, VIEW_KINDS, is_rpc
from dragonfly_ci.findings import Finding, Location, Severity, latest
from dragonfly_ci.migrations.sources import ALTER, CREATE, DROP, GRANT, REPLACE, SourceIndex
from dragonfly_ci.postgres.catalog import Function, Relation, Snapshot

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

# rule id -> breaking?  Documented in rules.py; kept here so the classification has one home.
BREAKING = {
    "surface/rpc-removed", "surface/rpc-arguments-changed", "surface/rpc-argument-renamed",
    "surface/rpc-default-removed", "surface/rpc-return-type-changed", "surface/rpc-security-changed",
    "surface/rpc-execute-revoked", "surface/table-removed", "surface/view-removed",
    "surface/column-removed", "surface/column-type-changed", "surface/grant-revoked",
    "surface/policy-allows-anon", "surface/rls-disabled",
}


@dataclass(frozen=True)
class Lookup:
    """Where in the migrations to look for the statement that made a change."""

    kind: str
    key: str
    actions: tuple[str, ...]
    args: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Change:
    rule: str
    section: str  # the contract section the object lives in: "rpcs" | "tables" | "views"
    name: str  # schema.name, as the contract keys it
    message: str
    hint: str
    lookups: tuple[Lookup, ...]

    @property
    def breaking(self) -> bool:
        return self.rule in BREAKING


def compare(base: Snapshot, head: Snapshot, exposed_schemas: Iterable[str]) -> list[Change]:
    """Every change to the public surface from `base` to `head`."""
    exposed = set(exposed_schemas)
    changes = list(_compare_rpcs(base, head, exposed))
    changes += _compare_relations(base, head, exposed)
    return changes


# --- RPCs -----------------------------------------------------------------------------------------


def _rpcs(snapshot: Snapshot, exposed: set[str]) -> dict[str, list[Function]]:
    found: dict[str, list[Function]] = {}
    for _, f in sorted(snapshot.functions.items()):
        if is_rpc(f, exposed):
            found.setdefault(f.qualified_name, []).append(f)
    return found


def _def(name: str, args: tuple[str, ...] | None, actions: tuple[str, ...] = (CREATE, REPLACE, ALTER)
         ) -> Lookup:
    return Lookup("function", name, actions, args)


def _grants_of(f: Function) -> tuple[Lookup, ...]:
    return (Lookup("function", f.qualified_name, (CREATE, REPLACE, ALTER, GRANT), f.arg_types),
            Lookup("all-function", f.schema, (GRANT,)))


def _compare_rpcs(base: Snapshot, head: Snapshot, exposed: set[str]) -> Iterator[Change]:
    before, after = _rpcs(base, exposed), _rpcs(head, exposed)
    for name in sorted(before.keys() | after.keys()):
        old_all, new_all = before.get(name, []), after.get(name, [])
        new_by_identity = {f.arg_types: f for f in new_all}
        old_ids = {f.arg_types for f in old_all}
        gone = [f for f in old_all if f.arg_types not in new_by_identity]
        came = [f for f in new_all if f.arg_types not in old_ids]
        for old in old_all:
            if old.arg_types in new_by_identity:
                yield from _compare_function(base, head, old, new_by_identity[old.arg_types])
        for old, new in zip(gone, came, strict=False):
            yield from _signature_changed(base, head, old, new)
        for old in gone[len(came):]:
            yield Change(
                "surface/rpc-removed", "rpcs", name,
                f"RPC {old.identity} was removed" + (
                    f"; {len(new_all)} other overload(s) remain" if new_all else ""),
                "callers of this function fail: keep it (deprecate it first), or change the "
                "contract together with every caller",
                (_def(name, old.arg_types, (DROP,)), _def(name, None, (DROP,))),
            )
        for new in came[len(gone):]:
            yield Change(
                "surface/rpc-added", "rpcs", name,
                f"RPC {new.identity} is new: callable through the API (schema {new.schema} is exposed)",
                "declare it under rpcs: in the contract so it cannot change unnoticed",
                (_def(name, new.arg_types, (CREATE, REPLACE)),),
            )


def _signature_changed(base: Snapshot, head: Snapshot, old: Function, new: Function
                       ) -> Iterator[Change]:
    lookups = (_def(new.qualified_name, new.arg_types),)
    n = len(old.arg_types)
    extended = (
        new.arg_types[:n] == old.arg_types
        and new.arg_names[:n] == old.arg_names
        and len(new.arg_defaults) >= len(new.arg_types) - n
    )
    if extended:
        added = ", ".join(_argument(new, i) for i in range(n, len(new.arg_types)))
        yield Change(
            "surface/rpc-extended", "rpcs", new.qualified_name,
            f"RPC {old.identity} is now {new.identity}: new argument(s) with defaults ({added}); "
            "calls that leave them out still work",
            "add the new arguments to the contract entry",
            lookups,
        )
        yield from _compare_function(base, head, old, new, same_identity=False)
        return
    yield Change(
        "surface/rpc-arguments-changed", "rpcs", new.qualified_name,
        f"RPC {old.identity} is now {new.identity}: callers passing the old arguments fail",
        "keep the old signature (add the new one beside it and deprecate the old), or change the "
        "contract together with every caller",
        lookups,
    )


def _argument(f: Function, i: int) -> str:
    name = f.arg_names[i] if i < len(f.arg_names) else ""
    return f"{name} {f.arg_types[i]}".strip()


def _compare_function(base: Snapshot, head: Snapshot, old: Function, new: Function,
                      same_identity: bool = True) -> Iterator[Change]:
    """Changes to one function; `same_identity=False` for a function extended with new arguments,
    whose names and defaults `_signature_changed` judged already."""
    name, at = new.qualified_name, (_def(new.qualified_name, new.arg_types),)
    if same_identity:
        renamed = [(i, o, n) for i, (o, n) in enumerate(zip(old.arg_names, new.arg_names, strict=False))
                   if o and o != n]
        if renamed:
            detail = ", ".join(f"argument {i + 1} {o} is now {n or '(unnamed)'}" for i, o, n in renamed)
            yield Change(
                "surface/rpc-argument-renamed", "rpcs", name,
                f"RPC {new.identity}: {detail}; PostgREST calls RPCs by argument name",
                "keep the old names: a rename breaks every caller that passes arguments by name",
                at,
            )
    if same_identity and len(new.arg_defaults) < len(old.arg_defaults):
        first = len(old.arg_types) - len(old.arg_defaults)
        lost = [_argument(new, i) for i in range(first, len(new.arg_types) - len(new.arg_defaults))]
        yield Change(
            "surface/rpc-default-removed", "rpcs", name,
            f"RPC {new.identity}: {', '.join(lost)} no longer has a default; calls that leave it "
            "out fail",
            "restore the default, or change the contract together with every caller",
            at,
        )
    elif same_identity and len(new.arg_defaults) > len(old.arg_defaults):
        yield Change(
            "surface/rpc-extended", "rpcs", name,
            f"RPC {new.identity}: more arguments have defaults now "
            f"({len(old.arg_defaults)} before, {len(new.arg_defaults)} now)",
            "callers may leave them out; note it in the contract if they rely on it",
            at,
        )
    if new.result != old.result:
        yield Change(
            "surface/rpc-return-type-changed", "rpcs", name,
            f"RPC {new.identity} returns {new.result}; it returned {old.result}",
            "callers parse the result: restore the return type, or add a new function beside it",
            at,
        )
    if new.security_definer != old.security_definer:
        was, now = ("DEFINER", "INVOKER") if old.security_definer else ("INVOKER", "DEFINER")
        why = ("it now runs with the caller's privileges, so calls may be denied" if now == "INVOKER"
               else "it now runs with its owner's privileges: check what callers can reach through it")
        yield Change(
            "surface/rpc-security-changed", "rpcs", name,
            f"RPC {new.identity} is SECURITY {now}; it was SECURITY {was}: {why}",
            "restore the security mode, or change the contract after checking every caller",
            at,
        )
    lost, gained = _who_changed(base, head, old.execute, new.execute)
    if lost:
        yield Change(
            "surface/rpc-execute-revoked", "rpcs", name,
            f"RPC {new.identity}: {_roles(lost)} can no longer EXECUTE it",
            f"grant execute on function {new.identity} to {', '.join(lost)}; in a new migration, "
            "or change the contract together with every caller",
            _grants_of(new),
        )
    if gained:
        yield Change(
            "surface/rpc-execute-granted", "rpcs", name,
            f"RPC {new.identity}: {_roles(gained)} can EXECUTE it now",
            "make sure these roles should reach it through the API, and list them in the contract",
            _grants_of(new),
        )


def _roles(roles: list[str]) -> str:
    return ", ".join(roles)


def _relevant_roles(base: Snapshot, head: Snapshot, *grants: Iterable) -> list[str]:
    """The API roles and every role named in the grants, minus superusers (who hold everything)."""
    named = {g if isinstance(g, str) else g[0] for grant in grants for g in grant}
    roles = (set(API_ROLES) | named) - {"PUBLIC"}
    return sorted(r for r in roles if r in base.roles and r in head.roles
                  and not base.roles[r].superuser and not head.roles[r].superuser)


def _who_changed(base: Snapshot, head: Snapshot, old: tuple, new: tuple,
                 privilege: str | None = None) -> tuple[list[str], list[str]]:
    """(roles that lost the privilege, roles that gained it)."""
    lost, gained = [], []
    for role in _relevant_roles(base, head, old, new):
        had = base.has_privilege(role, old, privilege)
        has = head.has_privilege(role, new, privilege)
        if had and not has:
            lost.append(role)
        elif has and not had:
            gained.append(role)
    return lost, gained


# --- tables and views ------------------------------------------------------------------------------


def _relations(snapshot: Snapshot, exposed: set[str]) -> dict[str, Relation]:
    return {name: r for name, r in snapshot.relations.items()
            if r.schema in exposed and r.extension is None and r.kind in TABLE_KINDS + VIEW_KINDS}


def _section(relation: Relation) -> tuple[str, str]:
    return ("tables", "table") if relation.kind in TABLE_KINDS else ("views", "view")


def _compare_relations(base: Snapshot, head: Snapshot, exposed: set[str]) -> Iterator[Change]:
    before, after = _relations(base, exposed), _relations(head, exposed)
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if new is None or (old is not None and _section(old) != _section(new)):
            assert old is not None
            section, what = _section(old)
            now = f"is now a {new.kind}" if new else "was removed"
            yield Change(
                f"surface/{what}-removed", section, name, f"{what} {name} {now}",
                "consumers read it: keep it (or a view with its name and columns), or change the "
                "contract together with every consumer",
                (Lookup("relation", name, (DROP,)), Lookup("relation", name, (CREATE, REPLACE))),
            )
            continue
        if old is None:
            section, what = _section(new)
            yield Change(
                f"surface/{what}-added", section, name,
                f"{what} {name} is new and exposed through the API (schema {new.schema})",
                f"declare it under {section}: in the contract if consumers will rely on it",
                (Lookup("relation", name, (CREATE, REPLACE)),),
            )
            continue
        yield from _compare_columns(old, new)
        yield from _compare_grants(base, head, old, new)
        if old.kind in TABLE_KINDS:
            yield from _compare_security(base, head, old, new)


def _compare_columns(old: Relation, new: Relation) -> Iterator[Change]:
    section, what = _section(new)
    name = new.qualified_name
    new_columns = {c.name: c for c in new.columns}
    old_names = {c.name for c in old.columns}
    for column in old.columns:
        key = f"{name}.{column.name}"
        now = new_columns.get(column.name)
        if now is None:
            yield Change(
                "surface/column-removed", section, name,
                f"column {key} ({column.type}) was removed from {what} {name}",
                "consumers select this column: keep it (deprecate it first), or change the contract "
                "together with every consumer",
                (Lookup("column", key, (DROP,)), Lookup("relation", name, (DROP, CREATE, REPLACE, ALTER))),
            )
        elif now.type != column.type:
            yield Change(
                "surface/column-type-changed", section, name,
                f"column {key} is {now.type}; it was {column.type}",
                "consumers parse this column: add a new column instead, or change the contract "
                "together with every consumer",
                (Lookup("column", key, (ALTER, CREATE)), Lookup("relation", name, (CREATE, REPLACE, ALTER))),
            )
    for column in new.columns:
        if column.name not in old_names:
            key = f"{name}.{column.name}"
            yield Change(
                "surface/column-added", section, name,
                f"column {key} ({column.type}) is new in {what} {name}",
                f"add it to the contract's entry for {name} if consumers will rely on it",
                (Lookup("column", key, (CREATE,)), Lookup("relation", name, (CREATE, REPLACE, ALTER))),
            )


def _compare_grants(base: Snapshot, head: Snapshot, old: Relation, new: Relation) -> Iterator[Change]:
    section, what = _section(new)
    name = new.qualified_name
    lost: dict[str, list[str]] = {}
    gained: dict[str, list[str]] = {}
    for privilege in TABLE_PRIVILEGES:
        went, came = _who_changed(base, head, old.privileges, new.privileges, privilege)
        for role in went:
            lost.setdefault(role, []).append(privilege)
        for role in came:
            gained.setdefault(role, []).append(privilege)
    lookups = (Lookup("relation", name, (GRANT, CREATE, REPLACE)),
               Lookup("all-relation", new.schema, (GRANT,)))
    if lost:
        yield Change(
            "surface/grant-revoked", section, name,
            f"{what} {name}: {_privileges(lost)} no longer granted",
            "consumers using these roles are now denied: grant them back in a new migration, or "
            "change the contract together with every consumer",
            lookups,
        )
    if gained:
        yield Change(
            "surface/grant-added", section, name,
            f"{what} {name}: {_privileges(gained)} granted now",
            "make sure these roles should reach it through the API (with RLS where rows are private)",
            lookups,
        )


def _privileges(by_role: dict[str, list[str]]) -> str:
    return "; ".join(f"{', '.join(privileges)} to {role}" for role, privileges in sorted(by_role.items()))


def _compare_security(base: Snapshot, head: Snapshot, old: Relation, new: Relation) -> Iterator[Change]:
    name = new.qualified_name
    if old.rls_enabled and not new.rls_enabled:
        yield Change(
            "surface/rls-disabled", "tables", name,
            f"row level security was disabled on table {name}: its policies no longer apply, and "
            "every role granted access sees every row",
            f"alter table {name} enable row level security; in a new migration",
            (Lookup("relation", name, (ALTER,)),),
        )
    if "anon" not in head.roles:
        return
    for key, policy in sorted(head.policies.items()):
        if (policy.schema, policy.table) != (new.schema, new.name) or not policy.permissive:
            continue
        if not head.role_holds("anon", policy.roles):
            continue
        before = base.policies.get(key)
        if before is not None and before.permissive and base.role_holds("anon", before.roles):
            continue
        applies = ", ".join(policy.roles) or "PUBLIC"
        yield Change(
            "surface/policy-allows-anon", "tables", name,
            f"policy {policy.name} on table {name} now lets anon {policy.command.lower()} "
            f"(it applies to {applies}): signed-out API callers "
            + ("can reach rows" if new.rls_enabled else "would reach rows once RLS is enabled"),
            f"limit the policy to authenticated (create policy ... to authenticated), or confirm the "
            f"rows of {name} are public",
            (Lookup("policy", key, (CREATE, ALTER)),),
        )


# --- findings -------------------------------------------------------------------------------------


Judge = Callable[[Change], str]  # "contracted" | "acknowledged" | "uncontracted"


def locate(change: Change, sources: SourceIndex) -> Location | None:
    """The latest statement in `sources` (the head's changed migrations) that made the change."""
    return latest(sources.locate(lookup.kind, lookup.key, lookup.actions, lookup.args)
                  for lookup in change.lookups)


def findings(changes: Iterable[Change], sources: SourceIndex, judge: Judge,
             fallback: Location | None = None, contract: str = "the contract") -> list[Finding]:
    """Changes as findings: breaking ones are errors when the contract declares the object and did
    not change with it, warnings when it does not declare it, notices when it changed with it;
    additive ones are notices."""
    result = []
    for change in changes:
        verdict = judge(change)
        hint = change.hint
        if not change.breaking:
            severity = Severity.NOTICE
            if change.rule == "surface/rpc-added" and verdict == "uncontracted":
                hint = f"add an entry for {change.name} under rpcs: in {contract}"
        elif verdict == "contracted":
            severity = Severity.ERROR
            hint += f" ({change.name} is in {contract}, which this change leaves as it was)"
        elif verdict == "acknowledged":
            severity = Severity.NOTICE
            hint = f"{contract} changed its entry for {change.name} too: make sure every consumer did"
        else:
            severity = Severity.WARNING
            hint += f" ({change.name} is not in {contract})"
        result.append(Finding(
            rule=change.rule, severity=severity, message=change.message,
            location=locate(change, sources) or fallback, hint=hint, subject=change.name,
        ))
    return result

