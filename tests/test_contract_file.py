"""The contract file: its shapes and lines, and type names resolved by a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.contract import (
    Arg,
    ColumnSpec,
    ParsedReturn,
    load_contract,
    parse_return,
    quote_ident,
    resolve,
)
from dragonfly_ci.errors import BadInput

CONTRACT = """\
# the RPC contract
version: 1
rpcs:
  ops.claim_job:
    args:
      - uuid
      - name: p_worker
        type: TEXT[]
    returns: setof ops.job
    security: definer
    execute: [service_role, authenticated]
  ops.ping:
    args: []
    returns: void
  ops.anything: {}
tables:
  ops.job:
    columns:
      id: uuid
      status:
        type: ops.job_status
        nullable: false
  ops.empty: {}
views:
  - ops.queue_health
  - public.worker_status
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def conn(fresh_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        yield connection


# --- loading ----------------------------------------------------------------------------


def test_rpc_shapes_and_lines(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, CONTRACT), "supabase/contract.yml")

    assert contract.display == "supabase/contract.yml"
    assert contract.names() == {"ops.claim_job", "ops.ping", "ops.anything"}
    claim, ping, anything = contract.rpcs
    assert claim.name == "ops.claim_job"
    assert claim.line == 4
    assert claim.args == (Arg("uuid"), Arg("TEXT[]", "p_worker"))
    assert claim.arg_lines == (6, 8)  # a mapping argument: the line of its type
    assert claim.returns == "setof ops.job"
    assert claim.returns_line == 9
    assert claim.security == "definer"
    assert claim.security_line == 10
    assert claim.execute == ("service_role", "authenticated")
    assert claim.execute_line == 11
    assert claim.signature() == "ops.claim_job(uuid, TEXT[])"

    assert ping.line == 12
    assert ping.args == ()
    assert ping.signature() == "ops.ping()"
    assert ping.returns == "void"
    assert ping.security is None and ping.security_line is None

    assert anything.line == 15
    assert anything.args is None
    assert anything.arg_types == ()
    assert anything.signature() == "ops.anything(...)"
    assert anything.returns is None and anything.returns_line is None
    assert anything.execute == () and anything.execute_line is None


def test_table_and_view_shapes_and_lines(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, CONTRACT), "c.yml")

    job, empty = contract.tables
    assert (job.name, job.line) == ("ops.job", 17)
    assert job.columns == (
        ColumnSpec("id", "uuid", 19, None),
        ColumnSpec("status", "ops.job_status", 21, False),  # the line of its type
    )
    assert (empty.name, empty.line, empty.columns) == ("ops.empty", 23, ())
    assert [(v.name, v.line) for v in contract.views] == [("ops.queue_health", 25),
                                                           ("public.worker_status", 26)]


@pytest.mark.parametrize("text", ["", "version: 1\n", "rpcs: {}\ntables: {}\nviews: []\n"])
def test_empty_contracts(tmp_path: Path, text: str) -> None:
    contract = load_contract(write(tmp_path, text), "c.yml")

    assert (contract.rpcs, contract.tables, contract.views) == ((), (), ())


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param("rpcs:\n  ops.a:\n    args: []\n    security: owner\n", 4,
                     "rpcs.ops.a.security: 'owner' is not one of", id="bad-security"),
        pytest.param("rpcs:\n  ops.a:\n    args: []\n    volatile: true\n", 4,
                     "rpcs.ops.a: unknown key 'volatile'", id="unknown-rpc-key"),
        pytest.param("version: 1\nfunctions: {}\n", 2, "(top level): unknown key 'functions'",
                     id="unknown-top-key"),
        pytest.param("tables:\n  ops.t:\n    columns:\n      id: uuid\n    indexes: []\n", 5,
                     "tables.ops.t: unknown key 'indexes'", id="unknown-table-key"),
        pytest.param("rpcs:\n  claim_job:\n    args: []\n", 2,
                     "rpcs: key 'claim_job' is not a schema-qualified name", id="unqualified-rpc-name"),
        pytest.param("views:\n  - ops.v\n  - ops.v.w\n", 3,
                     "views.1: 'ops.v.w' is not a schema-qualified name",
                     id="bad-view-name"),
        pytest.param("rpcs:\n  ops.a:\n    args:\n      - uuid\n      - name: p_id\n", 5,
                     "rpcs.ops.a.args.1", id="arg-missing-type"),
        pytest.param("tables:\n  ops.t:\n    columns:\n      id:\n        nullable: true\n", 5,
                     "tables.ops.t.columns.id", id="column-missing-type"),
        pytest.param("rpcs:\n  ops.a:\n    returns: ''\n", 3, "rpcs.ops.a.returns", id="empty-returns"),
        pytest.param("rpcs:\n  ops.a:\n    execute: [anon, anon]\n", 3, "non-unique",
                     id="duplicate-execute-role"),
    ],
)
def test_schema_violations_are_bad_input_at_their_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(BadInput) as caught:
        load_contract(path, "c.yml")

    assert caught.value.exit_code == 2
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert words in caught.value.message


