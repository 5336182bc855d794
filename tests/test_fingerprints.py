"""Fingerprints against real databases: the fast path of drift never misses a difference.

Each test builds a small application twice (a template copy keeps every OID,
which is the hard case: the same number names the same thing until a change
makes it name something else), changes one side and checks that the
two-phase read (fingerprints, then partial snapshots of what may differ)
gives exactly the findings two whole snapshots give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest

from dragonfly_ci.checks.drift import compare, object_counts
from dragonfly_ci.postgres.catalog import Selection, Snapshot, take_snapshot
from dragonfly_ci.postgres.fingerprints import (
    Fingerprint,
    Fingerprints,
    plan,
    read_pair,
    take_fingerprints,
)
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, drop_database, start_embedded

APP = [
    "create schema app",
    "create type app.state as enum ('open', 'closed')",
    "create function app.positive(n integer) returns boolean language sql immutable return n > 0",
    """create table app.account (
        id bigint generated always as identity primary key,
        email text not null unique check (email like '%@%'),
        state app.state not null default 'open' check (state <> 'closed'),
        credit integer default 0 check (app.positive(credit)),
        created_at timestamptz not null default now()
    )""",
    """create table app.entry (
        id bigint primary key,
        account_id bigint not null references app.account (id) on delete cascade,
        amount integer not null check (amount >= 0),
        note text
    )""",
    "create index entry_account_idx on app.entry (account_id) where note is not null",
    "create index entry_amount_idx on app.entry (amount desc)",
    "create index entry_by_account_idx on app.entry (account_id)",
    "create index account_lower_email_idx on app.account (lower(email))",
    """create view app.big_entries as
        select e.id, e.amount, a.email from app.entry e join app.account a on a.id = e.account_id
        where e.amount > 100""",
    "alter table app.entry enable row level security",
    "create policy entry_small on app.entry for select using (amount < 1000)",
    "create policy entry_positive on app.entry for insert with check (app.positive(amount))",
    """create function app.touch() returns trigger language plpgsql as $$
        begin new.note := coalesce(new.note, ''); return new; end $$""",
    """create trigger entry_touch before insert or update on app.entry
        for each row execute function app.touch()""",
    """create trigger entry_big after update on app.entry for each row
        when (new.amount > 1000) execute function app.touch()""",
    "comment on table app.entry is 'ledger entries'",
    "comment on column app.entry.note is 'free text'",
    "grant select on app.entry to public",
    "grant select (id, email) on app.account to public",
    # Left alone by every change below.
    """create table app.audit (id bigint primary key, at timestamptz not null default now(),
        what text check (length(what) < 200))""",
    "create index audit_at_idx on app.audit (at)",
    "create function app.noop() returns void language sql return null",
]


@pytest.fixture(scope="module")
def app_template(pg_server: EmbeddedServer) -> Iterator[str]:
    name = create_database(pg_server, prefix="fingerprints")
    with psycopg.connect(pg_server.conninfo(name), autocommit=True) as conn:
        for statement in APP:
            conn.execute(statement)
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def pair(pg_server: EmbeddedServer, app_template: str) -> Iterator[tuple[str, str]]:
    """Two template copies of the application (the same OIDs): conninfos of expected, actual."""
    names = [create_database(pg_server, template=app_template, prefix="fp") for _ in range(2)]
    yield pg_server.conninfo(names[0]), pg_server.conninfo(names[1])
    for name in names:
        drop_database(pg_server, name)


def execute(conninfo: str, *statements: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def both_ways(expected: str, actual: str) -> tuple[list, list, Snapshot, Snapshot]:
    """(findings from the fast path, from two whole snapshots, the two partial snapshots)."""
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        fast = read_pair(conn_e, conn_a)
        full = compare(take_snapshot(conn_e), take_snapshot(conn_a), None, ignore_schemas=())
    return compare(fast.expected, fast.actual, None, ignore_schemas=()), full, fast.expected, fast.actual


def messages(findings: list) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in findings]


def test_equal_databases_read_nothing_and_report_nothing(pair: tuple[str, str]) -> None:
    fast, full, expected, actual = both_ways(*pair)
    assert fast == full == []
    assert not (expected.relations or actual.relations or expected.functions or actual.functions)
    assert set(expected.schemas) == {"app", "public"}  # small sections are read whole


# One change each, made on the "production" side; every one is something only
# a formatted definition shows, or a grant or comment.
CHANGES = {
    "index predicate": [
        "drop index app.entry_account_idx",
        "create index entry_account_idx on app.entry (account_id) where note is null",
    ],
    "index column order": [
        "drop index app.entry_amount_idx", "create index entry_amount_idx on app.entry (amount)",
    ],
    "index column": [
        "drop index app.entry_by_account_idx", "create index entry_by_account_idx on app.entry (id)",
    ],
    "index expression": [
        "drop index app.account_lower_email_idx",
        "create index account_lower_email_idx on app.account (upper(email))",
    ],
    "check expression": [
        "alter table app.entry drop constraint entry_amount_check",
        "alter table app.entry add constraint entry_amount_check check (amount > 0)",
    ],
    "check calling a renamed function": [
        "alter function app.positive(integer) rename to is_positive",
    ],
    "check on a renamed enum label": ["alter type app.state rename value 'closed' to 'shut'"],
    # A key's text shows its backing index's INCLUDE columns and NULLS NOT DISTINCT.
    "unique key include": [
        "alter table app.account drop constraint account_email_key",
        "alter table app.account add constraint account_email_key unique (email) include (state)",
    ],
    "unique key nulls not distinct": [
        "alter table app.account drop constraint account_email_key",
        "alter table app.account add constraint account_email_key unique nulls not distinct (email)",
    ],
    "foreign key action": [
        "alter table app.entry drop constraint entry_account_id_fkey",
        "alter table app.entry add constraint entry_account_id_fkey foreign key (account_id) "
        "references app.account (id) on delete restrict",
    ],
    "not null": ["alter table app.entry alter column note set not null"],
    "view literal": [
        "create or replace view app.big_entries as select e.id, e.amount, a.email from app.entry e "
        "join app.account a on a.id = e.account_id where e.amount > 101",
    ],
    "view over a renamed column": ["alter table app.account rename column email to login"],
    "policy expression": ["alter policy entry_small on app.entry using (amount < 999)"],
    "policy roles": ["alter policy entry_small on app.entry to postgres"],
    "trigger when": [
        "drop trigger entry_big on app.entry",
        "create trigger entry_big after update on app.entry for each row "
        "when (new.amount > 999) execute function app.touch()",
    ],
    "trigger disabled": ["alter table app.entry disable trigger entry_touch"],
    "table grant": ["revoke select on app.entry from public"],
    "column grant": ["revoke select (email) on app.account from public"],
    "function grant": ["revoke execute on function app.touch() from public"],
    "table comment": ["comment on table app.entry is 'entries'"],
    "column comment": ["comment on column app.entry.note is null"],
    "column default": ["alter table app.account alter column credit set default 1"],
    "function body": [
        """create or replace function app.touch() returns trigger language plpgsql as $$
        begin new.note := coalesce(new.note, '-'); return new; end $$""",
    ],
    "table joined to an extension": ["alter extension plpgsql add table app.audit"],
    "added table": ["create table app.extra (id integer primary key)"],
    "dropped index": ["drop index app.entry_amount_idx"],
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_change_is_found_by_the_fast_path(pair: tuple[str, str], change: str) -> None:
    expected, actual = pair
    execute(actual, *CHANGES[change])
    fast, full, _, _ = both_ways(expected, actual)
    assert full, "the change must be a difference two whole snapshots show"
    assert messages(fast) == messages(full)


def test_a_view_over_another_table_with_the_same_oid(pg_server: EmbeddedServer) -> None:
    """The same OID names table x on one side and table y on the other: a view's raw
    rule tree is then the same, its definition is not."""
    template = create_database(pg_server, prefix="fp")
    execute(pg_server.conninfo(template), "create schema app", "create table app.x (id integer)")
    names = [create_database(pg_server, template=template, prefix="fp") for _ in range(2)]
    try:
        expected, actual = (pg_server.conninfo(n) for n in names)
        execute(expected, "create view app.v as select t.id from app.x t")
        execute(actual, "alter table app.x rename to y", "create table app.x (id integer)",
                "create view app.v as select t.id from app.y t")
        fast, full, _, _ = both_ways(expected, actual)
        assert any("app.v" in f.message for f in full)
        assert messages(fast) == messages(full)
    finally:
        for name in [*names, template]:
            drop_database(pg_server, name)


def test_alike_objects_are_equal_in_whole_snapshots(pair: tuple[str, str]) -> None:
    """Equal digests mean equal snapshot objects: checked object by object after many changes."""
    expected, actual = pair
    for statements in CHANGES.values():
        with contextlib.suppress(psycopg.Error):  # a change that clashes with an earlier one
            execute(actual, *statements)
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        prints_e, prints_a = take_fingerprints(conn_e), take_fingerprints(conn_a)
        whole_e, whole_a = take_snapshot(conn_e), take_snapshot(conn_a)
    chosen = plan(prints_e, prints_a)
    assert chosen.alike_relations and chosen.alike_functions
    alike = {key for key, f in prints_e.relations.items() if f in chosen.alike_relations}
    for key in alike:
        assert whole_e.relations[key] == whole_a.relations[key]
        for section in ("indexes", "constraints", "policies", "triggers"):
            parts_e = {k: v for k, v in getattr(whole_e, section).items() if f"{v.schema}.{v.table}" == key}
            parts_a = {k: v for k, v in getattr(whole_a, section).items() if f"{v.schema}.{v.table}" == key}
            assert parts_e == parts_a, (key, section)
    for key, f in prints_e.functions.items():
        if f in chosen.alike_functions:
            assert whole_e.functions[key] == whole_a.functions[key]


def test_databases_built_apart_are_alike(pg_server: EmbeddedServer) -> None:
    """Fingerprints hold names, not OIDs: two databases built from the same SQL at
    different times (every OID different) are alike, views included, and read nothing."""
    names = []
    try:
        for padding in ([], ["create table public.pad (id integer)", "create sequence public.pad_seq"]):
            name = create_database(pg_server, prefix="fp")
            names.append(name)
            execute(pg_server.conninfo(name), *padding, *APP)
        with (psycopg.connect(pg_server.conninfo(names[0])) as conn_e,
              psycopg.connect(pg_server.conninfo(names[1])) as conn_a):
            prints_e, prints_a = take_fingerprints(conn_e), take_fingerprints(conn_a)
        chosen = plan(prints_e, prints_a)
        oids_e = {f.oid for f in prints_e.relations.values()}
        oids_a = {f.oid for f in prints_a.relations.values()}
        pads = {f.oid for key, f in prints_a.relations.items() if ".pad" in key}
        assert not oids_e & oids_a  # nothing shares an OID
        assert {f.oid for f in chosen.alike_relations} == oids_e
        assert chosen.expected == Selection()
        assert chosen.actual == Selection(bare_relations=frozenset(pads))  # the padding only
    finally:
        for name in names:
            drop_database(pg_server, name)


def test_databases_on_two_servers_are_alike(pg_server: EmbeddedServer) -> None:
    """Production and its shadow live on different servers, where the same role has another
    OID: grants are fingerprinted by role name, so nothing is read."""
    roles = ("reader", "writer")
    grants = ["grant select on app.entry to reader", "grant update (note) on app.entry to writer",
              "grant execute on function app.noop() to reader"]
    other = start_embedded()
    names: list[str] = []
    try:
        execute(pg_server.conninfo(), *(f"create role {role} nologin" for role in roles))
        execute(other.conninfo(), "create role padding nologin",
                *(f"create role {role} nologin" for role in reversed(roles)))
        names = [create_database(pg_server, prefix="fp"), create_database(other, prefix="fp")]
        conninfos = [pg_server.conninfo(names[0]), other.conninfo(names[1])]
        for conninfo in conninfos:
            execute(conninfo, *APP, *grants)
        with psycopg.connect(conninfos[0]) as conn_e, psycopg.connect(conninfos[1]) as conn_a:
            role_oids = [conn.execute("select 'reader'::regrole::oid").fetchone()[0]
                         for conn in (conn_e, conn_a)]
            chosen = plan(take_fingerprints(conn_e), take_fingerprints(conn_a))
        assert role_oids[0] != role_oids[1]
        assert chosen.expected == chosen.actual == Selection()
        fast, full, _, _ = both_ways(*conninfos)
        assert fast == full == []
    finally:
        if names:
            drop_database(pg_server, names[0])
        execute(pg_server.conninfo(), *(f"drop role if exists {role}" for role in roles))
        other.stop()


def test_only_differing_columns_are_read(pair: tuple[str, str]) -> None:
    """A table whose comment alone differs is read without its columns (alike, so empty on
    both sides); one whose column differs is read with them."""
    expected, actual = pair
    execute(actual, *CHANGES["table comment"], *CHANGES["column comment"])
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        entry = conn_e.execute("select 'app.entry'::regclass::oid").fetchone()[0]
        chosen = plan(take_fingerprints(conn_e), take_fingerprints(conn_a))
    assert chosen.expected is not None and chosen.expected.columns == frozenset({entry})
    execute(actual, "comment on column app.entry.note is 'free text'")
    fast, full, snapshot_e, snapshot_a = both_ways(expected, actual)
    assert snapshot_e.relations["app.entry"].columns == snapshot_a.relations["app.entry"].columns == ()
    assert messages(fast) == messages(full) and [f.rule for f in full] == ["drift/comment-differs"]


def test_counts_with_a_plan_match_whole_snapshots(pair: tuple[str, str]) -> None:
    expected, actual = pair
    execute(actual, *CHANGES["added table"], *CHANGES["index predicate"])
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        fast = read_pair(conn_e, conn_a)
        whole = object_counts(take_snapshot(conn_e), take_snapshot(conn_a), None, ignore_schemas=())
    assert object_counts(fast.expected, fast.actual, None, ignore_schemas=(), plan=fast.plan) == whole
    assert fast.plan.bare_relations  # app.extra, read without its index


def test_other_versions_or_environments_read_everything() -> None:
    one = Fingerprint(oid=1, schema="app", digest=(1,), extension=False, parts=(1, 0, 0, 0, 0))
    a = Fingerprints("17.2", 7, {"app.t": one}, {})
    for other in (Fingerprints("18.1", 7, {"app.t": one}, {}), Fingerprints("17.2", 8, {"app.t": one}, {})):
        assert plan(a, other).expected is None and plan(a, other).actual is None
    same = plan(a, Fingerprints("17.2", 7, {"app.t": one}, {}))
    assert same.expected == Selection() and same.alike_relations == (one,)


def test_dotted_names_read_everything() -> None:
    """A dot inside a schema or relation name: parts' keys may join alike, so whole snapshots."""
    one = Fingerprint(oid=1, schema="app", digest=(1,), extension=False, parts=(1, 0, 0, 0, 0))
    for schema, name in (("app.x", "t"), ("app", "x.t")):
        dotted = Fingerprint(oid=2, schema=schema, digest=(2,), extension=False, parts=(1, 0, 0, 0, 0))
        prints = Fingerprints("18.1", 0, {"app.t": one, f"{schema}.{name}": dotted}, {})
        assert plan(prints, prints).expected is None
    plain = Fingerprints("18.1", 0, {"app.t": one}, {})
    assert plan(plain, plain).expected == Selection()


