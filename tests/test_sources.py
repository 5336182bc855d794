"""The source index: which migration statement created, changed or dropped each object."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.findings import Location
from dragonfly_ci.migrations.sources import EVERYTHING, SourceIndex, build_index
from dragonfly_ci.postgres.catalog import resolve_types
from tests.conftest import migrations


def index_of(tmp_path: Path, *texts: str) -> SourceIndex:
    return build_index(migrations(tmp_path, *texts))


def history(index: SourceIndex, kind: str, key: str) -> list[tuple[str, int]]:
    return [(e.action, e.location.line) for e in index.events(kind, key)]


def file_of(n: int) -> str:
    return f"supabase/migrations/2025010100000{n}_m{n}.sql"


def test_functions(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create schema ops;
create function ops.f(a TEXT[], b integer, out c int) language sql as $$ select 1 $$;
create or replace function ops.f(p_a _text, p_b int4, out c int)
  language sql
  as $$ select 2 $$;
create function ops.f(x varchar(10), variadic y int[]) returns int language sql as $$ select 1 $$;
alter function ops.f(text[], int) security definer;
grant execute on function ops.f(text[], integer) to anon;
revoke execute on function ops.f(varchar, int[]) from public;
comment on function ops.f(_text, int4) is 'x';
alter function ops.f(text[], int) owner to postgres;
drop function ops.f(varchar, integer[]);
drop function if exists ops.f;
create procedure ops.p(in a int, inout b text) language sql as $$ select 1 $$;
create function ops.t() returns table(id int) language sql as $$ select 1 $$;
""")

    events = index.events("function", "ops.f")
    assert [(e.action, e.location.line, e.args) for e in events] == [
        ("create", 2, ("text[]", "pg_catalog.int4")),
        ("replace", 3, ("_text", "int4")),
        ("create", 6, ("pg_catalog.varchar", "pg_catalog.int4[]")),
        ("alter", 7, ("text[]", "pg_catalog.int4")),
        ("grant", 8, ("text[]", "pg_catalog.int4")),
        ("grant", 9, ("pg_catalog.varchar", "pg_catalog.int4[]")),
        ("comment", 10, ("_text", "int4")),
        ("alter", 11, ("text[]", "pg_catalog.int4")),
        ("drop", 12, ("pg_catalog.varchar", "pg_catalog.int4[]")),
        ("drop", 13, None),
    ]
    replace = events[1].location
    assert replace == Location(file_of(1), 3, 5, 1)
    assert index.events("function", "ops.p")[0].args == ("pg_catalog.int4", "text")
    assert index.events("function", "ops.t")[0].args == ()
    assert set(index.keys("function")) == {"ops.f", "ops.p", "ops.t"}


def test_tables_columns_and_constraints(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create table public.jobs (
  id int primary key,
  status text,
  constraint jobs_id_positive check (id > 0)
);
alter table jobs add column n int, drop column status, alter column id type bigint,
  add constraint n_ck check (n > 0), drop constraint jobs_id_positive;
alter table jobs alter column n set not null;
alter table jobs rename column n to m;
alter table jobs enable row level security;
create sequence public.counter;
""", "alter table public.jobs rename to tasks;\ndrop table tasks;\n")

    assert history(index, "relation", "public.jobs") == [("create", 1), ("alter", 6), ("alter", 8),
                                                          ("alter", 10), ("drop", 1)]
    assert index.events("relation", "public.jobs")[-1].location.file == file_of(2)
    assert history(index, "relation", "public.tasks") == [("create", 1), ("drop", 2)]
    assert history(index, "column", "public.jobs.id") == [("create", 1), ("alter", 6)]
    assert history(index, "column", "public.jobs.status") == [("create", 1), ("drop", 6)]
    assert history(index, "column", "public.jobs.n") == [("create", 6), ("alter", 8), ("drop", 9)]
    assert history(index, "column", "public.jobs.m") == [("create", 9)]
    assert history(index, "constraint", "public.jobs.jobs_id_positive") == [("create", 1), ("drop", 6)]
    assert history(index, "constraint", "public.jobs.n_ck") == [("create", 6)]
    assert history(index, "relation", "public.counter") == [("create", 11)]
    created = index.events("relation", "public.jobs")[0].location
    assert (created.line, created.end_line) == (1, 5)


def test_indexes_policies_and_triggers(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create schema ops;
create table ops.jobs (id int);
create index jobs_id on ops.jobs (id);
create index on ops.jobs (id);
drop index ops.jobs_id;
create policy p on ops.jobs using (true);
alter policy p on ops.jobs using (false);
drop policy p on ops.jobs;
create function ops.trg() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger t1 before insert on ops.jobs for each row execute function ops.trg();
create or replace trigger t1 after insert on ops.jobs for each row execute function ops.trg();
drop trigger t1 on ops.jobs;
""")

    assert history(index, "index", "ops.jobs_id") == [("create", 3), ("drop", 5)]
    assert list(index.keys("index")) == ["ops.jobs_id"]
    assert history(index, "policy", "ops.jobs.p") == [("create", 6), ("alter", 7), ("drop", 8)]
    assert history(index, "trigger", "ops.jobs.t1") == [("create", 10), ("replace", 11), ("drop", 12)]


