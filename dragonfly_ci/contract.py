"""The RPC contract: what workers and dashboards rely on.

Loaded from YAML (validated, line-accurate), then resolved against a database:
every type spelling is normalised by PostgreSQL itself (`TEXT[]`, `_text` and
`text[]` are one type), never by an alias table of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dragonfly_ci.errors import BadInput
from dragonfly_ci.sql_text import quote_ident
from dragonfly_ci.yamldoc import Document, load

if TYPE_CHECKING:
    import psycopg

    from dragonfly_ci.findings import Finding


@dataclass(frozen=True)
class Arg:
    type: str
    name: str | None = None


@dataclass(frozen=True)
class Rpc:
    name: str  # schema.function
    line: int
    args: tuple[Arg, ...] | None = None  # None: any arguments
    returns: str | None = None
    security: str | None = None  # "definer" | "invoker"
    execute: tuple[str, ...] = ()
    arg_lines: tuple[int, ...] = ()
    returns_line: int | None = None
    security_line: int | None = None
    execute_line: int | None = None

    @property
    def arg_types(self) -> tuple[str, ...]:
        return tuple(a.type for a in self.args or ())

    def signature(self) -> str:
        if self.args is None:
            return f"{self.name}(...)"
        return f"{self.name}({', '.join(self.arg_types)})"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    line: int
    nullable: bool | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    line: int
    columns: tuple[ColumnSpec, ...] = ()


@dataclass(frozen=True)
class ViewSpec:
    name: str
    line: int


@dataclass(frozen=True)
class Contract:
    file: Path
    display: str  # repository-relative path for findings
    rpcs: tuple[Rpc, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    views: tuple[ViewSpec, ...] = ()

    def names(self) -> set[str]:
        return {r.name for r in self.rpcs}


def load_contract(path: Path, display: str) -> Contract:
    doc = load(path, schema="contract", what="contract")
    data = doc.data or {}
    rpcs = tuple(_rpc(doc, name, spec or {}) for name, spec in (data.get("rpcs") or {}).items())
    tables = tuple(
        TableSpec(
            name=name,
            line=doc.key_line(("tables", name)),
            columns=tuple(
                _column(doc, name, column, spec)
                for column, spec in ((table or {}).get("columns") or {}).items()
            ),
        )
        for name, table in (data.get("tables") or {}).items()
    )
    views = tuple(ViewSpec(v, doc.line(("views", i))) for i, v in enumerate(data.get("views") or []))
    return Contract(file=path, display=display, rpcs=rpcs, tables=tables, views=views)


def _rpc(doc: Document, name: str, spec: dict) -> Rpc:
    key = ("rpcs", name)
    args = None
    if "args" in spec:
        args = tuple(
            Arg(type=a) if isinstance(a, str) else Arg(type=a["type"], name=a.get("name"))
            for a in spec["args"]
        )
    return Rpc(
        name=name,
        line=doc.key_line(key),
        args=args,
        returns=spec.get("returns"),
        security=spec.get("security"),
        execute=tuple(spec.get("execute", ())),
        arg_lines=tuple(_type_line(doc, (*key, "args", i)) for i in range(len(args or ()))),
        returns_line=doc.line((*key, "returns")) if "returns" in spec else None,
        security_line=doc.line((*key, "security")) if "security" in spec else None,
        execute_line=doc.line((*key, "execute")) if "execute" in spec else None,
    )


def _column(doc: Document, table: str, column: str, spec: str | dict) -> ColumnSpec:
    key = ("tables", table, "columns", column)
    if isinstance(spec, str):
        return ColumnSpec(column, spec, doc.key_line(key))
    return ColumnSpec(column, spec["type"], _type_line(doc, key), spec.get("nullable"))


def _type_line(doc: Document, key: tuple) -> int | None:
    """The line where a type is written: its own `type:` line in the mapping form."""
    return doc.lines.get((*key, "type")) or doc.line(key)


# --- resolution against a database ------------------------------------------------


def resolve(contract: Contract, conn: psycopg.Connection,
            missing: list[Finding] | None = None) -> Contract:
    """The same contract with every type spelled as PostgreSQL formats it.

    Raises BadInput at the contract line of a type PostgreSQL does not know: on a
    shadow, the contract is wrong. On a live database (`missing` given) the
    database may be what is wrong: each unknown type becomes a
    `contract/type-missing` finding appended to `missing`, kept as written.
    """
    from dragonfly_ci.postgres.catalog import resolve_types

    spellings: dict[str, list[tuple[int, str]]] = {}

    def want(spelling: str, line: int, what: str) -> None:
        spellings.setdefault(spelling, []).append((line, what))

    returns: dict[str, ParsedReturn] = {}
    for rpc in contract.rpcs:
        for arg, line in zip(rpc.args or (), rpc.arg_lines, strict=False):
            want(arg.type, line, f"{rpc.name} argument type")
        if rpc.returns:
            parsed = parse_return(rpc.returns, contract.display, rpc.returns_line or rpc.line)
            returns[rpc.name] = parsed
            for _, type_ in parsed.columns or ((None, parsed.type),):
                want(type_, rpc.returns_line or rpc.line, f"{rpc.name} return type")
    for table in contract.tables:
        for column in table.columns:
            want(column.type, column.line, f"{table.name}.{column.name} type")

    resolved = resolve_types(conn, spellings)
    for spelling, uses in spellings.items():
        if resolved.get(spelling) is None:
            line, what = uses[0]
            if missing is not None:
                from dragonfly_ci.findings import Location
                from dragonfly_ci.rules import finding

                missing.append(finding(
                    "contract/type-missing",
                    f"type {spelling!r} ({what}) does not exist in this database",
                    location=Location(contract.display, line),
                    hint="apply the migration that creates it, or fix the contract's spelling",
                ))
                resolved[spelling] = spelling
                continue
            raise BadInput(
                f"unknown type {spelling!r} ({what})",
                file=contract.display,
                line=line,
                hint="spell it as in SQL (e.g. text[], integer, timestamptz) and schema-qualify "
                "types outside public and extensions (e.g. ops.job_status)",
            )

    def norm(t: str) -> str:
        return resolved[t]

    rpcs = []
    for rpc in contract.rpcs:
        args = None if rpc.args is None else tuple(replace(a, type=norm(a.type)) for a in rpc.args)
        result = returns[rpc.name].render(norm) if rpc.returns else None
        rpcs.append(replace(rpc, args=args, returns=result))
    tables = tuple(
        replace(t, columns=tuple(replace(c, type=norm(c.type)) for c in t.columns))
        for t in contract.tables
    )
    return replace(contract, rpcs=tuple(rpcs), tables=tables)


@dataclass(frozen=True)
class ParsedReturn:
    setof: bool
    type: str | None  # for a plain or setof return
    columns: tuple[tuple[str, str], ...] | None  # for table(...)

    def render(self, norm: Callable[[str], str]) -> str:
        """As pg_get_function_result() spells it."""
        if self.columns is not None:
            return "TABLE(" + ", ".join(f"{quote_ident(n)} {norm(t)}" for n, t in self.columns) + ")"
        return ("SETOF " if self.setof else "") + norm(self.type)


def parse_return(text: str, file: str, line: int) -> ParsedReturn:
    """Parse 'integer', 'setof ops.job', 'table(id uuid, n int)' with PostgreSQL's grammar."""
    import json

    from pglast import parser

    from dragonfly_ci.migrations.sources import type_text

    sql = f"create function f() returns {text} language sql as ''"
    try:
        tree = json.loads(parser.parse_sql_json(sql))
        stmt = tree["stmts"][0]["stmt"]["CreateFunctionStmt"]
    except (parser.ParseError, KeyError, IndexError):
        raise BadInput(
            f"cannot read return type {text!r}",
            file=file,
            line=line,
            hint="write a type, 'setof <type>' or 'table(<column> <type>, ...)'",
        ) from None
    table = [p["FunctionParameter"] for p in stmt.get("parameters", [])
             if p["FunctionParameter"].get("mode") == "FUNC_PARAM_TABLE"]
    if table:
        return ParsedReturn(True, None, tuple((p["name"], type_text(p["argType"])) for p in table))
    returned = stmt["returnType"]
    return ParsedReturn(bool(returned.get("setof")), type_text(returned), None)

