"""The Supabase platform bootstrap and the stand-in extensions, on a real server.

One embedded PostgreSQL 18 server serves the whole module. Each test works in
databases of its own, made with `create_database`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from dragonfly_ci.postgres.platform import STAND_IN_EXTENSIONS, bootstrap
from dragonfly_ci.postgres.server import (
    EmbeddedServer,
    create_database,
    drop_database,
    stand_ins_dir,
    start_embedded,
)

MIGRATIONS_DIR = Path(__file__).parent / "fixtures" / "platform_project" / "supabase" / "migrations"
MIGRATIONS = sorted(MIGRATIONS_DIR.glob("*.sql"))
USER_ID = "8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e"
OTHER_ID = "0b4f7c1e-5a55-4d0e-8f7d-6a2b6f1d2c3e"
RACE_HOLD_S = 0.3


@dataclass
class Race:
    """Two databases bootstrapped at once on a server that had no platform roles yet."""

    roles_before: int
    databases: tuple[str, str]
    errors: list[BaseException]
    waited_s: float


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[EmbeddedServer, Race]]:
    server = start_embedded()
    try:
        race = _bootstrap_race(server)
        yield server, race
    finally:
        server.stop()


def _bootstrap_race(server: EmbeddedServer) -> Race:
    """Session A bootstraps and holds its transaction open while session B, in
    another database, bootstraps too: B must wait on A's uncommitted roles and
    then treat them as created, not fail."""
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        roles_before = admin.execute(
            "select count(*) from pg_roles where rolname in ('anon', 'authenticated', 'service_role')"
        ).fetchone()[0]
    first, second = create_database(server, prefix="race"), create_database(server, prefix="race")
    failures: list[BaseException] = []
    waited: list[float] = []

    def other_session() -> None:
        try:
            with psycopg.connect(server.conninfo(second), autocommit=True) as conn:
                started = time.monotonic()
                bootstrap(conn, "supabase")
                waited.append(time.monotonic() - started)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    with psycopg.connect(server.conninfo(first)) as conn:  # one explicit transaction
        bootstrap(conn, "supabase")
        thread = threading.Thread(target=other_session)
        thread.start()
        time.sleep(RACE_HOLD_S)
        conn.commit()
    thread.join(30)
    return Race(roles_before, (first, second), failures, waited[0] if waited else -1.0)


@pytest.fixture(scope="module")
def server(cluster: tuple[EmbeddedServer, Race]) -> EmbeddedServer:
    return cluster[0]


def connect(server: EmbeddedServer, dbname: str) -> psycopg.Connection:
    return psycopg.connect(server.conninfo(dbname), autocommit=True)


def fresh(server: EmbeddedServer, platform: str = "supabase") -> str:
    name = create_database(server)
    with connect(server, name) as conn:
        bootstrap(conn, platform)
    return name


def apply_migrations(conn: psycopg.Connection) -> None:
    for path in MIGRATIONS:
        try:
            conn.execute(path.read_text())
        except psycopg.Error as exc:
            raise AssertionError(f"{path.name} did not apply: {exc}") from exc


@pytest.fixture(scope="module")
def project(server: EmbeddedServer) -> str:
    """A database with the bootstrap and every fixture migration applied."""
    name = fresh(server)
    with connect(server, name) as conn:
        apply_migrations(conn)
    return name


def one(conn: psycopg.Connection, sql: str, *params: object) -> object:
    row = conn.execute(sql, params or None).fetchone()
    assert row is not None
    return row[0]


# --- the bootstrap ------------------------------------------------------------


def test_bootstrap_races_in_two_databases_of_one_server(cluster: tuple[EmbeddedServer, Race]) -> None:
    server, race = cluster
    assert race.roles_before == 0, "the race must run before anything created the platform roles"
    assert race.errors == []
    assert race.waited_s >= RACE_HOLD_S * 0.8, "the second session did not wait on the first one's roles"
    for name in race.databases:
        with connect(server, name) as conn:
            assert one(conn, "select to_regprocedure('auth.uid()') is not null")
            assert one(conn, "select count(*) from pg_publication where pubname = 'supabase_realtime'") == 1


def test_roles_match_hosted_supabase(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        roles = {
            row[0]: row[1:]
            for row in conn.execute(
                "select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper from pg_roles"
            )
        }
        for name in ("anon", "authenticated", "service_role"):
            assert roles[name][0] is False, f"{name} must not log in"
        assert roles["service_role"][2] is True
        assert roles["anon"][2] is False
        assert roles["authenticator"][:2] == (True, False)  # login, noinherit
        assert roles["supabase_admin"][3] is True  # we are superuser, so it is too
        for name in ("supabase_auth_admin", "supabase_storage_admin", "dashboard_user",
                     "supabase_realtime_admin", "pgbouncer"):
            assert name in roles
        members = {
            row[0]
            for row in conn.execute(
                "select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.roleid "
                "join pg_roles u on u.oid = m.member where u.rolname = 'authenticator'"
            )
        }
        assert {"anon", "authenticated", "service_role"} <= members


def test_schemas_extensions_and_search_path(server: EmbeddedServer) -> None:
    name = fresh(server)
    with connect(server, name) as conn:
        extensions = dict(conn.execute("select extname, extnamespace::regnamespace::text from pg_extension"))
        assert extensions["pgcrypto"] == "extensions"
        assert extensions["uuid-ossp"] == "extensions"
        assert extensions["supabase_vault"] == "vault"
        assert extensions["pg_stat_statements"] == "extensions"
        assert one(conn, "show search_path") == '"$user", public, extensions'
        assert one(conn, "select has_schema_privilege('anon', 'extensions', 'usage')")
        assert one(conn, "select has_schema_privilege('authenticated', 'auth', 'usage')")
    with connect(server, name) as later:  # the database default reaches new sessions
        assert one(later, "show search_path") == '"$user", public, extensions'
        assert one(later, "select length(gen_random_bytes(16))") == 16


def test_auth_tables_have_gotrue_columns(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        def columns(table: str) -> set[str]:
            return {r[0] for r in conn.execute(
                "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 "
                "and not attisdropped", (table,))}

        assert {"id", "email", "encrypted_password", "raw_user_meta_data", "raw_app_meta_data",
                "created_at", "updated_at", "phone", "is_anonymous", "is_sso_user", "confirmed_at",
                "email_confirmed_at", "banned_until", "deleted_at"} <= columns("auth.users")
        assert {"id", "user_id", "provider", "provider_id", "identity_data", "email"} <= columns(
            "auth.identities")
        assert {"id", "user_id", "aal", "not_after", "ip", "user_agent"} <= columns("auth.sessions")
        assert {"id", "token", "session_id", "parent", "revoked"} <= columns("auth.refresh_tokens")
        assert {"id", "user_id", "factor_type", "status", "secret"} <= columns("auth.mfa_factors")
        assert {"id", "payload", "ip_address"} <= columns("auth.audit_log_entries")
        assert {"path_tokens", "metadata", "owner", "owner_id", "user_metadata", "bucket_id",
                "name", "version"} <= columns("storage.objects")
        assert {"id", "name", "public", "file_size_limit", "allowed_mime_types"} <= columns(
            "storage.buckets")
        assert {"topic", "extension", "payload", "event", "private"} <= columns("realtime.messages")
        rls = dict(conn.execute(
            "select oid::regclass::text, relrowsecurity from pg_class "
            "where oid in ('storage.objects'::regclass, 'storage.buckets'::regclass)"))
        assert rls == {"storage.objects": True, "storage.buckets": True}


def test_bootstrap_twice_in_one_database(server: EmbeddedServer) -> None:
    name = fresh(server)
    with connect(server, name) as conn:
        conn.execute("insert into auth.users (id, email) values (%s, 'a@example.com')", (USER_ID,))
        bootstrap(conn, "supabase")
        bootstrap(conn, "supabase")
        assert one(conn, "select count(*) from auth.users") == 1
        assert one(conn, "select count(*) from pg_extension where extname = 'pgcrypto'") == 1


def test_platform_none_leaves_a_plain_database(server: EmbeddedServer) -> None:
    with connect(server, fresh(server, "none")) as conn:
        assert one(conn, "select to_regnamespace('auth')") is None
        assert one(conn, "select count(*) from pg_extension") == 1  # plpgsql only


def test_unknown_platform_is_refused(server: EmbeddedServer) -> None:
    with connect(server, create_database(server)) as conn, pytest.raises(ValueError):
        bootstrap(conn, "firebase")


def test_auth_helpers_read_the_jwt_claims(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        assert one(conn, "select auth.uid()") is None
        claims = {"sub": USER_ID, "role": "authenticated", "email": "a@example.com"}
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
        assert str(one(conn, "select auth.uid()")) == USER_ID
        assert one(conn, "select auth.role()") == "authenticated"
        assert one(conn, "select auth.email()") == "a@example.com"
        assert one(conn, "select auth.jwt() ->> 'sub'") == USER_ID
        conn.execute("select set_config('request.jwt.claim.sub', %s, false)", (OTHER_ID,))
        assert str(one(conn, "select auth.uid()")) == OTHER_ID  # the pre-v9 setting wins


def test_storage_path_helpers(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        assert one(conn, "select storage.foldername('a/b/c.png')") == ["a", "b"]
        assert one(conn, "select storage.filename('a/b/c.png')") == "c.png"
        assert one(conn, "select storage.extension('a/b/c.tar.gz')") == "gz"


# --- stand-in extensions --------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
def test_pgcrypto_digest_and_hmac_are_exact(server: EmbeddedServer, algorithm: str) -> None:
    with connect(server, fresh(server)) as conn:
        for data in (b"", b"abc", bytes(range(256)) * 3):
            assert one(conn, "select digest(%s::bytea, %s)", data, algorithm) == hashlib.new(
                algorithm, data).digest()
            for key in (b"key", b"k" * 200):
                assert one(conn, "select hmac(%s::bytea, %s::bytea, %s)", data, key, algorithm) == \
                    hmac.new(key, data, algorithm).digest()
        assert one(conn, "select encode(digest('abc', %s), 'hex')", algorithm) == hashlib.new(
            algorithm, b"abc").hexdigest()


def test_pgcrypto_digest_sha256_known_value(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        assert one(conn, "select encode(digest('abc', 'sha256'), 'hex')") == (
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        with pytest.raises(errors.ExternalRoutineInvocationException):
            conn.execute("select digest('abc', 'sha3')")


def test_pgcrypto_crypt_and_random(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        stored = one(conn, "select crypt('secret', gen_salt('bf'))")
        assert isinstance(stored, str)
        assert re.fullmatch(r"\$2a\$06\$[./A-Za-z0-9]{53}", stored)
        assert one(conn, "select crypt('secret', %s) = %s", stored, stored)
        assert not one(conn, "select crypt('wrong', %s) = %s", stored, stored)
        first, second = conn.execute("select gen_random_bytes(24), gen_random_bytes(24)").fetchone()
        assert len(first) == 24 and first != second
        assert one(conn, "select pgp_sym_decrypt(pgp_sym_encrypt('hi', 'k'), 'k')") == "hi"
        with pytest.raises(errors.ExternalRoutineInvocationException):
            conn.execute("select pgp_sym_decrypt(pgp_sym_encrypt('hi', 'k'), 'other')")
        assert one(conn, "select dearmor(armor('\\x0102ff'::bytea))") == b"\x01\x02\xff"


def test_uuid_ossp_matches_rfc_4122(server: EmbeddedServer) -> None:
    with connect(server, fresh(server)) as conn:
        assert one(conn, "select uuid_generate_v3(uuid_ns_dns(), 'www.example.com')") == uuid.uuid3(
            uuid.NAMESPACE_DNS, "www.example.com")
        assert one(conn, "select uuid_generate_v3(uuid_ns_url(), 'https://example.com/ä')") == \
            uuid.uuid3(uuid.NAMESPACE_URL, "https://example.com/ä")
        assert one(conn, "select uuid_generate_v5(uuid_ns_x500(), 'cn=x')") == uuid.uuid5(
            uuid.NAMESPACE_X500, "cn=x")
        assert one(conn, "select uuid_nil()") == uuid.UUID(int=0)
        assert one(conn, "select uuid_ns_oid()") == uuid.NAMESPACE_OID
        assert one(conn, "select uuid_generate_v4()").version == 4
        assert one(conn, "select uuid_generate_v1()").version == 1


def test_stand_in_signatures(server: EmbeddedServer) -> None:
    """Argument names, types, defaults and return types as the real extensions have them."""
    with connect(server, fresh(server)) as conn:
        for name, schema in (("pg_net", "extensions"), ("pg_cron", "pg_catalog"), ("pgmq", None),
                             ("http", "extensions"), ("pg_jsonschema", "extensions"),
                             ("wrappers", "extensions"), ("hypopg", "extensions"),
                             ("plpgsql_check", "extensions")):
            conn.execute(f'create extension "{name}"' + (f" with schema {schema}" if schema else ""))

        def signature(function: str) -> str:
            return one(conn, "select format('%%s.%%s(%%s) -> %%s', p.pronamespace::regnamespace, "
                       "p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid)) "
                       "from pg_proc p where p.oid = %s::regprocedure", function)

        assert signature("net.http_post(text, jsonb, jsonb, jsonb, integer)") == (
            "net.http_post(url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT "
            "'{}'::jsonb, headers jsonb DEFAULT '{\"Content-Type\": \"application/json\"}'::jsonb, "
            "timeout_milliseconds integer DEFAULT 5000) -> bigint")
        assert signature("net.http_delete(text, jsonb, jsonb, integer, jsonb)").endswith(
            "timeout_milliseconds integer DEFAULT 5000, body jsonb DEFAULT NULL::jsonb) -> bigint")
        assert signature("cron.schedule(text, text, text)") == (
            "cron.schedule(job_name text, schedule text, command text) -> bigint")
        assert signature("cron.schedule_in_database(text, text, text, text, text, boolean)") == (
            "cron.schedule_in_database(job_name text, schedule text, command text, database text, "
            "username text DEFAULT NULL::text, active boolean DEFAULT true) -> bigint")
        assert signature("cron.unschedule(text)") == "cron.unschedule(job_name text) -> boolean"
        assert signature("pgmq.send(text, jsonb, integer)") == (
            "pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0) -> SETOF bigint")
        assert signature("pgmq.read(text, integer, integer)") == (
            "pgmq.read(queue_name text, vt integer, qty integer) -> SETOF pgmq.message_record")
        assert signature("vault.create_secret(text, text, text, uuid)") == (
            "vault.create_secret(new_secret text, new_name text DEFAULT NULL::text, "
            "new_description text DEFAULT ''::text, new_key_id uuid DEFAULT NULL::uuid) -> uuid")
        assert signature("jsonb_matches_schema(json, jsonb)") == (
            "extensions.jsonb_matches_schema(schema json, instance jsonb) -> boolean")
        assert signature("http_post(character varying, character varying, character varying)") == (
            "extensions.http_post(uri character varying, content character varying, content_type character "
            "varying) -> http_response")
        assert signature("stripe_fdw_handler()") == "extensions.stripe_fdw_handler() -> fdw_handler"
        assert signature("stripe_fdw_validator(text[], oid)") == (
            "extensions.stripe_fdw_validator(options text[], catalog oid) -> void")
        assert signature("hypopg_create_index(text)") == (
            "extensions.hypopg_create_index(sql_order text, OUT indexrelid oid, OUT indexname text) -> "
            "SETOF record")
        assert one(conn, "select count(*) from pg_proc where proname = 'plpgsql_check_function_tb'") == 2
        # pg_cron's objects live in schema cron whatever WITH SCHEMA said
        assert one(conn, "select count(*) from pg_class where relname = 'job' "
                   "and relnamespace = 'cron'::regnamespace") == 1


def test_real_extensions_win_over_stand_ins(server: EmbeddedServer) -> None:
    """$system comes first in extension_control_path: a stand-in never shadows a real one."""
    with connect(server, "postgres") as conn:
        system = Path(str(one(conn, "select setting from pg_config where name = 'SHAREDIR'"))) / "extension"
    assert (system / "plpgsql.control").exists()
    shipped = {p.name.removesuffix(".control") for p in (stand_ins_dir() / "extension").glob("*.control")}
    assert shipped == set(STAND_IN_EXTENSIONS)
    for name in STAND_IN_EXTENSIONS:
        assert list((stand_ins_dir() / "extension").glob(f"{name}--*.sql")), f"{name} has no script"
        assert not (system / f"{name}.control").exists(), f"the server has a real {name}: drop the stand-in"
    decoy = server.root / "stand_ins" / "extension" / "citext.control"
    decoy.write_text("comment = 'decoy'\ndefault_version = '9.9'\nrelocatable = true\n")
    try:
        with connect(server, create_database(server)) as conn:
            assert one(conn, "show extension_control_path").startswith("$system:")
            assert one(conn, "select comment from pg_available_extensions where name = 'citext'") != "decoy"
            conn.execute("create extension citext")
            assert one(conn, "select extversion from pg_extension where extname = 'citext'") != "9.9"
            assert one(conn, "select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang "
                       "where p.proname = 'citext_cmp'") == "c"
            stand_in = one(conn, "select comment from pg_available_extensions where name = 'pgcrypto'")
            assert ("dragonfly-ci stand-in" in stand_in) != (system / "pgcrypto.control").exists()
    finally:
        decoy.unlink()


# --- the fixture project's migrations ---------------------------------------------


def test_fixture_names_follow_the_cli_pattern() -> None:
    assert len(MIGRATIONS) >= 12
    for path in MIGRATIONS:
        assert re.fullmatch(r"[0-9]{14}_[a-z0-9_]+\.sql", path.name), path.name


def test_every_fixture_migration_applies(server: EmbeddedServer, project: str) -> None:
    with connect(server, project) as conn:
        assert one(conn, "select to_regclass('public.profiles') is not null")
        assert one(conn, "select count(*) from cron.job where jobname = 'nightly-cleanup' "
                   "and schedule = '0 3 * * *'") == 1
        assert one(conn, "select decrypted_secret from vault.decrypted_secrets "
                   "where name = 'worker_token'") == "dev-only-token"
        assert one(conn, "select count(*) from pgmq.list_queues() where queue_name = 'jobs'") == 1
        assert one(conn, "select count(*) from pg_publication_tables "
                   "where pubname = 'supabase_realtime' and tablename = 'messages'") == 1
        assert one(conn, "select i.indisvalid from pg_index i "
                   "where i.indexrelid = 'public.messages_room_inserted_at_idx'::regclass")
        assert one(conn, "select count(*) from pg_foreign_table "
                   "where ftrelid = 'stripe.customers'::regclass") == 1
        assert one(conn, "select count(*) from pg_extension where extname = 'pg_trgm'") == 1


def test_fixture_project_behaves_like_hosted(server: EmbeddedServer, project: str) -> None:
    with connect(server, project) as conn, conn.transaction(force_rollback=True):
        conn.execute(
            "insert into auth.users (id, email, raw_user_meta_data) values (%s, 'a@example.com', %s)",
            (USER_ID, json.dumps({"full_name": "Ada Lovelace", "avatar_url": "https://x/a.png"})))
        assert one(conn, "select full_name from public.profiles where id = %s", USER_ID) == "Ada Lovelace"

        key = conn.execute("insert into public.api_keys (owner_id, name) values (%s, 'ci') "
                           "returning id, secret", (USER_ID,)).fetchone()
        assert key[0].version == 4 and re.fullmatch(r"[0-9a-f]{32}", key[1])
        queued = conn.execute("select method, url, headers ->> 'Content-Type' "
                              "from net.http_request_queue").fetchall()
        assert queued == [("POST", "https://worker.example.com/hooks/key-created", "application/json")]

        conn.execute("insert into public.user_settings values (%s, %s)",
                     (USER_ID, json.dumps({"theme": "dark", "digest_hour": 7})))
        with pytest.raises(errors.CheckViolation), conn.transaction():
            conn.execute("update public.user_settings set settings = %s",
                         (json.dumps({"theme": "blue"}),))

        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": USER_ID, "role": "authenticated"}),))
        conn.execute("set local role authenticated")
        conn.execute("insert into storage.objects (bucket_id, name) values ('avatars', %s)",
                     (f"{USER_ID}/me.png",))
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute("insert into storage.objects (bucket_id, name) values ('avatars', %s)",
                         (f"{OTHER_ID}/me.png",))


def test_a_database_copied_from_a_template_keeps_its_database_level_settings(pg_server) -> None:
    # CREATE DATABASE ... TEMPLATE copies no `alter database ... set`; the platform's search
    # path lives there, so a copy without it would resolve names differently.
    template = create_database(pg_server, prefix="settings")
    copy = None
    try:
        with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
            conn.execute(f'alter database "{template}" set search_path = "$user", public, extensions')
            conn.execute(f'alter database "{template}" set statement_timeout = \'5s\'')
        copy = create_database(pg_server, template=template, prefix="copy")
        with psycopg.connect(pg_server.conninfo(copy)) as conn:
            assert conn.execute("show search_path").fetchone()[0] == '"$user", public, extensions'
            assert conn.execute("show statement_timeout").fetchone()[0] == "5s"
    finally:
        for name in (copy, template):
            if name:
                drop_database(pg_server, name)
