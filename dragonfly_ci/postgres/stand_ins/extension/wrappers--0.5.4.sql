-- wrappers--0.5.4.sql: dragonfly-ci STAND-IN for supabase/wrappers 0.5.
--
-- This is not the real extension. For each native wrapper it creates
-- <name>_fdw_handler() RETURNS fdw_handler, <name>_fdw_validator(options text[],
-- catalog oid) RETURNS void and <name>_fdw_meta() RETURNS TABLE(name, version,
-- author, website), plus the wrappers_fdw_stats table, so that
--   CREATE FOREIGN DATA WRAPPER stripe_wrapper
--     HANDLER stripe_fdw_handler VALIDATOR stripe_fdw_validator;
-- and the CREATE SERVER / CREATE FOREIGN TABLE statements that follow apply.
-- A handler must be a C function returning fdw_handler, so each one points at
-- the server's postgres_fdw (or file_fdw) handler; the validator accepts every
-- option. Reading a foreign table fails: no remote system is ever contacted.

\echo Use "CREATE EXTENSION wrappers" to load this file. \quit

CREATE TABLE wrappers_fdw_stats (
    fdw_name text NOT NULL PRIMARY KEY,
    create_times bigint,
    rows_in bigint,
    rows_out bigint,
    bytes_in bigint,
    bytes_out bigint,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT timezone('utc'::text, now()),
    updated_at timestamptz NOT NULL DEFAULT timezone('utc'::text, now())
);
COMMENT ON TABLE wrappers_fdw_stats IS 'Wrappers Foreign Data Wrapper statistics';

DO $do$
DECLARE
  lib text;
  sym text;
  fdw text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw') THEN
    lib := '$libdir/postgres_fdw'; sym := 'postgres_fdw_handler';
  ELSIF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'file_fdw') THEN
    lib := '$libdir/file_fdw'; sym := 'file_fdw_handler';
  ELSE
    RAISE EXCEPTION 'the wrappers stand-in needs postgres_fdw or file_fdw on the server'
      USING ERRCODE = 'feature_not_supported';
  END IF;
  FOREACH fdw IN ARRAY ARRAY['airtable', 'auth0', 'big_query', 'click_house', 'cognito', 'firebase',
                             'hello_world', 'logflare', 'mssql', 'redis', 's3', 'stripe', 'wasm'] LOOP
    EXECUTE format('CREATE FUNCTION @extschema@.%I() RETURNS fdw_handler LANGUAGE c STRICT AS %L, %L',
                   fdw || '_fdw_handler', lib, sym);
    EXECUTE format('CREATE FUNCTION @extschema@.%I(options text[], catalog oid) RETURNS void
                    LANGUAGE plpgsql STRICT AS $fn$ BEGIN NULL; END $fn$', fdw || '_fdw_validator');
    EXECUTE format('CREATE FUNCTION @extschema@.%I()
                    RETURNS TABLE(name text, version text, author text, website text)
                    LANGUAGE sql STRICT AS $fn$ SELECT %L::text, %L::text, %L::text, %L::text $fn$',
                   fdw || '_fdw_meta', initcap(replace(fdw, '_', ' ')) || 'Fdw', '0.5.4',
                   'Supabase', 'https://github.com/supabase/wrappers');
  END LOOP;
END
$do$;
