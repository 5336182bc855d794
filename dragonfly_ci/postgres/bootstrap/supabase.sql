-- dragonfly-ci: make a fresh database look like a hosted Supabase project.
--
-- Run by dragonfly_ci.postgres.platform.bootstrap() as ONE multi-statement
-- string (one round trip, one implicit transaction) in a database a shadow is
-- built in, before the project's migrations. It provides what hosted Supabase
-- has before any migration runs: the roles, the schemas extensions, auth,
-- storage, realtime, vault and supabase_functions with the objects migrations
-- reference, the pre-installed extensions, the supabase_realtime publication,
-- Supabase's grants and default privileges, and the search path.
--
-- Shapes follow supabase/postgres (migrations/db/init-scripts), GoTrue's auth
-- schema, Storage's and Realtime's schemas as deployed in 2025/2026.
--
-- It must be idempotent and tolerant: it runs on the embedded server, on a
-- server the user provides (e.g. the supabase/postgres image, where roles and
-- schemas already exist and we may not own them), twice in one database, and
-- in several databases of one server at once. Hence IF NOT EXISTS / OR REPLACE
-- everywhere, roles created in blocks that treat "created meanwhile by another
-- session" as success, and sections that step aside with a WARNING when the
-- server does not let us touch what is already there.

SET LOCAL client_min_messages = warning;

-- Roles (cluster-wide) -------------------------------------------------------
-- `base` needs no privilege beyond CREATEROLE, `extra` may be refused to a
-- non-superuser (then the role is created without it), `su` is only asked for
-- when we are superuser.
DO $roles$
DECLARE
  su boolean := coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false);
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('anon',                     'NOLOGIN',                       '',                 ''),
      ('authenticated',            'NOLOGIN',                       '',                 ''),
      ('service_role',             'NOLOGIN',                       '',                 'BYPASSRLS'),
      ('authenticator',            'LOGIN NOINHERIT',               '',                 ''),
      ('supabase_admin',           'LOGIN',                         'CREATEDB CREATEROLE',
                                                                    'SUPERUSER REPLICATION BYPASSRLS'),
      ('supabase_auth_admin',      'LOGIN NOINHERIT NOREPLICATION', '',                 ''),
      ('supabase_storage_admin',   'LOGIN NOINHERIT NOREPLICATION', 'CREATEROLE',       ''),
      ('supabase_realtime_admin',  'LOGIN NOINHERIT',               'CREATEROLE',       'REPLICATION'),
      ('supabase_functions_admin', 'LOGIN NOINHERIT NOREPLICATION', 'CREATEROLE',       ''),
      ('dashboard_user',           'NOSUPERUSER NOLOGIN',           'CREATEDB CREATEROLE', 'REPLICATION'),
      ('pgbouncer',                'LOGIN',                         '',                 '')
    ) AS v(name, base, extra, su_only)
  LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name);
    BEGIN
      EXECUTE format('CREATE ROLE %I %s %s %s', r.name, r.base, r.extra,
                     CASE WHEN su THEN r.su_only ELSE '' END);
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- another session created it meanwhile
      WHEN insufficient_privilege THEN
        BEGIN
          EXECUTE format('CREATE ROLE %I %s', r.name, r.base);
        EXCEPTION
          WHEN duplicate_object OR unique_violation THEN NULL;
          WHEN insufficient_privilege THEN
            RAISE WARNING 'dragonfly-ci: could not create role %: %', r.name, SQLERRM;
        END;
    END;
  END LOOP;

  -- authenticator (PostgREST) and Realtime switch into the API roles.
  FOR r IN SELECT * FROM (VALUES
      ('anon', 'authenticator'), ('authenticated', 'authenticator'), ('service_role', 'authenticator'),
      ('anon', 'supabase_realtime_admin'), ('authenticated', 'supabase_realtime_admin'),
      ('service_role', 'supabase_realtime_admin')
    ) AS v(role, member)
  LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.role)
               OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.member)
               OR pg_has_role(r.member, r.role, 'MEMBER');
    BEGIN
      EXECUTE format('GRANT %I TO %I', r.role, r.member);
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege OR invalid_grant_operation THEN
        RAISE WARNING 'dragonfly-ci: could not grant % to %: %', r.role, r.member, SQLERRM;
    END;
  END LOOP;
END
$roles$;

