"""Combinations of changes the fingerprint fast path must report (and count) exactly as two
whole snapshots do.

test_fingerprint_probes.py changes one object at a time; here several change at once (on
one table, on both sides), relations move between schemas (reported and ignored ones),
are renamed, dropped and replaced under their old name, join and leave extensions,
partitions and their parents change together, attnum gaps appear on one side, overloaded
functions lose or gain an overload. Each case is checked three ways:

- no schema ignored (as `both_ways`);
- drift's default ignore list, the fast path read without skipping any schema;
- drift's default ignore list, the fast path planned with those schemas skipped (as the
  drift gate plans it), which must also read nothing in them;

comparing the findings' messages and `object_counts` (with the plan) of the fast path
with those of two whole snapshots. Most cases copy both sides from one template (the same
OIDs); the "apart" ones build each side in a fresh database (every OID different).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from dragonfly_ci.checks.drift import DEFAULT_IGNORED, compare, ignored, object_counts
from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.postgres.catalog import take_snapshot
from dragonfly_ci.postgres.fingerprints import read_pair, take_fingerprints
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database
from tests.test_fingerprints import APP, app_template, both_ways, execute, messages  # noqa: F401


@dataclass(frozen=True)
class Case:
    both: list[str] = field(default_factory=list)  # in the template (or each database built apart)
    actual: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    apart: bool = False  # two databases built apart from APP + both, not template copies
    # "": a real difference with no schema ignored; "default": a real difference with no
    # schema ignored, nothing with drift's default ignore list; "all": nothing either way.
    quiet: str = ""


_PARTITIONED = [
    "create table app.p (id integer not null, at date not null) partition by range (at)",
    "create index p_id_idx on app.p (id)",
    "create table app.p1 partition of app.p for values from ('2020-01-01') to ('2021-01-01')",
    "create table app.p2 partition of app.p for values from ('2021-01-01') to ('2022-01-01')",
]
_T1 = ["create table app.t1 (a integer primary key, b text)", "create index t1_b_idx on app.t1 (b)"]
_PLATFORM = [
    "create schema auth", "create schema storage",
    "create table auth.users (id uuid primary key, email text)",
    "create function auth.uid() returns uuid language sql stable return null::uuid",
    "create table storage.objects (id bigint primary key, name text)",
    "create index objects_name_idx on storage.objects (name)",
]
_PLATFORM_CHANGES = [
    "alter table auth.users add column phone text",
    "create index users_email_idx on auth.users (email)",
    "create or replace function auth.uid() returns uuid language sql stable return gen_random_uuid()",
    "drop index storage.objects_name_idx",
    "create table storage.buckets (id text primary key)",
    "alter table storage.objects enable row level security",
    "create policy objects_all on storage.objects using (true)",
]
_OVERLOADS = [
    "create function app.f(integer) returns integer language sql return 1",
    "create function app.f(text) returns integer language sql return 2",
]
_GAP = [
    "create table app.gap (a integer, b text check (b <> ''), c integer)",
    "create index gap_c_idx on app.gap (c)",
    "create index gap_b_idx on app.gap (b)",
]
# The same columns, constraint and indexes again, the columns at other attnums.
_GAP_ON_ONE_SIDE = [
    "alter table app.gap drop column b", "alter table app.gap drop column c",
    "alter table app.gap add column b text constraint gap_b_check check (b <> '')",
    "alter table app.gap add column c integer",
    "create index gap_c_idx on app.gap (c)", "create index gap_b_idx on app.gap (b)",
]
# Raw parts naming columns by number: a foreign key to c, UPDATE OF c, a policy over b.
_GAP_REFERENCED = ["create table app.gap (a integer, b text, c integer constraint gap_c_key unique)"]
_GAP_REFERENCES = [
    "create table app.gref (c integer constraint gref_c_fkey references app.gap (c))",
    "create trigger gap_t before update of c on app.gap for each row execute function app.touch()",
    "alter table app.gap enable row level security",
    "create policy gap_p on app.gap using (b <> 'x')",
]
_GAP_REFERENCED_AGAIN = [
    "drop table app.gref",
    "alter table app.gap drop column b cascade", "alter table app.gap drop column c cascade",
    "alter table app.gap add column b text",
    "alter table app.gap add column c integer constraint gap_c_key unique",
]
_ENTRY_COMBINATION = [
    "alter table app.entry rename column note to memo",
    "drop index app.entry_amount_idx", "create index entry_amount_idx on app.entry (amount)",
    "create policy entry_new on app.entry for delete using (amount = 0)",
]

CASES: dict[str, Case] = {
    # --- several changes on one table ------------------------------------------------------
    "one table: column renamed, index changed, policy added": Case(actual=_ENTRY_COMBINATION),
    "one table: index, check, policy, trigger state and comment, columns alike": Case(actual=[
        "drop index app.entry_by_account_idx", "create index entry_by_account_idx on app.entry (id)",
        "alter table app.entry drop constraint entry_amount_check",
        "alter table app.entry add constraint entry_amount_check check (amount > 0)",
        "alter policy entry_small on app.entry using (amount < 999)",
        "alter table app.entry disable trigger entry_touch",
        "comment on table app.entry is 'entries'",
    ]),
    "two columns' names swapped under raw checks and an index": Case(
        both=["create table app.sw (a integer check (a > 0), b integer check (b < 10))",
              "create index sw_a_idx on app.sw (a)"],
        actual=["alter table app.sw rename column a to tmp", "alter table app.sw rename column b to a",
                "alter table app.sw rename column tmp to b"]),
    "two index definitions swapped": Case(actual=[
        "drop index app.entry_amount_idx", "drop index app.entry_by_account_idx",
        "create index entry_amount_idx on app.entry (account_id)",
        "create index entry_by_account_idx on app.entry (amount desc)",
    ]),
    # --- both sides at once ----------------------------------------------------------------
    "both sides change one table": Case(
        expected=["alter policy entry_small on app.entry using (amount < 500)",
                  "create index entry_note_idx on app.entry (note)"],
        actual=["drop index app.entry_amount_idx", "alter table app.entry add column extra integer",
                "comment on column app.entry.note is 'x'"]),
    "both sides change other parts of one table, columns alike": Case(
        expected=["create index audit_what_idx on app.audit (what)"],
        actual=["alter table app.audit enable row level security",
                "create policy audit_all on app.audit using (true)"]),
    "both sides add another index (same count)": Case(
        expected=["create index audit_x_idx on app.audit (what)"],
        actual=["create index audit_y_idx on app.audit (id, at)"]),
    # --- moved, renamed, replaced ----------------------------------------------------------
    "table moved with set schema": Case(
        both=["create schema other",
              "create table app.moved (id integer primary key, v text check (v <> ''))",
              "create index moved_v_idx on app.moved (v)"],
        actual=["alter table app.moved set schema other"]),
    "table moved with set schema, another created under its old name": Case(
        both=["create schema other",
              "create table app.moved (id integer primary key, v text check (v <> ''))",
              "create index moved_v_idx on app.moved (v)"],
        actual=["alter table app.moved set schema other",
                "create table app.moved (id integer primary key, v text)"]),
    "table renamed, its indexes keep their names": Case(both=_T1, actual=["alter table app.t1 rename to t2"]),
    "table renamed, another created under its old name": Case(
        both=_T1,
        actual=["alter table app.t1 rename to t2", "create table app.t1 (a integer primary key, b text)"]),
    "index moved from a dropped table to a kept one": Case(
        both=["create table app.t1 (a integer)", "create index shared_idx on app.t1 (a)",
              "create table app.t2 (a integer)"],
        actual=["drop table app.t1", "create index shared_idx on app.t2 (a)"]),
    "table dropped, its name reused by a view with the same columns": Case(
        both=["create table app.tv (id bigint, what text)"],
        actual=["drop table app.tv", "create view app.tv as select id, what from app.audit"]),
    "table with key dropped, its name reused by a view of other columns": Case(
        both=["create table app.tv (id bigint primary key, what text check (what <> ''))",
              "create index tv_what_idx on app.tv (what)"],
        actual=["drop table app.tv", "create view app.tv as select id, at from app.audit"]),
    "table under a view, RLS, triggers and a key renamed": Case(
        actual=["alter table app.entry rename to ledger"]),
    "schema renamed on one side": Case(
        both=["create schema side", "create table side.t (id integer primary key, v text)",
              "create index t_v_idx on side.t (v)",
              "create function side.g() returns integer language sql return 1"],
        actual=["alter schema side rename to side2"]),
    "schema on the actual side only, with tables and functions": Case(
        actual=["create schema side", "create table side.t (id integer primary key, v text)",
                "create view side.v as select v from side.t",
                "create function side.g() returns integer language sql return 1"]),
    # --- ignored schemas -------------------------------------------------------------------
    "changes in auth and storage only": Case(both=_PLATFORM, actual=_PLATFORM_CHANGES, quiet="default"),
    "changes in auth and storage and one in app": Case(
        both=_PLATFORM, actual=[*_PLATFORM_CHANGES, "comment on table app.audit is 'x'"]),
    "table moved from auth to app": Case(
        both=["create schema auth", "create table auth.t (id integer primary key, v text)",
              "create index t_v_idx on auth.t (v)"],
        actual=["alter table auth.t set schema app"]),
    "table moved from app to storage": Case(
        both=["create schema storage", "create table app.t (id integer primary key, v text)",
              "create index t_v_idx on app.t (v)"],
        actual=["alter table app.t set schema storage"]),
    "view in app over an auth table whose column is renamed": Case(
        both=["create schema auth", "create table auth.users (id uuid primary key, email text)",
              "create view app.emails as select email from auth.users"],
        actual=["alter table auth.users rename column email to mail"]),
    "foreign key from app to a renamed auth table": Case(
        both=["create schema auth", "create table auth.users (id uuid primary key, email text)",
              "create table app.profile (id uuid primary key references auth.users (id))"],
        actual=["alter table auth.users rename to users2"]),
    # --- extension members -----------------------------------------------------------------
    "extension member on the expected side only": Case(
        expected=["alter extension plpgsql add table app.audit"]),
    "extension member dropped from the extension on the actual side": Case(
        both=["create table app.ext (id integer primary key, v text)",
              "create index ext_v_idx on app.ext (v)",
              "alter extension plpgsql add table app.ext"],
        actual=["alter extension plpgsql drop table app.ext"]),
    "extension member on the expected side only, its columns changed too": Case(
        expected=["alter extension plpgsql add table app.audit"],
        actual=["alter table app.audit add column who text"]),
    "extension member on both sides, its parts changed": Case(
        both=["create table app.ext (id integer primary key, v text)",
              "alter extension plpgsql add table app.ext"],
        actual=["create index ext_v_idx on app.ext (v)", "alter table app.ext add column w integer"],
        quiet="all"),
    "extension member added on the actual side, its index changed": Case(
        actual=["create index audit_what_idx on app.audit (what)",
                "alter extension plpgsql add table app.audit"]),
    # --- partitions ------------------------------------------------------------------------
    "partition and parent both change": Case(
        both=_PARTITIONED,
        actual=["alter table app.p add column note text", "create index p_note_idx on app.p (note)",
                "alter table app.p detach partition app.p2",
                "alter table app.p attach partition app.p2 "
                "for values from ('2021-01-01') to ('2023-01-01')"]),
    "partition detached, parent gains another": Case(
        both=_PARTITIONED,
        actual=["alter table app.p detach partition app.p1",
                "create table app.p3 partition of app.p for values from ('2022-01-01') to ('2023-01-01')"]),
    "each side attaches another partition": Case(
        both=_PARTITIONED,
        expected=["create table app.p3 partition of app.p for values from ('2022-01-01') to ('2023-01-01')"],
        actual=["create table app.p4 partition of app.p for values from ('2023-01-01') to ('2024-01-01')"]),
    # --- attnum gaps -----------------------------------------------------------------------
    "attnum gap on one side only": Case(both=_GAP, actual=_GAP_ON_ONE_SIDE, quiet="all"),
    "attnum gap on one side under a foreign key, trigger columns and a policy": Case(
        both=[*_GAP_REFERENCED, *_GAP_REFERENCES], actual=[*_GAP_REFERENCED_AGAIN, *_GAP_REFERENCES],
        quiet="all"),
    "attnum gap on one side and a real change": Case(
        both=_GAP, actual=[*_GAP_ON_ONE_SIDE, "comment on column app.gap.c is 'x'",
                           "drop index app.gap_b_idx", "create index gap_b_idx on app.gap (b desc)"]),
    # --- views -----------------------------------------------------------------------------
    "view and its table gain a column": Case(
        both=["create view app.av as select id, what from app.audit"],
        actual=["alter table app.audit add column who text",
                "create or replace view app.av as select id, what, who from app.audit"]),
    # --- overloaded functions --------------------------------------------------------------
    "overloaded function, one side lacks an overload": Case(
        both=_OVERLOADS, actual=["drop function app.f(text)"]),
    "overload replaced by another signature": Case(
        both=_OVERLOADS, actual=["drop function app.f(text)",
                                 "create function app.f(bigint) returns integer language sql return 2"]),
    "each side adds another overload": Case(
        both=_OVERLOADS,
        expected=["create function app.f(numeric) returns integer language sql return 3"],
        actual=["create function app.f(bigint) returns integer language sql return 3"]),
    "each side changes another overload's body": Case(
        both=_OVERLOADS,
        expected=["create or replace function app.f(integer) returns integer language sql return 10"],
        actual=["create or replace function app.f(text) returns integer language sql return 20"]),
    # --- keys that name two objects --------------------------------------------------------
    # --- built apart (every OID different) -------------------------------------------------
    "apart: one table: column renamed, index changed, policy added": Case(
        apart=True, actual=_ENTRY_COMBINATION),
    "apart: table moved with set schema": Case(
        apart=True,
        both=["create schema other",
              "create table app.moved (id integer primary key, v text check (v <> ''))"],
        actual=["alter table app.moved set schema other"]),
    "apart: overloaded function, one side lacks an overload": Case(
        apart=True, both=_OVERLOADS, actual=["drop function app.f(text)"]),
    "apart: attnum gap on one side only": Case(apart=True, both=_GAP, actual=_GAP_ON_ONE_SIDE, quiet="all"),
    "apart: table renamed, its indexes keep their names": Case(
        apart=True, both=_T1, actual=["alter table app.t1 rename to t2"]),
    "apart: extension member on the expected side only": Case(
        apart=True, expected=["alter extension plpgsql add table app.audit"]),
    "apart: changes in auth and storage only": Case(
        apart=True, both=_PLATFORM, actual=_PLATFORM_CHANGES, quiet="default"),
}


@pytest.fixture
def combination(pg_server: EmbeddedServer, app_template: str,  # noqa: F811
                request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """The case's two databases, changed: conninfos of expected, actual."""
    case = CASES[request.param]
    names: list[str] = []
    try:
        if case.apart:
            for _ in range(2):
                names.append(create_database(pg_server, prefix="fpa"))
                execute(pg_server.conninfo(names[-1]), *APP, *case.both)
        else:
            names.append(create_database(pg_server, template=app_template, prefix="fpt"))
            execute(pg_server.conninfo(names[0]), *case.both)
            names += [create_database(pg_server, template=names[0], prefix="fp") for _ in range(2)]
        expected, actual = (pg_server.conninfo(name) for name in names[-2:])
        execute(expected, *case.expected)
        execute(actual, *case.actual)
        yield expected, actual
    finally:
        for name in names:
            drop_database(pg_server, name)