def test_views_types_schemas_and_extensions(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create schema if not exists ops;
create extension if not exists pgcrypto with schema extensions;
create view ops.v as select 1 as x;
create or replace view ops.v as select 2 as x;
drop view ops.v;
drop materialized view if exists ops.mv;
create type ops.status as enum ('a', 'b');
alter type ops.status add value 'c';
create type ops.pair as (a int, b int);
create domain ops.posint as int check (value > 0);
drop type ops.status;
drop domain ops.posint;
grant usage on schema ops to anon;
comment on schema ops is 'jobs';
drop extension pgcrypto;
drop schema ops cascade;
""")

    assert history(index, "relation", "ops.v") == [("create", 3), ("replace", 4), ("drop", 5)]
    assert history(index, "relation", "ops.mv") == [("drop", 6)]
    assert history(index, "type", "ops.status") == [("create", 7), ("alter", 8), ("drop", 11)]
    assert history(index, "type", "ops.pair") == [("create", 9)]
    assert history(index, "type", "ops.posint") == [("create", 10), ("drop", 12)]
    assert history(index, "schema", "ops") == [("create", 1), ("grant", 13), ("comment", 14), ("drop", 16)]
    assert history(index, "extension", "pgcrypto") == [("create", 2), ("drop", 15)]


@pytest.mark.parametrize(("sql", "key"), [("create materialized view ops.mv as select 1 as x", "ops.mv"),
                                        ("create table copy as select 1 as x", "public.copy")])
def test_create_as(tmp_path: Path, sql: str, key: str) -> None:
    index = index_of(tmp_path, f"create schema ops;\n{sql};\n")

    assert history(index, "relation", key) == [("create", 2)]


def test_grants_revokes_and_comments_on_relations(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create table t (c int);
grant select on t to anon;
revoke insert on table public.t from authenticated;
grant select on all tables in schema public to service_role;
revoke execute on all functions in schema public from anon;
comment on table t is 'x';
comment on column public.t.c is 'y';
""")

    assert history(index, "relation", "public.t") == [("create", 1), ("grant", 2), ("grant", 3),
                                                       ("comment", 6)]
    assert history(index, "column", "public.t.c") == [("create", 1), ("comment", 7)]
    assert history(index, "all-relation", "public") == [("grant", 4)]
    assert history(index, "all-function", "public") == [("grant", 5)]


def test_comment_on_unqualified_column(tmp_path: Path) -> None:
    index = index_of(tmp_path, "create table t (c int);\ncomment on column t.c is 'y';\n")

    assert history(index, "column", "public.t.c") == [("create", 1), ("comment", 2)]