-- Schema `extensions` and the extensions hosted projects pre-install --------
CREATE SCHEMA IF NOT EXISTS extensions;

DO $extensions$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT * FROM (VALUES
      ('uuid-ossp', 'extensions'), ('pgcrypto', 'extensions'),
      ('pg_stat_statements', 'extensions'), ('supabase_vault', NULL)  -- its control file says schema = vault
    ) AS v(name, target)
  LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = e.name);
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = e.name) THEN
      IF e.name <> 'pg_stat_statements' THEN
        RAISE WARNING 'dragonfly-ci: extension % is not available on this server; skipped', e.name;
      END IF;
      CONTINUE;
    END IF;
    BEGIN
      EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', e.name)
              || CASE WHEN e.target IS NULL THEN '' ELSE format(' WITH SCHEMA %I', e.target) END;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'dragonfly-ci: could not create extension %: %', e.name, SQLERRM;
    END;
  END LOOP;
END
$extensions$;

-- Schema `auth` (GoTrue) -----------------------------------------------------
DO $auth$
BEGIN
  CREATE SCHEMA IF NOT EXISTS auth;

  IF to_regtype('auth.aal_level') IS NULL THEN
    CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');
  END IF;
  IF to_regtype('auth.factor_type') IS NULL THEN
    CREATE TYPE auth.factor_type AS ENUM ('totp', 'webauthn', 'phone');
  END IF;
  IF to_regtype('auth.factor_status') IS NULL THEN
    CREATE TYPE auth.factor_status AS ENUM ('unverified', 'verified');
  END IF;
  IF to_regtype('auth.code_challenge_method') IS NULL THEN
    CREATE TYPE auth.code_challenge_method AS ENUM ('s256', 'plain');
  END IF;
  IF to_regtype('auth.one_time_token_type') IS NULL THEN
    CREATE TYPE auth.one_time_token_type AS ENUM (
      'confirmation_token', 'reauthentication_token', 'recovery_token',
      'email_change_token_new', 'email_change_token_current', 'phone_change_token');
  END IF;

  CREATE TABLE IF NOT EXISTS auth.users (
    instance_id uuid,
    id uuid NOT NULL,
    aud character varying(255),
    role character varying(255),
    email character varying(255),
    encrypted_password character varying(255),
    email_confirmed_at timestamp with time zone,
    invited_at timestamp with time zone,
    confirmation_token character varying(255),
    confirmation_sent_at timestamp with time zone,
    recovery_token character varying(255),
    recovery_sent_at timestamp with time zone,
    email_change_token_new character varying(255),
    email_change character varying(255),
    email_change_sent_at timestamp with time zone,
    last_sign_in_at timestamp with time zone,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    phone text DEFAULT NULL::character varying,
    phone_confirmed_at timestamp with time zone,
    phone_change text DEFAULT ''::character varying,
    phone_change_token character varying(255) DEFAULT ''::character varying,
    phone_change_sent_at timestamp with time zone,
    confirmed_at timestamp with time zone GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    email_change_token_current character varying(255) DEFAULT ''::character varying,
    email_change_confirm_status smallint DEFAULT 0,
    banned_until timestamp with time zone,
    reauthentication_token character varying(255) DEFAULT ''::character varying,
    reauthentication_sent_at timestamp with time zone,
    is_sso_user boolean DEFAULT false NOT NULL,
    deleted_at timestamp with time zone,
    is_anonymous boolean DEFAULT false NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_phone_key UNIQUE (phone),
    CONSTRAINT users_email_change_confirm_status_check
      CHECK (((email_change_confirm_status >= 0) AND (email_change_confirm_status <= 2)))
  );
  CREATE UNIQUE INDEX IF NOT EXISTS users_email_partial_key ON auth.users (email) WHERE (is_sso_user = false);
  CREATE INDEX IF NOT EXISTS users_instance_id_idx ON auth.users (instance_id);
  CREATE INDEX IF NOT EXISTS users_is_anonymous_idx ON auth.users (is_anonymous);
  COMMENT ON TABLE auth.users IS 'Auth: Stores user login data within a secure schema.';
  COMMENT ON COLUMN auth.users.is_sso_user IS
    'Auth: Set this column to true when the account comes from SSO. These accounts can have duplicate emails.';

  CREATE TABLE IF NOT EXISTS auth.identities (
    provider_id text NOT NULL,
    user_id uuid NOT NULL,
    identity_data jsonb NOT NULL,
    provider text NOT NULL,
    last_sign_in_at timestamp with time zone,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    email text GENERATED ALWAYS AS (lower((identity_data ->> 'email'::text))) STORED,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    CONSTRAINT identities_pkey PRIMARY KEY (id),
    CONSTRAINT identities_provider_id_provider_unique UNIQUE (provider_id, provider),
    CONSTRAINT identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS identities_user_id_idx ON auth.identities (user_id);
  CREATE INDEX IF NOT EXISTS identities_email_idx ON auth.identities (email text_pattern_ops);
  COMMENT ON TABLE auth.identities IS 'Auth: Stores identities associated to a user.';
  COMMENT ON COLUMN auth.identities.email IS
    'Auth: Email is a generated column that references the optional email property in the identity_data';

  CREATE TABLE IF NOT EXISTS auth.sessions (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    factor_id uuid,
    aal auth.aal_level,
    not_after timestamp with time zone,
    refreshed_at timestamp without time zone,
    user_agent text,
    ip inet,
    tag text,
    oauth_client_id uuid,
    refresh_token_hmac_key text,
    refresh_token_counter bigint,
    scopes text,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE,
    CONSTRAINT sessions_scopes_length CHECK ((char_length(scopes) <= 4096))
  );
  CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON auth.sessions (user_id);
  COMMENT ON TABLE auth.sessions IS 'Auth: Stores session data associated to a user.';

  CREATE TABLE IF NOT EXISTS auth.refresh_tokens (
    instance_id uuid,
    id bigserial NOT NULL,
    token character varying(255),
    user_id character varying(255),
    revoked boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    parent character varying(255),
    session_id uuid,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_unique UNIQUE (token),
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id)
      REFERENCES auth.sessions(id) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS refresh_tokens_instance_id_user_id_idx ON auth.refresh_tokens (instance_id, user_id);
  COMMENT ON TABLE auth.refresh_tokens IS 'Auth: Store of tokens used to refresh JWT tokens once they expire.';

  CREATE TABLE IF NOT EXISTS auth.mfa_factors (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    friendly_name text,
    factor_type auth.factor_type NOT NULL,
    status auth.factor_status NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    secret text,
    phone text,
    last_challenged_at timestamp with time zone,
    web_authn_credential jsonb,
    web_authn_aaguid uuid,
    last_webauthn_challenge_data jsonb,
    CONSTRAINT mfa_factors_pkey PRIMARY KEY (id),
    CONSTRAINT mfa_factors_last_challenged_at_key UNIQUE (last_challenged_at),
    CONSTRAINT mfa_factors_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE
  );
  CREATE INDEX IF NOT EXISTS mfa_factors_user_id_idx ON auth.mfa_factors (user_id);
  COMMENT ON TABLE auth.mfa_factors IS 'auth: stores metadata about factors';

  CREATE TABLE IF NOT EXISTS auth.audit_log_entries (
    instance_id uuid,
    id uuid NOT NULL,
    payload json,
    created_at timestamp with time zone,
    ip_address character varying(64) DEFAULT ''::character varying NOT NULL,
    CONSTRAINT audit_log_entries_pkey PRIMARY KEY (id)
  );
  CREATE INDEX IF NOT EXISTS audit_logs_instance_id_idx ON auth.audit_log_entries (instance_id);
  COMMENT ON TABLE auth.audit_log_entries IS 'Auth: Audit trail for user actions.';

  CREATE TABLE IF NOT EXISTS auth.instances (
    id uuid NOT NULL,
    uuid uuid,
    raw_base_config text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT instances_pkey PRIMARY KEY (id)
  );
  COMMENT ON TABLE auth.instances IS 'Auth: Manages users across multiple sites.';

  -- GoTrue enables RLS on its tables (20240612123726_enable_rls_update_grants).
  ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.identities ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.mfa_factors ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.audit_log_entries ENABLE ROW LEVEL SECURITY;
  ALTER TABLE auth.instances ENABLE ROW LEVEL SECURITY;

  -- The claim helpers exactly as GoTrue defines them: PostgREST sets
  -- request.jwt.claims (and, before v9, request.jwt.claim.<name>).
  CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
  LANGUAGE sql STABLE AS $fn$
    select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
  $fn$;
  COMMENT ON FUNCTION auth.uid() IS 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

  CREATE OR REPLACE FUNCTION auth.role() RETURNS text
  LANGUAGE sql STABLE AS $fn$
    select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
  $fn$;
  COMMENT ON FUNCTION auth.role() IS 'Deprecated. Use auth.jwt() -> ''role'' instead.';

  CREATE OR REPLACE FUNCTION auth.email() RETURNS text
  LANGUAGE sql STABLE AS $fn$
    select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
  $fn$;
  COMMENT ON FUNCTION auth.email() IS 'Deprecated. Use auth.jwt() -> ''email'' instead.';

  CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
  LANGUAGE sql STABLE AS $fn$
    select
      coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
  $fn$;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: left schema auth as the server has it: %', SQLERRM;
END
$auth$;

-- Schema `storage` -------------------------------------------------------------
DO $storage$
BEGIN
  CREATE SCHEMA IF NOT EXISTS storage;

  IF to_regtype('storage.buckettype') IS NULL THEN
    CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS', 'VECTOR');
  END IF;

  CREATE TABLE IF NOT EXISTS storage.buckets (
    id text NOT NULL,
    name text NOT NULL,
    owner uuid,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now(),
    public boolean DEFAULT false,
    avif_autodetection boolean DEFAULT false,
    file_size_limit bigint,
    allowed_mime_types text[],
    owner_id text,
    type storage.buckettype DEFAULT 'STANDARD'::storage.buckettype NOT NULL,
    CONSTRAINT buckets_pkey PRIMARY KEY (id)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS bname ON storage.buckets (name);
  COMMENT ON COLUMN storage.buckets.owner IS 'Field is deprecated, use owner_id instead';

  CREATE TABLE IF NOT EXISTS storage.objects (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    bucket_id text,
    name text,
    owner uuid,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now(),
    last_accessed_at timestamp with time zone DEFAULT now(),
    metadata jsonb,
    path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/'::text)) STORED,
    version text,
    owner_id text,
    user_metadata jsonb,
    CONSTRAINT objects_pkey PRIMARY KEY (id),
    CONSTRAINT "objects_bucketId_fkey" FOREIGN KEY (bucket_id) REFERENCES storage.buckets(id)
  );
  CREATE UNIQUE INDEX IF NOT EXISTS bucketid_objname ON storage.objects (bucket_id, name);
  CREATE INDEX IF NOT EXISTS name_prefix_search ON storage.objects (name text_pattern_ops);
  COMMENT ON COLUMN storage.objects.owner IS 'Field is deprecated, use owner_id instead';

  ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
  ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

  -- The path helpers policies use, exactly as Storage defines them.
  CREATE OR REPLACE FUNCTION storage.foldername(name text) RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE AS $fn$
  DECLARE
      _parts text[];
  BEGIN
      -- Split on "/" to get path segments
      SELECT string_to_array(name, '/') INTO _parts;
      -- Return everything except the last segment
      RETURN _parts[1 : array_length(_parts,1) - 1];
  END
  $fn$;

  CREATE OR REPLACE FUNCTION storage.filename(name text) RETURNS text
  LANGUAGE plpgsql AS $fn$
  DECLARE
  _parts text[];
  BEGIN
  	select string_to_array(name, '/') into _parts;
  	return _parts[array_length(_parts,1)];
  END
  $fn$;

  CREATE OR REPLACE FUNCTION storage.extension(name text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE AS $fn$
  DECLARE
      _parts text[];
      _filename text;
  BEGIN
      SELECT string_to_array(name, '/') INTO _parts;
      SELECT _parts[array_length(_parts,1)] INTO _filename;
      RETURN reverse(split_part(reverse(_filename), '.', 1));
  END
  $fn$;

  CREATE OR REPLACE FUNCTION storage.get_size_by_bucket()
  RETURNS TABLE(size bigint, bucket_id text)
  LANGUAGE plpgsql STABLE AS $fn$
  BEGIN
      return query
          select sum((metadata->>'size')::bigint) as size, obj.bucket_id
          from "storage".objects as obj
          group by obj.bucket_id;
  END
  $fn$;

  CREATE OR REPLACE FUNCTION storage.update_updated_at_column() RETURNS trigger
  LANGUAGE plpgsql AS $fn$
  BEGIN
      NEW.updated_at = now();
      RETURN NEW;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION storage.enforce_bucket_name_length() RETURNS trigger
  LANGUAGE plpgsql AS $fn$
  begin
      if length(new.name) > 100 then
          raise exception 'bucket name "%" is too long (% characters). Max is 100.', new.name, length(new.name);
      end if;
      return new;
  end;
  $fn$;

  CREATE OR REPLACE TRIGGER update_objects_updated_at
    BEFORE UPDATE ON storage.objects
    FOR EACH ROW EXECUTE FUNCTION storage.update_updated_at_column();
  CREATE OR REPLACE TRIGGER enforce_bucket_name_length_trigger
    BEFORE INSERT OR UPDATE OF name ON storage.buckets
    FOR EACH ROW EXECUTE FUNCTION storage.enforce_bucket_name_length();
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: left schema storage as the server has it: %', SQLERRM;
END
$storage$;

-- Schema `realtime` ----------------------------------------------------------
DO $realtime$
BEGIN
  CREATE SCHEMA IF NOT EXISTS realtime;

  -- Realtime adds a partition per day; a shadow database has none, so
  -- realtime.send() reports a WARNING instead of storing, as on a failed insert.
  CREATE TABLE IF NOT EXISTS realtime.messages (
    topic text NOT NULL,
    extension text NOT NULL,
    payload jsonb,
    event text,
    private boolean DEFAULT false,
    updated_at timestamp without time zone DEFAULT now() NOT NULL,
    inserted_at timestamp without time zone DEFAULT now() NOT NULL,
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    CONSTRAINT messages_pkey PRIMARY KEY (id, inserted_at)
  ) PARTITION BY RANGE (inserted_at);
  ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;

  CREATE OR REPLACE FUNCTION realtime.topic() RETURNS text
  LANGUAGE sql STABLE AS $fn$
  select nullif(current_setting('realtime.topic', true), '')::text;
  $fn$;

  CREATE OR REPLACE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
  RETURNS void
  LANGUAGE plpgsql AS $fn$
  DECLARE
    generated_id uuid;
    final_payload jsonb;
  BEGIN
    BEGIN
      -- Generate a new UUID for the id
      generated_id := gen_random_uuid();

      -- Check if payload has an 'id' key, if not, add the generated UUID
      IF payload ? 'id' THEN
        final_payload := payload;
      ELSE
        final_payload := jsonb_set(payload, '{id}', to_jsonb(generated_id));
      END IF;

      -- Set the topic configuration
      EXECUTE format('SET LOCAL realtime.topic TO %L', topic);

      -- Attempt to insert the message
      INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
      VALUES (generated_id, final_payload, event, topic, private, 'broadcast');
    EXCEPTION
      WHEN OTHERS THEN
        -- Capture and notify the error
        RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
    END;
  END;
  $fn$;

  CREATE OR REPLACE FUNCTION realtime.broadcast_changes(topic_name text, event_name text, operation text,
                                                        table_name text, table_schema text, new record,
                                                        old record, level text DEFAULT 'ROW'::text)
  RETURNS void
  LANGUAGE plpgsql AS $fn$
  DECLARE
      -- Declare a variable to hold the JSONB representation of the row
      row_data jsonb := '{}'::jsonb;
  BEGIN
      IF level = 'STATEMENT' THEN
          RAISE EXCEPTION 'function can only be triggered for each row, not for each statement';
      END IF;
      -- Check the operation type and handle accordingly
      IF operation = 'INSERT' OR operation = 'UPDATE' OR operation = 'DELETE' THEN
          row_data := jsonb_build_object('old_record', OLD, 'record', NEW, 'operation', operation,
                                         'table', table_name, 'schema', table_schema);
          PERFORM realtime.send (row_data, event_name, topic_name);
      ELSE
          RAISE EXCEPTION 'Unexpected operation type: %', operation;
      END IF;
  EXCEPTION
      WHEN OTHERS THEN
          RAISE EXCEPTION 'Failed to process the row: %', SQLERRM;
  END;
  $fn$;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: left schema realtime as the server has it: %', SQLERRM;
END
$realtime$;

-- Schema `supabase_functions` (Database Webhooks, on by default) ----------------
DO $webhooks$
BEGIN
  CREATE SCHEMA IF NOT EXISTS supabase_functions;

  CREATE TABLE IF NOT EXISTS supabase_functions.migrations (
    version text PRIMARY KEY,
    inserted_at timestamptz NOT NULL DEFAULT NOW()
  );
  INSERT INTO supabase_functions.migrations (version)
  VALUES ('initial'), ('20210809183423_update_grants')
  ON CONFLICT DO NOTHING;

  CREATE TABLE IF NOT EXISTS supabase_functions.hooks (
    id bigserial PRIMARY KEY,
    hook_table_id integer NOT NULL,
    hook_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT NOW(),
    request_id bigint
  );
  CREATE INDEX IF NOT EXISTS supabase_functions_hooks_request_id_idx
    ON supabase_functions.hooks USING btree (request_id);
  CREATE INDEX IF NOT EXISTS supabase_functions_hooks_h_table_id_h_name_idx
    ON supabase_functions.hooks USING btree (hook_table_id, hook_name);
  COMMENT ON TABLE supabase_functions.hooks IS 'Supabase Functions Hooks: Audit trail for triggered hooks.';

  -- The webhook trigger function; it calls pg_net, which a migration enables.
  CREATE OR REPLACE FUNCTION supabase_functions.http_request() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = supabase_functions AS $fn$
  DECLARE
    request_id bigint;
    payload jsonb;
    url text := TG_ARGV[0]::text;
    method text := TG_ARGV[1]::text;
    headers jsonb DEFAULT '{}'::jsonb;
    params jsonb DEFAULT '{}'::jsonb;
    timeout_ms integer DEFAULT 1000;
  BEGIN
    IF url IS NULL OR url = 'null' THEN
      RAISE EXCEPTION 'url argument is missing';
    END IF;
    IF method IS NULL OR method = 'null' THEN
      RAISE EXCEPTION 'method argument is missing';
    END IF;
    IF TG_ARGV[2] IS NULL OR TG_ARGV[2] = 'null' THEN
      headers = '{"Content-Type": "application/json"}'::jsonb;
    ELSE
      headers = TG_ARGV[2]::jsonb;
    END IF;
    IF TG_ARGV[3] IS NULL OR TG_ARGV[3] = 'null' THEN
      params = '{}'::jsonb;
    ELSE
      params = TG_ARGV[3]::jsonb;
    END IF;
    IF TG_ARGV[4] IS NULL OR TG_ARGV[4] = 'null' THEN
      timeout_ms = 1000;
    ELSE
      timeout_ms = TG_ARGV[4]::integer;
    END IF;
    CASE
      WHEN method = 'GET' THEN
        SELECT http_get INTO request_id FROM net.http_get(url, params, headers, timeout_ms);
      WHEN method = 'POST' THEN
        payload = jsonb_build_object(
          'old_record', OLD, 'record', NEW, 'type', TG_OP,
          'table', TG_TABLE_NAME, 'schema', TG_TABLE_SCHEMA);
        SELECT http_post INTO request_id FROM net.http_post(url, payload, params, headers, timeout_ms);
      ELSE
        RAISE EXCEPTION 'method argument % is invalid', method;
    END CASE;
    INSERT INTO supabase_functions.hooks (hook_table_id, hook_name, request_id)
    VALUES (TG_RELID, TG_NAME, request_id);
    RETURN NEW;
  END
  $fn$;
  REVOKE ALL ON FUNCTION supabase_functions.http_request() FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: left schema supabase_functions as the server has it: %', SQLERRM;
END
$webhooks$;

-- Publication for Realtime (empty, as on a new project) ------------------------
DO $publication$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    -- A throwaway server runs with wal_level=minimal; its WARNING is noise here.
    PERFORM set_config('client_min_messages', 'error', true);
    CREATE PUBLICATION supabase_realtime;
    PERFORM set_config('client_min_messages', 'warning', true);
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: could not create publication supabase_realtime: %', SQLERRM;
END
$publication$;

-- Grants and default privileges (supabase/postgres init scripts) --------------
DO $grants$
DECLARE
  api text := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles
               WHERE rolname IN ('postgres', 'anon', 'authenticated', 'service_role'));
  clients text := (SELECT string_agg(quote_ident(rolname), ', ' ORDER BY rolname) FROM pg_roles
                   WHERE rolname IN ('anon', 'authenticated', 'service_role'));
  owner_role text;
  target record;
BEGIN
  IF api IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %s', api);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO %s', api);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO %s', api);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO %s', api);
  EXECUTE format('GRANT USAGE ON SCHEMA extensions TO %s', api);

  -- What supabase_admin creates in public reaches the API roles too.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_admin') THEN
    BEGIN
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES TO %s', api);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS TO %s', api);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES TO %s', api);
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
  END IF;

  BEGIN
    IF clients IS NOT NULL AND to_regnamespace('auth') IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA auth TO %s', clients);
    END IF;
    IF to_regnamespace('storage') IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA storage TO %s', api);
      EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA storage TO %s', api);
      EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA storage TO %s', api);
    END IF;
    IF to_regnamespace('realtime') IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA realtime TO %s', api);
    END IF;
    IF to_regclass('realtime.messages') IS NOT NULL AND clients IS NOT NULL THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE ON realtime.messages TO %s', api);
    END IF;
    IF to_regnamespace('supabase_functions') IS NOT NULL THEN
      EXECUTE format('GRANT USAGE ON SCHEMA supabase_functions TO %s', api);
      EXECUTE format('GRANT EXECUTE ON FUNCTION supabase_functions.http_request() TO %s', api);
    END IF;
    -- Each service's admin role works in its own schema (and owns its tables below).
    IF to_regnamespace('auth') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_auth_admin') THEN
      GRANT ALL ON SCHEMA auth TO supabase_auth_admin;
    END IF;
    IF to_regnamespace('storage') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_storage_admin') THEN
      GRANT ALL ON SCHEMA storage TO supabase_storage_admin WITH GRANT OPTION;
    END IF;
    IF to_regnamespace('realtime') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_realtime_admin') THEN
      GRANT ALL ON SCHEMA realtime TO supabase_realtime_admin WITH GRANT OPTION;
    END IF;
    IF to_regnamespace('supabase_functions') IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_functions_admin') THEN
      GRANT ALL ON SCHEMA supabase_functions TO supabase_functions_admin;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dashboard_user') THEN
      GRANT ALL ON SCHEMA extensions TO dashboard_user;
      IF to_regnamespace('auth') IS NOT NULL THEN
        GRANT ALL ON SCHEMA auth TO dashboard_user;
        GRANT ALL ON ALL TABLES IN SCHEMA auth TO dashboard_user;
        GRANT ALL ON ALL SEQUENCES IN SCHEMA auth TO dashboard_user;
        GRANT ALL ON ALL ROUTINES IN SCHEMA auth TO dashboard_user;
      END IF;
    END IF;
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'dragonfly-ci: some platform grants were refused: %', SQLERRM;
  END;

  -- Ownership as on hosted projects, when we may hand objects over: the
  -- service roles own their schemas' tables and functions.
  IF coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) THEN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_admin') THEN
      FOR target IN SELECT nspname FROM pg_namespace
                    WHERE nspname IN ('auth', 'storage', 'realtime', 'supabase_functions') LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO supabase_admin', target.nspname);
      END LOOP;
    END IF;
    FOR target IN
      SELECT format('%s %s', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass) AS obj,
             n.nspname
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('auth', 'storage', 'realtime', 'supabase_functions')
        AND c.relkind IN ('r', 'p', 'S')
        -- not sequences owned by a column (they follow their table), not extension members
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.refobjid <> c.oid AND d.deptype IN ('a', 'i', 'e'))
      UNION ALL
      SELECT format('FUNCTION %s', p.oid::regprocedure), n.nspname
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname IN ('auth', 'storage', 'realtime', 'supabase_functions')
    LOOP
      owner_role := CASE target.nspname
                      WHEN 'auth' THEN 'supabase_auth_admin'
                      WHEN 'storage' THEN 'supabase_storage_admin'
                      WHEN 'supabase_functions' THEN 'supabase_functions_admin'
                      ELSE 'supabase_admin' END;
      CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = owner_role);
      EXECUTE format('ALTER %s OWNER TO %I', target.obj, owner_role);
    END LOOP;
  END IF;
END
$grants$;

-- Search path: "$user", public, extensions, for later sessions and this one ---
DO $search_path$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'dragonfly-ci: could not set the database search_path: %', SQLERRM;
END
$search_path$;

SET search_path = "$user", public, extensions;
