-- pgmq--1.4.4.sql: dragonfly-ci STAND-IN for pgmq 1.4.4 (the version hosted
-- Supabase offers for Queues).
--
-- This is not the real extension, but pgmq is itself written in SQL, so this
-- stand-in keeps its behaviour as well as its shape: pgmq.meta, the types
-- pgmq.message_record, pgmq.queue_record and pgmq.metrics_result, and the
-- functions create, create_unlogged, create_partitioned (which, like pgmq,
-- needs pg_partman), send, send_batch, read, read_with_poll, pop, set_vt,
-- archive, delete, purge_queue, drop_queue, detach_archive, metrics,
-- metrics_all and list_queues, with the real argument names, types, defaults
-- and return types. A queue is the table pgmq.q_<name> and its archive
-- pgmq.a_<name>, both members of the extension.

\echo Use "CREATE EXTENSION pgmq" to load this file. \quit

CREATE TABLE pgmq.meta (
    queue_name VARCHAR UNIQUE NOT NULL,
    is_partitioned BOOLEAN NOT NULL,
    is_unlogged BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL
);

GRANT USAGE ON SCHEMA pgmq TO pg_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA pgmq TO pg_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON TABLES TO pg_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA pgmq GRANT SELECT ON SEQUENCES TO pg_monitor;

CREATE TYPE pgmq.message_record AS (
    msg_id BIGINT,
    read_ct INTEGER,
    enqueued_at TIMESTAMP WITH TIME ZONE,
    vt TIMESTAMP WITH TIME ZONE,
    message JSONB
);

CREATE TYPE pgmq.queue_record AS (
    queue_name VARCHAR,
    is_partitioned BOOLEAN,
    is_unlogged BOOLEAN,
    created_at TIMESTAMP WITH TIME ZONE
);

CREATE TYPE pgmq.metrics_result AS (
    queue_name text,
    queue_length bigint,
    newest_msg_age_sec int,
    oldest_msg_age_sec int,
    total_messages bigint,
    scrape_time timestamp with time zone
);

CREATE FUNCTION pgmq.format_table_name(queue_name text, prefix text) RETURNS TEXT
LANGUAGE plpgsql AS $fn$
BEGIN
  IF queue_name ~ '\$|;|--|''' THEN
    RAISE EXCEPTION 'queue name contains invalid characters: $, ;, --, or \''';
  END IF;
  RETURN lower(prefix || '_' || queue_name);
END
$fn$;

CREATE FUNCTION pgmq.validate_queue_name(queue_name TEXT) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF length(queue_name) >= 48 THEN
    RAISE EXCEPTION 'queue name is too long, maximum length is 48 characters';
  END IF;
END
$fn$;

CREATE FUNCTION pgmq._belongs_to_pgmq(table_name TEXT) RETURNS BOOLEAN
LANGUAGE sql AS $fn$
  SELECT EXISTS (
    SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
    WHERE e.extname = 'pgmq' AND d.classid = 'pg_class'::regclass
      AND d.objid = to_regclass(format('pgmq.%I', table_name)))
$fn$;

CREATE FUNCTION pgmq._create_queue(queue_name TEXT, unlogged BOOLEAN) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  qtable TEXT := pgmq.format_table_name(queue_name, 'q');
  atable TEXT := pgmq.format_table_name(queue_name, 'a');
BEGIN
  PERFORM pgmq.validate_queue_name(queue_name);
  EXECUTE format(
    'CREATE %s TABLE IF NOT EXISTS pgmq.%I (
       msg_id BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
       read_ct INT DEFAULT 0 NOT NULL,
       enqueued_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
       vt TIMESTAMP WITH TIME ZONE NOT NULL,
       message JSONB)', CASE WHEN unlogged THEN 'UNLOGGED' ELSE '' END, qtable);
  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS pgmq.%I (
       msg_id BIGINT PRIMARY KEY,
       read_ct INT DEFAULT 0 NOT NULL,
       enqueued_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
       archived_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
       vt TIMESTAMP WITH TIME ZONE NOT NULL,
       message JSONB)', atable);
  IF NOT pgmq._belongs_to_pgmq(qtable) THEN
    EXECUTE format('ALTER EXTENSION pgmq ADD TABLE pgmq.%I', qtable);
  END IF;
  IF NOT pgmq._belongs_to_pgmq(atable) THEN
    EXECUTE format('ALTER EXTENSION pgmq ADD TABLE pgmq.%I', atable);
  END IF;
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt ASC)', qtable || '_vt_idx', qtable);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)', 'archived_at_idx_' || queue_name, atable);
  INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged)
  VALUES (queue_name, false, unlogged)
  ON CONFLICT DO NOTHING;