def test_bad_qualified_name_is_reported_at_its_own_key(tmp_path: Path) -> None:
    path = write(tmp_path, "rpcs:\n  ops.a:\n    args: []\n  ops.b:\n    args: []\n"
                           "  claim_job:\n    args: []\n")

    with pytest.raises(BadInput) as caught:
        load_contract(path, "c.yml")

    assert caught.value.line == 6


# --- resolving against PostgreSQL --------------------------------------------------------


def resolved_contract(tmp_path: Path, conn: psycopg.Connection, text: str):
    return resolve(load_contract(write(tmp_path, text), "supabase/contract.yml"), conn)


def function_result(conn: psycopg.Connection, signature: str) -> str:
    """pg_get_function_result as the catalog snapshot reads it (search_path = pg_catalog)."""
    with conn.transaction(force_rollback=True):
        conn.execute("set local search_path = pg_catalog")
        row = conn.execute("select pg_get_function_result(%s::regprocedure)", [signature]).fetchone()
    return row[0]


def test_argument_and_column_spellings_are_normalised_by_postgres(
    tmp_path: Path, conn: psycopg.Connection
) -> None:
    contract = resolved_contract(tmp_path, conn, """\
rpcs:
  public.f:
    args:
      - TEXT[]
      - _text
      - text[]
      - INTEGER
      - int4
      - int
      - TIMESTAMPTZ
      - {name: p_when, type: timestamp with time zone}
      - varchar(20)
      - double precision
    returns: INT
tables:
  public.t:
    columns:
      a: _int4
      b: {type: "character varying(10)", nullable: true}
      c: bool
""")

    rpc, = contract.rpcs
    assert rpc.arg_types == (
        "text[]", "text[]", "text[]", "integer", "integer", "integer",
        "timestamp with time zone", "timestamp with time zone", "character varying", "double precision",
    )
    assert rpc.args[7].name == "p_when"
    assert rpc.returns == "integer"
    assert [(c.name, c.type, c.nullable) for c in contract.tables[0].columns] == [
        ("a", "integer[]", None), ("b", "character varying", True), ("c", "boolean", None)]
    assert rpc.arg_lines == tuple(range(4, 14))  # lines survive resolution


def test_user_types_are_schema_qualified(tmp_path: Path, conn: psycopg.Connection) -> None:
    conn.execute("create schema ops; create type ops.job_status as enum ('pending', 'done');"
                 "create type public.mood as enum ('ok')")

    contract = resolved_contract(tmp_path, conn, """\
tables:
  ops.job:
    columns:
      status: OPS.JOB_STATUS
      statuses: ops.job_status[]
      mood: mood
""")

    assert [c.type for c in contract.tables[0].columns] == [
        "ops.job_status", "ops.job_status[]", "public.mood"]


def test_setof_table_return_matches_pg_get_function_result(tmp_path: Path, conn: psycopg.Connection) -> None:
    conn.execute("create schema ops; create table ops.job (id int); create table public.item (id int);"
                 "create function ops.jobs() returns setof ops.job language sql as 'select * from ops.job';"
                 "create function public.items() returns setof item language sql as 'select * from item'")

    contract = resolved_contract(tmp_path, conn, """\
rpcs:
  ops.jobs:
    returns: SETOF OPS.JOB
  public.items:
    returns: setof item
""")

    jobs, items = contract.rpcs
    assert jobs.returns == function_result(conn, "ops.jobs()") == "SETOF ops.job"
    assert items.returns == function_result(conn, "public.items()") == "SETOF public.item"


def test_table_return_matches_pg_get_function_result(tmp_path: Path, conn: psycopg.Connection) -> None:
    conn.execute("""
        create function public.stats() returns table(
            a int, "B" text, "position" int, name varchar(3), "select" int4[], type bool)
        language sql as $$ select 1, 'x'::text, 2, 'y'::varchar, array[1], true $$
    """)

    contract = resolved_contract(tmp_path, conn, """\
rpcs:
  public.stats:
    returns: 'TABLE(a INTEGER, "B" TEXT, "position" int, name character varying(3),
      "select" _int4, type boolean)'
""")

    expected = function_result(conn, "public.stats()")
    assert expected.startswith('TABLE(a integer, "B" text, "position" integer')
    assert contract.rpcs[0].returns == expected