def test_skipped_schemas_are_not_read() -> None:
    def prints(digest: int) -> Fingerprints:
        return Fingerprints("18.1", 0, {
            "auth.users": Fingerprint(1, "auth", (digest,), False, (1, 0, 0, 0, 0)),
            "app.t": Fingerprint(2, "app", (digest,), False, (1, 0, 0, 0, 0)),
        }, {})

    chosen = plan(prints(1), prints(2), skip_schema=lambda schema: schema == "auth")
    assert chosen.expected == Selection(bare_relations=frozenset({2}))


def test_only_the_parts_that_differ_are_read(pair: tuple[str, str]) -> None:
    """A relation whose indexes alone differ is read with its indexes, not its constraints,
    policies or triggers; the findings are still those of two whole snapshots."""
    expected, actual = pair
    execute(actual, *CHANGES["index predicate"])
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        entry = conn_e.execute("select 'app.entry'::regclass::oid").fetchone()[0]
    fast, full, snapshot_e, snapshot_a = both_ways(expected, actual)
    with psycopg.connect(expected) as conn_e, psycopg.connect(actual) as conn_a:
        chosen = plan(take_fingerprints(conn_e), take_fingerprints(conn_a))
    assert chosen.expected is not None
    assert chosen.expected.bare_relations == chosen.expected.indexes == frozenset({entry})
    assert not chosen.expected.constraints | chosen.expected.policies | chosen.expected.triggers
    assert set(snapshot_e.relations) == set(snapshot_a.relations) == {"app.entry"}
    assert snapshot_e.indexes and not (snapshot_e.constraints or snapshot_e.policies or snapshot_e.triggers)
    assert messages(fast) == messages(full) and full


def test_renamed_columns_read_every_part(pair: tuple[str, str]) -> None:
    """Raw parts (check constraints, index keys) name columns by number: when a table's
    columns differ, all its parts are read, or a check over a renamed column would pass."""
    expected, actual = pair
    execute(actual, "alter table app.account rename column email to login")
    fast, full, snapshot_e, _ = both_ways(expected, actual)
    assert "app.account.account_email_check" in snapshot_e.constraints
    assert any("account_email_check" in f.message for f in full)
    assert messages(fast) == messages(full)