END
$fn$;

CREATE FUNCTION pgmq.create_non_partitioned(queue_name TEXT) RETURNS void
LANGUAGE sql AS $fn$ SELECT pgmq._create_queue(queue_name, false) $fn$;

CREATE FUNCTION pgmq.create_unlogged(queue_name TEXT) RETURNS void
LANGUAGE sql AS $fn$ SELECT pgmq._create_queue(queue_name, true) $fn$;

CREATE FUNCTION pgmq.create(queue_name TEXT) RETURNS void
LANGUAGE sql AS $fn$ SELECT pgmq._create_queue(queue_name, false) $fn$;

CREATE FUNCTION pgmq.create_partitioned(
  queue_name TEXT,
  partition_interval TEXT DEFAULT '10000',
  retention_interval TEXT DEFAULT '100000'
) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pgmq.validate_queue_name(queue_name);
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_partman') THEN
    RAISE EXCEPTION 'pg_partman is required for partitioned queues';
  END IF;
  RAISE EXCEPTION 'pgmq stand-in: partitioned queues are not supported in a dragonfly-ci shadow database'
    USING ERRCODE = 'feature_not_supported';
END
$fn$;

CREATE FUNCTION pgmq.send(queue_name TEXT, msg JSONB, delay INTEGER DEFAULT 0) RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO pgmq.%I (vt, message) VALUES (clock_timestamp() + $2, $1) RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q'))
  USING msg, make_interval(secs => delay);
END
$fn$;

CREATE FUNCTION pgmq.send_batch(queue_name TEXT, msgs JSONB[], delay INTEGER DEFAULT 0) RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO pgmq.%I (vt, message) SELECT clock_timestamp() + $2, unnest($1) RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q'))
  USING msgs, make_interval(secs => delay);
END
$fn$;

CREATE FUNCTION pgmq.read(queue_name TEXT, vt INTEGER, qty INTEGER, conditions JSONB)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $fn$
DECLARE
  qtable TEXT := pgmq.format_table_name(queue_name, 'q');
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH cte AS (
       SELECT msg_id FROM pgmq.%1$I
       WHERE vt <= clock_timestamp() AND ($3::jsonb IS NULL OR message @> $3)
       ORDER BY msg_id ASC LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE pgmq.%1$I m SET vt = clock_timestamp() + $2, read_ct = read_ct + 1
     FROM cte WHERE m.msg_id = cte.msg_id
     RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message', qtable)
  USING qty, make_interval(secs => vt), conditions;
END
$fn$;

CREATE FUNCTION pgmq.read(queue_name TEXT, vt INTEGER, qty INTEGER) RETURNS SETOF pgmq.message_record
LANGUAGE sql AS $fn$ SELECT * FROM pgmq.read(queue_name, vt, qty, NULL::jsonb) $fn$;

CREATE FUNCTION pgmq.read_with_poll(
    queue_name TEXT,
    vt INTEGER,
    qty INTEGER,
    max_poll_seconds INTEGER DEFAULT 5,
    poll_interval_ms INTEGER DEFAULT 100
) RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $fn$
DECLARE
  stop_at timestamptz := clock_timestamp() + make_interval(secs => max_poll_seconds);
  r pgmq.message_record;
BEGIN
  LOOP
    FOR r IN SELECT * FROM pgmq.read(queue_name, vt, qty, NULL::jsonb) LOOP
      RETURN NEXT r;
    END LOOP;
    IF FOUND OR clock_timestamp() >= stop_at THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(poll_interval_ms / 1000.0);
  END LOOP;
END
$fn$;

CREATE FUNCTION pgmq.pop(queue_name TEXT) RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= now()
                  ORDER BY msg_id ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
     DELETE FROM pgmq.%1$I WHERE msg_id = (SELECT msg_id FROM cte)
     RETURNING msg_id, read_ct, enqueued_at, vt, message',
    pgmq.format_table_name(queue_name, 'q'));
END
$fn$;