def _differences(label: str, fast: list, full: list, fast_counts: dict, full_counts: dict) -> list[str]:
    problems = []
    if fast != full:
        problems.append(f"[{label}] findings differ:\n  only fast: {[m for m in fast if m not in full]}"
                        f"\n  only full: {[m for m in full if m not in fast]}")
    if fast_counts != full_counts:
        problems.append(f"[{label}] counts differ (fast, full): " + ", ".join(
            f"{k}: {fast_counts.get(k)} vs {full_counts.get(k)}"
            for k in sorted(set(fast_counts) | set(full_counts)) if fast_counts.get(k) != full_counts.get(k)))
    return problems


@pytest.mark.parametrize("combination", list(CASES), indirect=True)
def test_combination(combination: tuple[str, str], request: pytest.FixtureRequest) -> None:
    case = CASES[request.node.callspec.params["combination"]]
    expected, actual = combination
    fast_findings, full_findings, _, _ = both_ways(expected, actual)
    skip = lambda schema: ignored(schema, DEFAULT_IGNORED)  # noqa: E731 - as the drift gate plans
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        whole_e, whole_a = take_snapshot(conn_e), take_snapshot(conn_a)
        fast_all = read_pair(conn_e, conn_a)
        fast_skip = read_pair(conn_e, conn_a, skip)
        prints = take_fingerprints(conn_e), take_fingerprints(conn_a)

    problems = _differences("both_ways", messages(fast_findings), messages(full_findings), {}, {})
    results = {}
    for label, fast, patterns in (("no schema ignored", fast_all, ()),
                                  ("default ignored", fast_all, DEFAULT_IGNORED),
                                  ("default ignored, planned skipping them", fast_skip, DEFAULT_IGNORED)):
        full = messages(compare(whole_e, whole_a, None, ignore_schemas=patterns))
        results[label] = full
        problems += _differences(
            label, messages(compare(fast.expected, fast.actual, None, ignore_schemas=patterns)), full,
            object_counts(fast.expected, fast.actual, None, ignore_schemas=patterns, plan=fast.plan),
            object_counts(whole_e, whole_a, None, ignore_schemas=patterns))

    # Planned skipping the ignored schemas: nothing in them is read.
    for side, selection, fingerprints in ((0, fast_skip.plan.expected, prints[0]),
                                          (1, fast_skip.plan.actual, prints[1])):
        assert selection is not None
        read = selection.bare_relations | selection.functions
        in_ignored = {key for key, f in (*fingerprints.relations.items(), *fingerprints.functions.items())
                      if f.oid in read and skip(f.schema)}
        if in_ignored:
            problems.append(f"side {side} reads objects in ignored schemas: {sorted(in_ignored)}")

    if case.quiet == "all":
        assert results["no schema ignored"] == [], "the point is that nothing is reported"
    else:
        assert results["no schema ignored"], "the changes must be a difference two whole snapshots show"
    if case.quiet == "default":
        assert results["default ignored"] == [], "nothing outside the ignored schemas changed"
    assert not problems, "\n".join(problems)


