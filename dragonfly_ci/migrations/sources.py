"""Where each object comes from: every migration statement that touches it.

A finding about `ops.claim_pending_job` should point at the line of the last
`create or replace function ops.claim_pending_job`, a missing EXECUTE at the
`revoke` that removed it. The index maps objects, keyed the way catalog
Snapshots key them, to the statements that created, replaced, altered,
granted on, commented on or dropped them, in migration order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dragonfly_ci.findings import Location
from dragonfly_ci.migrations.files import MigrationFile
from dragonfly_ci.migrations.statements import Node, ParseFailure, Statement, parse

if TYPE_CHECKING:
    import psycopg

# GRANT stands for both GRANT and REVOKE: either changes who holds a privilege.
CREATE, REPLACE, ALTER, DROP, GRANT, COMMENT = (
    "create", "replace", "alter", "drop", "grant", "comment")
DEFINITION = (CREATE, REPLACE, ALTER, DROP)
EVERYTHING = (CREATE, REPLACE, ALTER, DROP, GRANT, COMMENT)


_RELATION_KINDS = {
    "OBJECT_TABLE": "relation", "OBJECT_VIEW": "relation", "OBJECT_MATVIEW": "relation",
    "OBJECT_SEQUENCE": "relation", "OBJECT_FOREIGN_TABLE": "relation",
    "OBJECT_INDEX": "index", "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type",
    "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension",
    "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function",
    "OBJECT_AGGREGATE": "function", "OBJECT_POLICY": "policy", "OBJECT_TRIGGER": "trigger",
    "OBJECT_COLUMN": "column", "OBJECT_TABCONSTRAINT": "constraint",
}


@dataclass(frozen=True)
class Event:
    action: str
    kind: str  # function, relation, column, index, policy, trigger, constraint, type, ...
    key: str  # schema.name, schema.table.column, ...
    location: Location
    args: tuple[str, ...] | None = None  # functions: argument types as written


class SourceIndex:
    def __init__(self) -> None:
        self._events: dict[tuple[str, str], list[Event]] = defaultdict(list)
        self.unparsed: list[str] = []  # files pglast could not parse

    def add(self, event: Event) -> None:
        self._events[(event.kind, event.key)].append(event)

    def events(self, kind: str, key: str) -> list[Event]:
        return self._events.get((kind, key), [])

    def last(
        self,
        kind: str,
        key: str,
        actions: Iterable[str] = DEFINITION,
        args: tuple[str, ...] | None = None,
    ) -> Event | None:
        """The latest event of these actions; for functions, prefer those with these arguments."""
        wanted = set(actions)
        candidates = [e for e in self.events(kind, key) if e.action in wanted]
        if args is not None:
            candidates = [e for e in candidates if e.args is None or e.args == args] or candidates
        return candidates[-1] if candidates else None

    def locate(self, kind: str, key: str, actions: Iterable[str] = DEFINITION,
               args: tuple[str, ...] | None = None) -> Location | None:
        event = self.last(kind, key, actions, args)
        return event.location if event else None

    def normalise_args(self, resolved: dict[str, str | None]) -> None:
        """Rewrite function argument spellings as PostgreSQL formats them."""
        for events in self._events.values():
            for i, e in enumerate(events):
                if e.args:
                    args = tuple(resolved.get(t) or t for t in e.args)
                    events[i] = Event(e.action, e.kind, e.key, e.location, args)

    def all_events(self) -> list[Event]:
        """Every event, in migration order."""
        events = [e for group in self._events.values() for e in group]
        return sorted(events, key=lambda e: (e.location.file, e.location.line or 0, e.location.column or 0))

    def keys(self, kind: str) -> Iterator[str]:
        return (key for (k, key) in self._events if k == kind)

    def written_types(self) -> set[str]:
        """Every argument type spelling in function events, for one normalising query."""
        return {t for events in self._events.values() for e in events for t in (e.args or ())}


def build_index(files: Iterable[MigrationFile]) -> SourceIndex:
    """Index every file, resolving unqualified names as the migration session would.

    Files run one after another in one session, each as one transaction: a
    plain `set search_path` lasts into later files, `set local` (or
    set_config(..., true)) only to the end of its file.
    """
    index = SourceIndex()
    session_path = ["public"]
    for file in files:
        try:
            parsed = parse(file.text)
        except ParseFailure:
            index.unparsed.append(file.display)
            continue
        local_path: list[str] | None = None
        for stmt in parsed.statements:
            change = _search_path_change(stmt)
            if change is not None:
                path, is_local = change
                if is_local:
                    local_path = path
                else:
                    session_path, local_path = path, None
            current = local_path if local_path is not None else session_path
            location = Location(file.display, stmt.line, stmt.end_line, stmt.column)
            for event in _events(stmt, location, current[0] if current else "public"):
                index.add(event)
    return index


def located_index(files: Iterable[MigrationFile], conn: psycopg.Connection) -> SourceIndex:
    """The index, with argument types spelled as PostgreSQL (on `conn`) formats them,
    so function events match catalog identities."""
    from dragonfly_ci.postgres.catalog import resolve_types

    index = build_index(files)
    index.normalise_args(resolve_types(conn, index.written_types()))
    return index


def _search_path_change(stmt: Statement) -> tuple[list[str], bool] | None:
    """A new search path set by this statement, and whether it is transaction-local."""
    node = stmt.node
    if stmt.kind == "VariableSetStmt" and node.get("name") == "search_path":
        is_local = bool(node.get("is_local"))
        if node.get("kind") == "VAR_SET_VALUE":
            values = [_const_text(a) for a in node.get("args", [])]
            return _path_schemas(",".join(v for v in values if v)), is_local
        if node.get("kind") in ("VAR_SET_DEFAULT", "VAR_RESET"):
            return ["public"], is_local
    if stmt.kind == "SelectStmt":  # pg_dump's select pg_catalog.set_config('search_path', '', false)
        for target in node.get("targetList", []):
            call = target.get("ResTarget", {}).get("val", {}).get("FuncCall", {})
            if _names(call.get("funcname", []))[-1:] == ["set_config"]:
                args = call.get("args", [])
                if len(args) >= 2 and _const_text(args[0]) == "search_path":
                    is_local = len(args) > 2 and args[2].get("A_Const", {}).get("boolval", {}).get("boolval")
                    return _path_schemas(_const_text(args[1]) or ""), bool(is_local)
    return None


def _path_schemas(text: str) -> list[str]:
    schemas = [s.strip().strip('"') for s in text.split(",")]
    return [s for s in schemas if s and s not in ("$user", "pg_catalog", "pg_temp")]


def _const_text(node: Node) -> str | None:
    const = node.get("A_Const", {})
    if "sval" in const:
        return const["sval"]["sval"]
    return None


def _names(items: list[Node]) -> list[str]:
    return [i["String"]["sval"] for i in items if "String" in i]


def _qualify(names: list[str], schema: str, parts: int = 2) -> str:
    """schema.name (or schema.table.column for parts=3), filling in the schema."""
    return ".".join([schema, *names] if len(names) < parts else names)


def _range_var(node: Node, schema: str) -> str:
    rv = node.get("RangeVar", node)
    return f"{rv.get('schemaname') or schema}.{rv['relname']}"


def type_text(type_name: Node) -> str:
    """A TypeName node as SQL text that to_regtype() understands."""
    tn = type_name.get("TypeName", type_name)
    names = ".".join(_quote_for_regtype(n) for n in _names(tn.get("names", [])))
    if tn.get("pct_type"):
        return names + "%type"
    return names + "[]" * len(tn.get("arrayBounds", []))


def _quote_for_regtype(name: str) -> str:
    # Only what to_regtype() needs: keywords are fine after a schema ("pg_catalog.varchar"),
    # so unlike quote_ident this keeps the spelling the parser gave.
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


_IDENTITY_MODES = {"FUNC_PARAM_IN", "FUNC_PARAM_DEFAULT", "FUNC_PARAM_INOUT", "FUNC_PARAM_VARIADIC"}


def _function_key(object_with_args: Node, schema: str) -> tuple[str, tuple[str, ...] | None]:
    owa = object_with_args.get("ObjectWithArgs", object_with_args)
    key = _qualify(_names(owa.get("objname", [])), schema)
    if owa.get("args_unspecified"):
        return key, None
    params = owa.get("objfuncargs")
    if params is not None:
        args = tuple(type_text(p["FunctionParameter"]["argType"]) for p in params
                     if p["FunctionParameter"].get("mode", "FUNC_PARAM_DEFAULT") in _IDENTITY_MODES)
    else:
        args = tuple(type_text(t) for t in owa.get("objargs", []))
    return key, args


def _events(stmt: Statement, loc: Location, schema: str) -> Iterator[Event]:
    node, kind = stmt.node, stmt.kind
    if kind == "CreateFunctionStmt":
        key = _qualify(_names(node["funcname"]), schema)
        args = tuple(type_text(p["FunctionParameter"]["argType"])
                     for p in node.get("parameters", [])
                     if p["FunctionParameter"].get("mode", "FUNC_PARAM_DEFAULT") in _IDENTITY_MODES)
        yield Event(REPLACE if node.get("replace") else CREATE, "function", key, loc, args)
    elif kind == "AlterFunctionStmt":
        key, args = _function_key(node["func"], schema)
        yield Event(ALTER, "function", key, loc, args)
    elif kind in ("CreateStmt", "CreateForeignTableStmt"):
        base = node.get("base", node) if kind == "CreateForeignTableStmt" else node
        table = _range_var(base["relation"], schema)
        yield Event(CREATE, "relation", table, loc)
        for element in base.get("tableElts", []):
            if "ColumnDef" in element:
                yield Event(CREATE, "column", f"{table}.{element['ColumnDef']['colname']}", loc)
            elif "Constraint" in element and element["Constraint"].get("conname"):
                yield Event(CREATE, "constraint", f"{table}.{element['Constraint']['conname']}", loc)
    elif kind == "ViewStmt":
        yield Event(REPLACE if node.get("replace") else CREATE, "relation",
                    _range_var(node["view"], schema), loc)
    elif kind == "CreateTableAsStmt":
        into = node["into"].get("IntoClause", node["into"])
        yield Event(CREATE, "relation", _range_var(into["rel"], schema), loc)
    elif kind == "CreateSeqStmt":
        yield Event(CREATE, "relation", _range_var(node["sequence"], schema), loc)
    elif kind == "AlterTableStmt":
        yield from _alter_table(node, loc, schema)
    elif kind == "IndexStmt" and node.get("idxname"):
        table_schema = _range_var(node["relation"], schema).split(".")[0]
        yield Event(CREATE, "index", f"{table_schema}.{node['idxname']}", loc)
    elif kind in ("CreatePolicyStmt", "AlterPolicyStmt"):
        table = _range_var(node["table"], schema)
        yield Event(CREATE if kind == "CreatePolicyStmt" else ALTER, "policy",
                    f"{table}.{node['policy_name']}", loc)
    elif kind == "CreateTrigStmt":
        table = _range_var(node["relation"], schema)
        yield Event(REPLACE if node.get("replace") else CREATE, "trigger",
                    f"{table}.{node['trigname']}", loc)
    elif kind == "CompositeTypeStmt":
        yield Event(CREATE, "type", _range_var(node["typevar"], schema), loc)
    elif kind in ("CreateEnumStmt", "AlterEnumStmt", "CreateRangeStmt"):
        action = ALTER if kind == "AlterEnumStmt" else CREATE
        yield Event(action, "type", _qualify(_names(node["typeName"]), schema), loc)
    elif kind == "CreateDomainStmt":
        yield Event(CREATE, "type", _qualify(_names(node["domainname"]), schema), loc)
    elif kind == "CreateSchemaStmt":
        yield Event(CREATE, "schema", node["schemaname"], loc)
    elif kind == "CreateExtensionStmt":
        yield Event(CREATE, "extension", node["extname"], loc)
    elif kind == "DropStmt":
        yield from _drop(node, loc, schema)
    elif kind == "GrantStmt":
        yield from _grant(node, loc, schema)
    elif kind == "CommentStmt":
        yield from _comment(node, loc, schema)
    elif kind == "RenameStmt":
        yield from _rename(node, loc, schema)
    elif kind in ("AlterOwnerStmt", "AlterObjectSchemaStmt"):
        target_kind = _RELATION_KINDS.get(node.get("objectType", ""))
        if target_kind == "function":
            key, args = _function_key(node["object"], schema)
            yield Event(ALTER, "function", key, loc, args)
        elif target_kind == "relation" and "relation" in node:
            yield Event(ALTER, "relation", _range_var(node["relation"], schema), loc)


def _alter_table(node: Node, loc: Location, schema: str) -> Iterator[Event]:
    table = _range_var(node["relation"], schema)
    yield Event(ALTER, "relation", table, loc)
    for cmd in node.get("cmds", []):
        c = cmd.get("AlterTableCmd", {})
        subtype, name = c.get("subtype"), c.get("name")
        definition = c.get("def", {})
        if subtype == "AT_AddColumn":
            yield Event(CREATE, "column", f"{table}.{definition['ColumnDef']['colname']}", loc)
        elif subtype == "AT_DropColumn":
            yield Event(DROP, "column", f"{table}.{name}", loc)
        elif subtype == "AT_AddConstraint" and definition.get("Constraint", {}).get("conname"):
            yield Event(CREATE, "constraint", f"{table}.{definition['Constraint']['conname']}", loc)
        elif subtype == "AT_DropConstraint":
            yield Event(DROP, "constraint", f"{table}.{name}", loc)
        elif name:  # type, default, not null, identity, statistics... of a column
            yield Event(ALTER, "column", f"{table}.{name}", loc)


def _drop(node: Node, loc: Location, schema: str) -> Iterator[Event]:
    kind = _RELATION_KINDS.get(node.get("removeType", ""))
    for obj in node.get("objects", []):
        if kind == "function":
            key, args = _function_key(obj, schema)
            yield Event(DROP, "function", key, loc, args)
        elif kind in ("relation", "index"):
            yield Event(DROP, kind, _qualify(_names(obj["List"]["items"]), schema), loc)
        elif kind == "type":
            yield Event(DROP, kind, _qualify(_names(obj["TypeName"]["names"]), schema), loc)
        elif kind in ("schema", "extension") and "String" in obj:
            yield Event(DROP, kind, obj["String"]["sval"], loc)
        elif kind in ("policy", "trigger"):
            names = _names(obj["List"]["items"])
            yield Event(DROP, kind, _qualify(names, schema, 3), loc)


def _grant(node: Node, loc: Location, schema: str) -> Iterator[Event]:
    objtype = _RELATION_KINDS.get(node.get("objtype", ""))
    if node.get("targtype") == "ACL_TARGET_ALL_IN_SCHEMA":
        for s in node.get("objects", []):
            yield Event(GRANT, f"all-{objtype}", s["String"]["sval"], loc)
        return
    for obj in node.get("objects", []):
        if objtype == "function":
            key, args = _function_key(obj, schema)
            yield Event(GRANT, "function", key, loc, args)
        elif objtype == "relation" and "RangeVar" in obj:
            yield Event(GRANT, "relation", _range_var(obj, schema), loc)
        elif objtype == "schema" and "String" in obj:
            yield Event(GRANT, "schema", obj["String"]["sval"], loc)


def _comment(node: Node, loc: Location, schema: str) -> Iterator[Event]:
    kind = _RELATION_KINDS.get(node.get("objtype", ""))
    obj = node.get("object", {})
    if kind == "function":
        key, args = _function_key(obj, schema)
        yield Event(COMMENT, "function", key, loc, args)
    elif kind in ("relation", "column", "index") and "List" in obj:
        parts = 3 if kind == "column" else 2
        yield Event(COMMENT, kind, _qualify(_names(obj["List"]["items"]), schema, parts), loc)
    elif kind == "schema" and "String" in obj:
        yield Event(COMMENT, "schema", obj["String"]["sval"], loc)


def _rename(node: Node, loc: Location, schema: str) -> Iterator[Event]:
    kind = _RELATION_KINDS.get(node.get("renameType", ""))
    new = node.get("newname")
    if kind == "relation":
        old = _range_var(node["relation"], schema)
        yield Event(DROP, "relation", old, loc)
        yield Event(CREATE, "relation", f"{old.split('.')[0]}.{new}", loc)
    elif kind == "column":
        table = _range_var(node["relation"], schema)
        yield Event(DROP, "column", f"{table}.{node['subname']}", loc)
        yield Event(CREATE, "column", f"{table}.{new}", loc)
    elif kind == "function":
        key, args = _function_key(node["object"], schema)
        yield Event(DROP, "function", key, loc, args)
        yield Event(CREATE, "function", f"{key.rsplit('.', 1)[0]}.{new}", loc, args)
