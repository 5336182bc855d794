"""Catalog snapshots against a real server: every field, equality, round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from dragonfly_ci.postgres.catalog import (
    Column,
    Constraint,
    EventTrigger,
    Extension,
    Function,
    Index,
    Policy,
    Publication,
    Relation,
    Role,
    Schema,
    Snapshot,
    Trigger,
    Type,
    resolve_types,
    take_snapshot,
)
from dragonfly_ci.postgres.server import EmbeddedServer, create_database, start_embedded

# Roles belong to the cluster, not a database: made once for the module.
ROLES = """
create role anon nologin;
create role authenticated nologin;
create role service_role nologin bypassrls;
create role app_admin nologin in role service_role;
create role app_ops login in role app_admin;
create role app_user login in role authenticated;
create role app_noinherit nologin;
grant service_role to app_noinherit with inherit false;
"""

TYPES = [
    "create type app.status as enum ('new', 'active', 'closed')",
    """create domain app.positive as integer not null default 1
        constraint positive_check check (value > 0)""",
    "create type app.pair as (label text, amount numeric(10,2))",
    "create type app.span as range (subtype = integer)",
]

# The blocks of the application after its tables; no block depends on another,
# so building them in any order gives the same database.
BLOCKS = [
    """comment on schema app is 'application';
       grant usage on schema app to authenticated""",
    """comment on table app.account is 'customer accounts';
       comment on column app.account.email is 'login email'""",
    "create index entry_account_idx on app.entry (account_id) where note is not null",
    """grant select (id, email) on app.account to anon;
       grant select, insert on app.entry to authenticated""",
    """alter table app.entry enable row level security;
       alter table app.entry force row level security;
       create policy entry_owner on app.entry for select to authenticated
           using (account_id > 0);
       create policy entry_insert on app.entry as restrictive for insert
           to service_role, authenticated with check (amount is not null)""",
    """create function app.touch() returns trigger language plpgsql as $$
       begin new.note := coalesce(new.note, ''); return new; end $$;
       create trigger entry_touch before insert or update on app.entry
           for each row execute function app.touch()""",
    """create view app.active_accounts with (security_invoker = true) as
           select id, email from app.account where status = 'active'""",
    """create function app.claim(p_worker text, p_limit integer default 10)
           returns setof app.entry language plpgsql security definer
           set search_path = '' as $$
       begin return query select * from app.entry limit p_limit; end $$;
       comment on function app.claim(text, integer) is 'claim entries';
       revoke execute on function app.claim(text, integer) from public;
       grant execute on function app.claim(text, integer) to service_role""",
    """create function app.lookup(p_id bigint) returns table (id bigint, n integer)
           language sql stable as $$ select p_id, 1 $$;
       create function app.lookup(p_email text) returns bigint
           language sql stable strict as $$ select 1::bigint $$""",
    """create function app.split(in p text, out head text, out tail text)
           language sql immutable
           as $$ select split_part(p, ' ', 1), split_part(p, ' ', 2) $$""",
    """create function app.total(variadic amounts numeric[]) returns numeric
           language sql immutable strict parallel safe leakproof
           return (select sum(a) from unnest(amounts) a)""",
    """create procedure app.reset(in p_id bigint, inout n integer)
           language plpgsql as $$ begin n := 0; end $$""",
    "create aggregate app.concat_all(text) (sfunc = textcat, stype = text, initcond = '')",
    "create publication app_pub for table app.account, app.entry with (publish = 'insert')",
    """create function app.on_ddl() returns event_trigger language plpgsql
           as $$ begin null; end $$;
       create event trigger app_ddl on ddl_command_end when tag in ('CREATE TABLE')
           execute function app.on_ddl()""",
    """create table app.events (id bigint, at date not null) partition by range (at);
       create table app.events_2025 partition of app.events
           for values from ('2025-01-01') to ('2026-01-01')""",
    """create materialized view app.account_counts as
           select status, count(*) as n from app.account group by status;
       create unique index on app.account_counts (status)""",
    "create unlogged table app.scratch (id integer) with (fillfactor = 70, autovacuum_enabled = off)",
]

ACCOUNT = """create table app.account (
    id bigint generated always as identity primary key,{dropped}
    email extensions.citext not null unique,
    status app.status not null default 'new',
    balance numeric(12,2) default 0 check (balance >= 0),
    doubled numeric generated always as (balance * 2) stored,
    halved numeric generated always as (balance / 2),
    nickname text collate "C",
    created_at timestamptz not null default now()
)"""

ENTRY = """create table app.entry (
    id uuid primary key default gen_random_uuid(),
    account_id bigint not null references app.account (id) on delete cascade,
    amount app.positive,
    note text
)"""

SETUP = [
    "create schema extensions",
    "create extension citext schema extensions",
    "create extension pg_trgm schema extensions",
    "create schema app",
]


def app_sql(*, shuffled: bool = False) -> list[str]:
    """The application; `shuffled` builds the same thing in another order,
    with a column added and dropped on the way (a gap in attnum)."""
    if not shuffled:
        return [*SETUP, *TYPES, ACCOUNT.format(dropped=""), ENTRY, *BLOCKS]
    account = ACCOUNT.format(dropped="\n    scratch integer,")
    return [*SETUP, *reversed(TYPES), account, "alter table app.account drop column scratch",
            ENTRY, *reversed(BLOCKS)]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    srv = start_embedded()
    try:
        with psycopg.connect(srv.conninfo(), autocommit=True) as conn:
            conn.execute(ROLES)
        yield srv
    finally:
        srv.stop()


def new_database(server: EmbeddedServer, statements: list[str], template: str | None = None) -> str:
    name = create_database(server, template=template, prefix="catalog")
    with psycopg.connect(server.conninfo(name), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    return name


def snapshot_of(server: EmbeddedServer, name: str) -> Snapshot:
    with psycopg.connect(server.conninfo(name)) as conn:
        return take_snapshot(conn)


@pytest.fixture(scope="module")
def app_db(server: EmbeddedServer) -> str:
    return new_database(server, app_sql())


@pytest.fixture(scope="module")
def snap(server: EmbeddedServer, app_db: str) -> Snapshot:
    return snapshot_of(server, app_db)


OWNER_TABLE_PRIVILEGES = tuple(
    ("postgres", p) for p in
    ["DELETE", "INSERT", "MAINTAIN", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"]
)


def test_schemas_and_version(snap: Snapshot, server: EmbeddedServer) -> None:
    assert snap.server_version == server.version
    assert snap.schemas["app"] == Schema(
        name="app",
        owner="postgres",
        comment="application",
        privileges=(("authenticated", "USAGE"), ("postgres", "CREATE"), ("postgres", "USAGE")),
    )
    assert set(snap.schemas) == {"app", "extensions", "public"}


def test_table_columns_and_privileges(snap: Snapshot) -> None:
    account = snap.relation("app.account")
    assert account is not None
    assert (account.kind, account.owner, account.comment) == ("table", "postgres", "customer accounts")
    assert (account.rls_enabled, account.rls_forced, account.definition) == (False, False, None)
    assert account.privileges == OWNER_TABLE_PRIVILEGES
    assert [c.name for c in account.columns] == [
        "id", "email", "status", "balance", "doubled", "halved", "nickname", "created_at",
    ]
    none = {"default": None, "identity": None, "generated": None, "collation": None,
            "comment": None, "privileges": ()}
    assert account.column("id") == Column(
        **{**none, "name": "id", "type": "bigint", "base_type": "bigint", "not_null": True,
           "identity": "always", "privileges": (("anon", "SELECT"),)}
    )
    assert account.column("email") == Column(
        **{**none, "name": "email", "type": "extensions.citext", "base_type": "extensions.citext",
           "not_null": True, "comment": "login email", "privileges": (("anon", "SELECT"),)}
    )
    assert account.column("status") == Column(
        **{**none, "name": "status", "type": "app.status", "base_type": "app.status", "not_null": True,
           "default": "'new'::app.status"}
    )
    assert account.column("balance") == Column(
        **{**none, "name": "balance", "type": "numeric(12,2)", "base_type": "numeric",
           "not_null": False, "default": "0"}
    )
    balance = account.column("balance")
    assert balance is not None and balance.has_type("numeric") and balance.has_type("numeric(12,2)")
    assert not balance.has_type("integer")
    doubled, halved = account.column("doubled"), account.column("halved")
    assert doubled is not None and halved is not None
    assert (doubled.generated, doubled.generated_kind) == ("(balance * (2)::numeric)", "stored")
    assert (halved.generated, halved.generated_kind) == ("(balance / (2)::numeric)", "virtual")
    nickname = account.column("nickname")
    assert nickname is not None and nickname.collation == '"C"'
    created = account.column("created_at")
    assert created is not None
    assert (created.type, created.default) == ("timestamp with time zone", "now()")
    assert account.column("nope") is None

    entry = snap.relation("app.entry")
    assert entry is not None
    assert (entry.rls_enabled, entry.rls_forced) == (True, True)
    assert entry.privileges == (
        ("authenticated", "INSERT"), ("authenticated", "SELECT"), *OWNER_TABLE_PRIVILEGES,
    )
    amount = entry.column("amount")
    assert amount is not None and (amount.type, amount.not_null) == ("app.positive", False)


def test_sequences_views_and_partitions(snap: Snapshot) -> None:
    sequence = snap.relation("app.account_id_seq")
    assert sequence is not None
    assert (sequence.kind, sequence.columns) == ("sequence", ())
    assert ("postgres", "USAGE") in sequence.privileges

    view = snap.relation("app.active_accounts")
    assert view is not None
    assert view.kind == "view"
    assert view.options == ("security_invoker=true",)
    assert [(c.name, c.type) for c in view.columns] == [
        ("id", "bigint"), ("email", "extensions.citext"),
    ]
    assert view.definition is not None
    assert "FROM app.account" in view.definition
    assert "'active'::app.status" in view.definition

    counts = snap.relation("app.account_counts")
    assert counts is not None
    assert counts.kind == "materialized view"
    assert counts.definition == (
        " SELECT status,\n    count(*) AS n\n   FROM app.account\n  GROUP BY status;"
    )
    assert [(c.name, c.type) for c in counts.columns] == [("status", "app.status"), ("n", "bigint")]
    assert snap.indexes["app.account_counts_status_idx"].is_unique

    scratch = snap.relation("app.scratch")
    assert scratch is not None
    assert (scratch.unlogged, scratch.options) == (True, ("autovacuum_enabled=off", "fillfactor=70"))
    assert (account := snap.relation("app.account")) is not None and not account.unlogged

    parent, child = snap.relation("app.events"), snap.relation("app.events_2025")
    assert parent is not None and child is not None
    assert (parent.kind, parent.partition_key) == ("partitioned table", "RANGE (at)")
    assert (child.kind, child.parents) == ("table", ("app.events",))
    assert child.partition_bound == "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"


def test_indexes_and_constraints(snap: Snapshot) -> None:
    assert snap.indexes["app.entry_account_idx"] == Index(
        schema="app",
        table="entry",
        name="entry_account_idx",
        definition="CREATE INDEX entry_account_idx ON app.entry USING btree (account_id)"
        " WHERE (note IS NOT NULL)",
        is_primary=False,
        is_unique=False,
        constraint=None,
    )
    pkey = snap.indexes["app.account_pkey"]
    assert (pkey.is_primary, pkey.is_unique, pkey.constraint) == (True, True, "account_pkey")
    assert snap.indexes["app.account_email_key"].constraint == "account_email_key"

    def constraint(table: str, name: str) -> tuple[str, str]:
        c = snap.constraints[f"app.{table}.{name}"]
        assert c == Constraint("app", table, name, c.type, c.definition)
        return c.type, c.definition

    assert constraint("account", "account_pkey") == ("primary key", "PRIMARY KEY (id)")
    assert constraint("account", "account_email_key") == ("unique", "UNIQUE (email)")
    assert constraint("account", "account_balance_check") == (
        "check", "CHECK ((balance >= (0)::numeric))",
    )
    assert constraint("entry", "entry_account_id_fkey") == (
        "foreign key",
        "FOREIGN KEY (account_id) REFERENCES app.account(id) ON DELETE CASCADE",
    )
    # PostgreSQL 18 records NOT NULL as named constraints.
    assert constraint("account", "account_email_not_null") == ("not null", "NOT NULL email")


def test_policies_and_triggers(snap: Snapshot) -> None:
    assert snap.policies["app.entry.entry_owner"] == Policy(
        schema="app", table="entry", name="entry_owner", command="SELECT", permissive=True,
        roles=("authenticated",), using="(account_id > 0)", with_check=None,
    )
    assert snap.policies["app.entry.entry_insert"] == Policy(
        schema="app", table="entry", name="entry_insert", command="INSERT", permissive=False,
        roles=("authenticated", "service_role"), using=None,
        with_check="(amount IS NOT NULL)",
    )
    assert snap.triggers == {
        "app.entry.entry_touch": Trigger(
            schema="app", table="entry", name="entry_touch", enabled="enabled",
            definition="CREATE TRIGGER entry_touch BEFORE INSERT OR UPDATE ON app.entry"
            " FOR EACH ROW EXECUTE FUNCTION app.touch()",
        )
    }
    assert snap.event_triggers == {
        "app_ddl": EventTrigger(name="app_ddl", event="ddl_command_end",
                                function="app.on_ddl", enabled="enabled",
                                tags=("CREATE TABLE",))
    }


def test_types(snap: Snapshot) -> None:
    common = {"labels": (), "base_type": None, "not_null": False, "default": None,
              "constraints": (), "attributes": (), "comment": None, "extension": None}
    assert snap.types["app.status"] == Type(
        **{**common, "schema": "app", "name": "status", "kind": "enum",
           "labels": ("new", "active", "closed")}
    )
    assert snap.types["app.positive"] == Type(
        **{**common, "schema": "app", "name": "positive", "kind": "domain",
           "base_type": "integer", "not_null": True, "default": "1",
           "constraints": ('CONSTRAINT positive_check CHECK ((VALUE > 0))',
                           "CONSTRAINT positive_not_null NOT NULL")}
    )
    assert snap.types["app.pair"] == Type(
        **{**common, "schema": "app", "name": "pair", "kind": "composite",
           "attributes": (("label", "text"), ("amount", "numeric(10,2)"))}
    )
    assert snap.types["app.span"] == Type(
        **{**common, "schema": "app", "name": "span", "kind": "range", "base_type": "integer"}
    )
    # Neither row types of tables nor array or multirange types are listed.
    assert not {"app.account", "app._status", "app.span_multirange", "extensions._citext"} & set(
        snap.types
    )


def test_functions(snap: Snapshot) -> None:
    claim = snap.functions["app.claim(text, integer)"]
    assert claim == Function(
        schema="app",
        name="claim",
        kind="function",
        arg_types=("text", "integer"),
        arg_names=("p_worker", "p_limit"),
        arg_defaults=("10",),
        all_args="p_worker text, p_limit integer DEFAULT 10",
        result="SETOF app.entry",
        returns_set=True,
        language="plpgsql",
        volatility="volatile",
        security_definer=True,
        strict=False,
        leakproof=False,
        parallel="unsafe",
        config=('search_path=""',),
        body="\n       begin return query select * from app.entry limit p_limit; end ",
        owner="postgres",
        execute=("postgres", "service_role"),
        comment="claim entries",
        extension=None,
    )
    assert (claim.identity, claim.qualified_name) == ("app.claim(text, integer)", "app.claim")

    lookups = snap.functions_named("app.lookup")
    assert [f.identity for f in lookups] == ["app.lookup(bigint)", "app.lookup(text)"]
    by_id, by_email = lookups
    assert (by_id.result, by_id.returns_set, by_id.volatility) == (
        "TABLE(id bigint, n integer)", True, "stable",
    )
    assert (by_email.result, by_email.strict, by_email.execute) == (
        "bigint", True, ("PUBLIC", "postgres"),
    )

    split = snap.functions["app.split(text)"]
    assert (split.arg_names, split.all_args, split.result) == (
        ("p",), "p text, OUT head text, OUT tail text", "record",
    )

    total = snap.functions["app.total(numeric[])"]
    assert (total.all_args, total.parallel, total.leakproof, total.volatility) == (
        "VARIADIC amounts numeric[]", "safe", True, "immutable",
    )
    assert total.body == "RETURN (SELECT sum(a.a) AS sum FROM unnest(total.amounts) a(a))"

    reset = snap.functions["app.reset(bigint, integer)"]
    assert (reset.kind, reset.result, reset.arg_names) == ("procedure", "", ("p_id", "n"))
    assert snap.functions["app.concat_all(text)"].kind == "aggregate"


def test_extension_objects_are_marked(snap: Snapshot) -> None:
    assert snap.extensions["citext"] == Extension(
        name="citext", version="1.8", schema="extensions",
    )
    assert snap.extensions["pg_trgm"].schema == "extensions"
    assert snap.extensions["plpgsql"].schema == "pg_catalog"
    citext = snap.types["extensions.citext"]
    assert (citext.kind, citext.extension) == ("base", "citext")
    assert snap.functions["extensions.similarity(text, text)"].extension == "pg_trgm"
    assert all(f.extension for f in snap.functions.values() if f.schema == "extensions")
    assert not any(f.extension for f in snap.functions.values() if f.schema == "app")


def test_roles_publications(snap: Snapshot) -> None:
    assert snap.roles["app_ops"] == Role(
        name="app_ops", superuser=False, inherit=True, login=True, bypassrls=False,
        member_of=("app_admin",), inherits_from=("app_admin",),
    )
    noinherit = snap.roles["app_noinherit"]
    assert (noinherit.member_of, noinherit.inherits_from) == (("service_role",), ())
    assert snap.roles["service_role"].bypassrls
    assert snap.roles["postgres"].superuser
    assert snap.publications["app_pub"] == Publication(
        name="app_pub", all_tables=False, tables=("app.account", "app.entry"),
        schemas=(), operations=("insert",),
    )


def test_role_holds(snap: Snapshot) -> None:
    claim = snap.functions["app.claim(text, integer)"].execute
    assert snap.role_holds("service_role", claim)
    assert snap.role_holds("app_ops", claim)  # through app_admin, transitively
    assert snap.role_holds("postgres", claim)  # superuser
    assert not snap.role_holds("app_noinherit", claim)  # member, but WITH INHERIT FALSE
    assert not snap.role_holds("authenticated", claim)
    assert not snap.role_holds("anon", claim)
    assert not snap.role_holds("no_such_role", claim)
    lookup = snap.functions["app.lookup(text)"].execute
    assert snap.role_holds("anon", lookup) and snap.role_holds("no_such_role", lookup)

    entry = snap.relations["app.entry"].privileges
    assert snap.has_privilege("app_user", entry, "INSERT")
    assert not snap.has_privilege("app_user", entry, "DELETE")
    assert snap.has_privilege("app_ops", claim)

    # Hand-written roles without inherits_from follow `inherit`.
    manual = Snapshot.from_dict({**snap.to_dict(), "roles": {
        "a": {"name": "a", "superuser": False, "inherit": True, "login": True,
              "bypassrls": False, "member_of": ["b"]},
        "b": {"name": "b", "superuser": False, "inherit": False, "login": False,
              "bypassrls": False, "member_of": ["c"]},
    }})
    assert manual.role_holds("a", ["b"])
    assert not manual.role_holds("a", ["c"])  # b does not inherit c


def test_same_sql_in_another_order_gives_equal_snapshots(
    server: EmbeddedServer, snap: Snapshot
) -> None:
    other = snapshot_of(server, new_database(server, app_sql(shuffled=True)))
    assert other == snap
    assert other.to_dict() == snap.to_dict()


@pytest.mark.parametrize(
    ("change", "section", "key"),
    [
        ("""create or replace function app.touch() returns trigger language plpgsql as $$
            begin new.note := coalesce(new.note, '-'); return new; end $$""",
         "functions", "app.touch()"),
        ("comment on table app.account is 'accounts'", "relations", "app.account"),
        ("comment on function app.claim(text, integer) is null", "functions",
         "app.claim(text, integer)"),
        ("grant execute on function app.claim(text, integer) to anon", "functions",
         "app.claim(text, integer)"),
        ("revoke insert on app.entry from authenticated", "relations", "app.entry"),
        ("alter table app.account alter column balance set default 1", "relations",
         "app.account"),
        ("alter policy entry_owner on app.entry using (account_id > 1)", "policies",
         "app.entry.entry_owner"),
        ("alter policy entry_owner on app.entry to anon", "policies", "app.entry.entry_owner"),
        ("alter function app.total(numeric[]) stable", "functions", "app.total(numeric[])"),
        ("alter type app.status add value 'archived'", "types", "app.status"),
        ("alter table app.entry disable trigger entry_touch", "triggers", "app.entry.entry_touch"),
        ("alter publication app_pub drop table app.entry", "publications", "app_pub"),
    ],
)
def test_a_change_makes_snapshots_unequal(
    server: EmbeddedServer, app_db: str, snap: Snapshot, change: str, section: str, key: str
) -> None:
    changed = snapshot_of(server, new_database(server, [change], template=app_db))
    assert changed != snap
    differing = {
        name for name in ("schemas", "functions", "relations", "indexes", "constraints",
                          "policies", "triggers", "types", "publications")
        for k in set(getattr(snap, name)) | set(getattr(changed, name))
        if getattr(snap, name).get(k) != getattr(changed, name).get(k)
    }
    assert differing == {section}
    assert getattr(snap, section)[key] != getattr(changed, section)[key]


def test_dict_round_trip(snap: Snapshot) -> None:
    data = snap.to_dict()
    assert Snapshot.from_dict(data) == snap
    restored = Snapshot.from_dict(json.loads(json.dumps(data)))
    assert restored == snap
    assert isinstance(restored.relations["app.account"].columns[0], Column)
    assert isinstance(restored.relations["app.account"], Relation)
    # Sections added after a snapshot was stored come back empty.
    del data["event_triggers"]
    assert Snapshot.from_dict(data).event_triggers == {}


def test_without_schemas(snap: Snapshot) -> None:
    app_only = snap.without_schemas(["extensions", "public"])
    assert set(app_only.schemas) == {"app"}
    assert {f.schema for f in app_only.functions.values()} == {"app"}
    assert "extensions.citext" not in app_only.types
    assert app_only.extensions == snap.extensions  # extensions belong to the database
    no_app = snap.without_schemas(["app"])
    assert not no_app.relations and not no_app.policies and not no_app.constraints
    assert no_app.publications["app_pub"].tables == ()
    assert snap.relations["app.account"]  # the original is untouched


def test_session_state_is_left_alone(server: EmbeddedServer, app_db: str, snap: Snapshot) -> None:
    with psycopg.connect(server.conninfo(app_db), autocommit=True, row_factory=dict_row) as conn:
        conn.execute("set search_path = app, extensions")
        conn.execute("create temporary table scratch (id integer)")  # pg_temp_N is left out
        # Names come out qualified even when the session could see them unqualified.
        assert take_snapshot(conn) == snap
        assert conn.execute("show search_path").fetchone() == {"search_path": "app, extensions"}
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    with psycopg.connect(server.conninfo(app_db)) as conn:
        conn.execute("set local search_path = app")  # inside the caller's own transaction
        assert take_snapshot(conn) == snap
        assert resolve_types(conn, ["status"], search_path="app") == {"status": "app.status"}
        assert conn.execute("show search_path").fetchone() == ("app",)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
        assert conn.execute("show search_path").fetchone() == ('"$user", public',)


def test_resolve_types(server: EmbeddedServer) -> None:
    name = new_database(server, [
        "create schema ops", "create type ops.job_status as enum ('queued', 'done')",
    ])
    expected = {
        "TEXT[]": "text[]", "text[]": "text[]", "_text": "text[]",
        "INTEGER": "integer", "int4": "integer", "int": "integer",
        "TIMESTAMPTZ": "timestamp with time zone",
        "timestamp with time zone": "timestamp with time zone",
        "uuid": "uuid", "character varying(20)": "character varying",
        "ops.job_status": "ops.job_status", "ops.job_status[]": "ops.job_status[]",
        "job_status": None,  # ops is not on the search path
        "nosuchtype": None, "int int int": None, "foo.": None, "a.b.c.d": None, "": None,
    }
    with psycopg.connect(server.conninfo(name), autocommit=True) as conn:
        assert resolve_types(conn, expected) == expected
        assert resolve_types(conn, ["job_status"], search_path="ops") == {
            "job_status": "ops.job_status",
        }
        assert resolve_types(conn, []) == {}
        assert conn.execute("show search_path").fetchone() == ('"$user", public',)
        # The helper function is gone with the rolled-back transaction.
        assert conn.execute("select to_regproc('pg_temp.dragonfly_regtype')").fetchone() == (None,)


def test_empty_database(server: EmbeddedServer) -> None:
    snap = snapshot_of(server, new_database(server, []))
    assert set(snap.schemas) == {"public"}
    assert not (snap.functions or snap.relations or snap.types or snap.publications)
    assert set(snap.extensions) == {"plpgsql"}