_DOTTED = {
    "relations": ['create schema "app.x"', 'create table "app.x".t (a integer)',
                  'create table app."x.t" (a integer)'],
    "constraints": ['create table app.t (a integer constraint "x.y" check (a > 0))',
                    'create table app."t.x" (a integer constraint y check (a > 0))'],
    "functions": ['create schema "app.f"',
                  'create function "app.f".g() returns integer language sql return 1',
                  'create function app."f.g"() returns integer language sql return 1'],
}


@pytest.mark.parametrize("objects", list(_DOTTED))
def test_names_that_join_alike_fail_both_paths(pg_server: EmbeddedServer, app_template: str,  # noqa: F811
                                               objects: str) -> None:
    """Table t of schema "app.x" and table "x.t" of schema app are both app.x.t (so are
    constraint "x.y" of app.t and y of app."t.x", functions "app.f".g() and app."f.g"()):
    rather than compare one and hide the other, both paths stop with exit 3 and say so."""
    names = [create_database(pg_server, template=app_template, prefix="fp") for _ in range(2)]
    try:
        expected, actual = (pg_server.conninfo(name) for name in names)
        execute(actual, *_DOTTED[objects])
        with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
            with pytest.raises(CouldNotCheck, match=r"are both app\.") as fast:
                read_pair(conn_e, conn_a)
            with pytest.raises(CouldNotCheck, match=r"are both app\.") as full:
                take_snapshot(conn_a)
        assert fast.value.exit_code == full.value.exit_code == 3
    finally:
        for name in names:
            drop_database(pg_server, name)