CREATE FUNCTION pgmq.set_vt(queue_name TEXT, msg_id BIGINT, vt INTEGER) RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format(
    'UPDATE pgmq.%I SET vt = now() + $2 WHERE msg_id = $1
     RETURNING msg_id, read_ct, enqueued_at, vt, message',
    pgmq.format_table_name(queue_name, 'q'))
  USING msg_id, make_interval(secs => vt);
END
$fn$;

CREATE FUNCTION pgmq.archive(queue_name TEXT, msg_ids BIGINT[]) RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH archived AS (DELETE FROM pgmq.%I WHERE msg_id = ANY($1)
                       RETURNING msg_id, vt, read_ct, enqueued_at, message)
     INSERT INTO pgmq.%I (msg_id, vt, read_ct, enqueued_at, message)
     SELECT msg_id, vt, read_ct, enqueued_at, message FROM archived
     RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q'), pgmq.format_table_name(queue_name, 'a'))
  USING msg_ids;
END
$fn$;

CREATE FUNCTION pgmq.archive(queue_name TEXT, msg_id BIGINT) RETURNS BOOLEAN
LANGUAGE sql AS $fn$ SELECT EXISTS (SELECT 1 FROM pgmq.archive(queue_name, ARRAY[msg_id])) $fn$;

CREATE FUNCTION pgmq.delete(queue_name TEXT, msg_ids BIGINT[]) RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN QUERY EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id',
                              pgmq.format_table_name(queue_name, 'q'))
  USING msg_ids;
END
$fn$;

CREATE FUNCTION pgmq.delete(queue_name TEXT, msg_id BIGINT) RETURNS BOOLEAN
LANGUAGE sql AS $fn$ SELECT EXISTS (SELECT 1 FROM pgmq.delete(queue_name, ARRAY[msg_id])) $fn$;

CREATE FUNCTION pgmq.purge_queue(queue_name TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $fn$
DECLARE
  qtable TEXT := pgmq.format_table_name(queue_name, 'q');
  deleted_count BIGINT;
BEGIN
  EXECUTE format('SELECT count(*) FROM pgmq.%I', qtable) INTO deleted_count;
  EXECUTE format('TRUNCATE TABLE pgmq.%I', qtable);
  RETURN deleted_count;
END
$fn$;

CREATE FUNCTION pgmq.detach_archive(queue_name TEXT) RETURNS VOID
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('ALTER EXTENSION pgmq DROP TABLE pgmq.%I', pgmq.format_table_name(queue_name, 'a'));
END
$fn$;

CREATE FUNCTION pgmq.drop_queue(queue_name TEXT, partitioned BOOLEAN DEFAULT FALSE) RETURNS BOOLEAN
LANGUAGE plpgsql AS $fn$
DECLARE
  qtable TEXT := pgmq.format_table_name(queue_name, 'q');
  atable TEXT := pgmq.format_table_name(queue_name, 'a');
BEGIN
  IF pgmq._belongs_to_pgmq(qtable) THEN
    EXECUTE format('ALTER EXTENSION pgmq DROP TABLE pgmq.%I', qtable);
  END IF;
  IF pgmq._belongs_to_pgmq(atable) THEN
    EXECUTE format('ALTER EXTENSION pgmq DROP TABLE pgmq.%I', atable);
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', qtable);
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', atable);
  DELETE FROM pgmq.meta m WHERE m.queue_name = drop_queue.queue_name;
  RETURN TRUE;
END
$fn$;

CREATE FUNCTION pgmq.metrics(queue_name TEXT) RETURNS pgmq.metrics_result
LANGUAGE plpgsql AS $fn$
DECLARE
  qtable TEXT := pgmq.format_table_name(queue_name, 'q');
  result_row pgmq.metrics_result;
BEGIN
  EXECUTE format(
    'SELECT $1, count(*),
            EXTRACT(epoch FROM (now() - max(enqueued_at)))::int,
            EXTRACT(epoch FROM (now() - min(enqueued_at)))::int,
            (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgmq.%I),
            now()
     FROM pgmq.%I', qtable || '_msg_id_seq', qtable)
  INTO result_row USING queue_name;
  RETURN result_row;
END
$fn$;

CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result
LANGUAGE sql AS $fn$ SELECT (pgmq.metrics(m.queue_name)).* FROM pgmq.meta m $fn$;

CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record
LANGUAGE sql AS $fn$ SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta $fn$;