def test_plain_and_void_returns(tmp_path: Path, conn: psycopg.Connection) -> None:
    conn.execute("create function public.n() returns int8 language sql as 'select 1::int8';"
                 "create function public.v() returns void language sql as 'select'")

    contract = resolved_contract(tmp_path, conn, "rpcs:\n  public.n:\n    returns: bigint\n"
                                 "  public.v:\n    returns: VOID\n")

    assert contract.rpcs[0].returns == function_result(conn, "public.n()") == "bigint"
    assert contract.rpcs[1].returns == function_result(conn, "public.v()") == "void"


@pytest.mark.parametrize(
    ("text", "line", "spelling"),
    [
        pytest.param("rpcs:\n  ops.a:\n    args:\n      - uuid\n      - no_such_type\n", 5, "no_such_type",
                     id="argument"),
        pytest.param("rpcs:\n  ops.a:\n    args: []\n\n    returns: setof ops.nothing\n", 5,
                     "ops.nothing", id="setof-return"),
        pytest.param("rpcs:\n  ops.a:\n    returns: table(id uuid, n numbr)\n", 3, "numbr",
                     id="table-return-column"),
        pytest.param("tables:\n  ops.t:\n    columns:\n      id: uuid\n      n: intt\n", 5, "intt",
                     id="short-column"),
        pytest.param("tables:\n  ops.t:\n    columns:\n      n: {type: job_status}\n", 4, "job_status",
                     id="long-column-one-line"),
    ],
)
def test_unknown_type_is_bad_input_at_its_line(
    tmp_path: Path, conn: psycopg.Connection, text: str, line: int, spelling: str
) -> None:
    with pytest.raises(BadInput) as caught:
        resolved_contract(tmp_path, conn, text)

    err = caught.value
    assert err.exit_code == 2
    assert err.file == "supabase/contract.yml"
    assert err.line == line
    assert f"unknown type {spelling!r}" in err.message
    assert "schema-qualify" in err.hint


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("tables:\n  ops.t:\n    columns:\n      n:\n        nullable: true\n"
                     "        type: intt\n", id="column"),
        pytest.param("rpcs:\n  ops.a:\n    args:\n      - name: p_n\n\n        type: intt\n",
                     id="argument"),
    ],
)
def test_unknown_type_on_its_own_line(tmp_path: Path, conn: psycopg.Connection, text: str) -> None:
    with pytest.raises(BadInput) as caught:
        resolved_contract(tmp_path, conn, text)

    assert caught.value.line == 6


def test_first_use_of_an_unknown_spelling_is_reported(tmp_path: Path, conn: psycopg.Connection) -> None:
    with pytest.raises(BadInput) as caught:
        resolved_contract(tmp_path, conn, "rpcs:\n  ops.a:\n    args: [intt]\n  ops.b:\n    args: [intt]\n")

    assert caught.value.line == 3
    assert "ops.a argument type" in caught.value.message


# --- parse_return and quote_ident ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("integer", ParsedReturn(False, "pg_catalog.int4", None)),
        ("text[]", ParsedReturn(False, "text[]", None)),
        ("SETOF ops.job", ParsedReturn(True, "ops.job", None)),
        ("table(id uuid, n int)", ParsedReturn(True, None, (("id", "uuid"), ("n", "pg_catalog.int4")))),
        ('TABLE("Id" uuid)', ParsedReturn(True, None, (("Id", "uuid"),))),
    ],
)
def test_parse_return_shapes(text: str, expected: ParsedReturn) -> None:
    assert parse_return(text, "c.yml", 1) == expected


@pytest.mark.parametrize("text", ["garbage (", "setof", "table()", "int; drop table x", "", "table(id)",
                                  "int int"])
def test_parse_return_of_garbage_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_return(text, "supabase/contract.yml", 42)

    err = caught.value
    assert err.exit_code == 2
    assert (err.file, err.line) == ("supabase/contract.yml", 42)
    assert repr(text) in err.message
    assert "setof" in err.hint


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("job_id", "job_id"), ("Job", '"Job"'), ("select", '"select"'), ("position", '"position"'),
     ("name", "name"), ("type", "type"), ("left", '"left"'), ('a"b', '"a""b"'), ("1st", '"1st"')],
)
def test_quote_ident_matches_postgres(conn: psycopg.Connection, name: str, quoted: str) -> None:
    assert quote_ident(name) == quoted
    assert conn.execute("select quote_ident(%s)", [name]).fetchone()[0] == quoted