def test_renames(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
create function f(a int) returns int language sql as $$ select a $$;
alter function f(int) rename to g;
create table t (a int);
alter table t rename column a to b;
alter table t rename to u;
""")

    assert [(e.action, e.key, e.args) for e in index.events("function", "public.f")] == [
        ("create", "public.f", ("pg_catalog.int4",)), ("drop", "public.f", ("pg_catalog.int4",))]
    assert [(e.action, e.args) for e in index.events("function", "public.g")] == [
        ("create", ("pg_catalog.int4",))]
    assert history(index, "column", "public.t.b") == [("create", 4)]
    assert history(index, "column", "public.t.a") == [("create", 3), ("drop", 4)]
    assert history(index, "relation", "public.u") == [("create", 5)]


# --- search_path ----------------------------------------------------------------------------


def test_unqualified_names_follow_set_search_path(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        "create schema ops;\nset search_path to ops, public;\ncreate table jobs (id int);\n"
        "create function claim() returns int language sql as $$ select 1 $$;\n"
        "create index jobs_id on jobs (id);\n",
        # a session setting lasts into the next file, as it does on one connection
        "create view v as select 1 as x;\nset search_path = \"$user\", public;\ncreate table w ();\n"
        "set search_path to default;\ncreate table z ();\n"
        "set search_path = ops;\nreset search_path;\ncreate table r ();\n",
    )

    assert history(index, "relation", "ops.jobs") == [("create", 3)]
    assert history(index, "column", "ops.jobs.id") == [("create", 3)]
    assert history(index, "function", "ops.claim") == [("create", 4)]
    assert history(index, "index", "ops.jobs_id") == [("create", 5)]
    assert history(index, "relation", "ops.v") == [("create", 1)]
    assert history(index, "relation", "public.w") == [("create", 3)]
    assert history(index, "relation", "public.z") == [("create", 5)]
    assert history(index, "relation", "public.r") == [("create", 8)]
    assert index.events("relation", "public.jobs") == []


def test_pg_dump_set_config_search_path(tmp_path: Path) -> None:
    index = index_of(tmp_path, """\
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE public.q (id integer);
CREATE SCHEMA ops;
select set_config('search_path', 'ops,public', false);
create table w ();
select pg_catalog.set_config('search_path', '"ops"', false);
create table x ();
""")

    assert history(index, "relation", "public.q") == [("create", 2)]
    assert history(index, "relation", "ops.w") == [("create", 5)]
    assert history(index, "relation", "ops.x") == [("create", 7)]


def test_set_local_search_path_within_its_file(tmp_path: Path) -> None:
    index = index_of(tmp_path, "create schema ops;\nset local search_path = ops;\ncreate table t ();\n")

    assert history(index, "relation", "ops.t") == [("create", 3)]


# --- finding the right event ------------------------------------------------------------------


OVERLOADS = """\
create function calc(a integer) returns int language sql as $$ select 1 $$;
create function calc(a text[]) returns int language sql as $$ select 1 $$;
"""


def test_last_create_or_replace_wins(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        OVERLOADS,
        "\n\ncreate or replace function calc(a int4) returns int language sql as $$ select 2 $$;\n",
        "create or replace function calc(a integer) returns int language sql as $$ select 3 $$;\n"
        "grant execute on function calc(int) to anon;\n",
    )

    location = index.locate("function", "public.calc")
    assert (location.file, location.line) == (file_of(3), 1)
    assert index.last("function", "public.calc").action == "replace"
    granted = index.locate("function", "public.calc", actions=("grant",))
    assert (granted.file, granted.line) == (file_of(3), 2)
    assert index.locate("function", "public.calc", actions=EVERYTHING).line == 2
    assert index.locate("function", "public.nothing") is None
    assert index.last("relation", "public.calc") is None


def test_last_prefers_matching_args_after_normalising(tmp_path: Path, fresh_db: str) -> None:
    index = index_of(
        tmp_path,
        OVERLOADS,
        "create or replace function calc(a int4) returns int language sql as $$ select 2 $$;\n"
        "create or replace function calc(a _text) returns int language sql as $$ select 2 $$;\n",
    )
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        resolved = resolve_types(conn, index.written_types())
    assert resolved["pg_catalog.int4"] == "integer"
    assert resolved["_text"] == "text[]"

    # Before normalising, no spelling matches: the latest of any overload is used.
    assert index.last("function", "public.calc", args=("integer",)).location.line == 2
    index.normalise_args(resolved)

    by_int = index.last("function", "public.calc", args=("integer",))
    by_text = index.last("function", "public.calc", args=("text[]",))
    assert (by_int.location.file, by_int.location.line, by_int.args) == (file_of(2), 1, ("integer",))
    assert (by_text.location.file, by_text.location.line, by_text.args) == (file_of(2), 2, ("text[]",))
    assert index.locate("function", "public.calc", actions=("create",), args=("integer",)).line == 1
    assert index.last("function", "public.calc", args=("uuid",)).args == ("text[]",)


def test_drop_without_arguments_matches_every_overload(tmp_path: Path) -> None:
    index = index_of(tmp_path, OVERLOADS, "drop function calc(integer);\ndrop function calc;\n")

    assert index.last("function", "public.calc", args=("text[]",)).location.line == 2
    assert index.last("function", "public.calc", args=("pg_catalog.int4",)).location.line == 2


def test_normalise_keeps_unknown_spellings(tmp_path: Path, fresh_db: str) -> None:
    index = index_of(tmp_path, "create function f(a ops.status, b int) returns int "
                               "language sql as $$ select 1 $$;\n")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        index.normalise_args(resolve_types(conn, index.written_types()))

    assert index.events("function", "public.f")[0].args == ("ops.status", "integer")


# --- files the parser cannot read -----------------------------------------------------------


def test_unparsable_file_is_listed_and_does_not_stop_the_others(tmp_path: Path) -> None:
    index = index_of(tmp_path, "create table a ();\n", "create tabel b ();\n", "create table c ();\n")

    assert index.unparsed == [file_of(2)]
    assert history(index, "relation", "public.a") == [("create", 1)]
    assert history(index, "relation", "public.c") == [("create", 1)]
