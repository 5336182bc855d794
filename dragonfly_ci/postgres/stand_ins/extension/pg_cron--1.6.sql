-- pg_cron--1.6.sql: dragonfly-ci STAND-IN for citusdata/pg_cron 1.6.
--
-- This is not the real extension: there is no scheduler and no job ever runs.
-- Like the real one it puts everything in schema `cron`, whatever WITH SCHEMA
-- says: cron.job and cron.job_run_details with their real columns and
-- row-level security, cron.schedule (both overloads), cron.schedule_in_database,
-- cron.unschedule (both overloads) and cron.alter_job with the real argument
-- names, types and defaults. cron.schedule checks the schedule's shape, records
-- the job in cron.job and returns its jobid; scheduling a name again updates
-- that job, as pg_cron does.

\echo Use "CREATE EXTENSION pg_cron" to load this file. \quit

CREATE SCHEMA cron;
CREATE SEQUENCE cron.jobid_seq;
CREATE SEQUENCE cron.runid_seq;

CREATE TABLE cron.job (
    jobid bigint PRIMARY KEY DEFAULT nextval('cron.jobid_seq'),
    schedule text NOT NULL,
    command text NOT NULL,
    nodename text NOT NULL DEFAULT 'localhost',
    nodeport int NOT NULL DEFAULT coalesce(inet_server_port(), current_setting('port')::int),
    database text NOT NULL DEFAULT current_database(),
    username text NOT NULL DEFAULT current_user,
    active boolean NOT NULL DEFAULT 'true',
    jobname text,
    CONSTRAINT jobname_username_uniq UNIQUE (jobname, username)
);
GRANT SELECT ON cron.job TO public;
ALTER TABLE cron.job ENABLE ROW LEVEL SECURITY;
CREATE POLICY cron_job_policy ON cron.job USING (username = current_user);

CREATE TABLE cron.job_run_details (
    jobid bigint,
    runid bigint PRIMARY KEY DEFAULT nextval('cron.runid_seq'),
    job_pid integer,
    database text,
    username text,
    command text,
    status text,
    return_message text,
    start_time timestamptz,
    end_time timestamptz
);
GRANT SELECT ON cron.job_run_details TO public;
ALTER TABLE cron.job_run_details ENABLE ROW LEVEL SECURITY;
CREATE POLICY cron_job_run_details_policy ON cron.job_run_details USING (username = current_user);

SELECT pg_catalog.pg_extension_config_dump('cron.job', '');
SELECT pg_catalog.pg_extension_config_dump('cron.jobid_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cron.job_run_details', '');
SELECT pg_catalog.pg_extension_config_dump('cron.runid_seq', '');

-- Accepts what pg_cron's parser accepts in shape: five cron fields, an
-- @-macro, or 'N seconds' (1 to 59).
CREATE FUNCTION cron._check_schedule(schedule text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  s text := btrim(lower(schedule));
BEGIN
  IF s ~ '^@(yearly|annually|monthly|weekly|daily|hourly|reboot)$' THEN RETURN; END IF;
  IF s ~ '^[0-9]+ ?seconds?$' AND (substring(s FROM '^[0-9]+'))::int BETWEEN 1 AND 59 THEN RETURN; END IF;
  IF s ~ '^[0-9a-z*/,$-]+(\s+[0-9a-z*/,$-]+){4}$' THEN RETURN; END IF;
  RAISE EXCEPTION 'invalid schedule: %', schedule;
END
$fn$;

CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint
LANGUAGE plpgsql STRICT AS $fn$
DECLARE
  id bigint;
BEGIN
  PERFORM cron._check_schedule(schedule);
  INSERT INTO cron.job (schedule, command) VALUES (schedule, command) RETURNING jobid INTO id;
  RETURN id;
END
$fn$;
COMMENT ON FUNCTION cron.schedule(text, text) IS 'schedule a pg_cron job';

CREATE FUNCTION cron.schedule_in_database(job_name text, schedule text, command text, database text,
                                          username text DEFAULT NULL, active boolean DEFAULT 'true')
RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  id bigint;
  who text := coalesce(username, current_user);
BEGIN
  PERFORM cron._check_schedule(schedule);
  IF job_name IS NULL OR schedule IS NULL OR command IS NULL OR database IS NULL THEN
    RAISE EXCEPTION 'job_name, schedule, command and database must not be null';
  END IF;
  INSERT INTO cron.job AS j (jobname, schedule, command, database, username, active)
  VALUES (job_name, schedule, command, database, who, coalesce(active, true))
  ON CONFLICT ON CONSTRAINT jobname_username_uniq
  DO UPDATE SET schedule = excluded.schedule, command = excluded.command,
                database = excluded.database, active = excluded.active
  RETURNING j.jobid INTO id;
  RETURN id;
END
$fn$;
COMMENT ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) IS 'schedule a pg_cron job';
REVOKE ALL ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) FROM public;

CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint
LANGUAGE plpgsql AS $fn$
BEGIN
  IF job_name IS NULL THEN
    RETURN cron.schedule(schedule, command);
  END IF;
  RETURN cron.schedule_in_database(job_name, schedule, command, current_database(), current_user, true);
END
$fn$;
COMMENT ON FUNCTION cron.schedule(text, text, text) IS 'schedule a pg_cron job';

CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean
LANGUAGE plpgsql STRICT AS $fn$
BEGIN
  DELETE FROM cron.job WHERE jobid = job_id AND username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', job_id;
  END IF;
  RETURN true;
END
$fn$;
COMMENT ON FUNCTION cron.unschedule(bigint) IS 'unschedule a pg_cron job';

CREATE FUNCTION cron.unschedule(job_name text) RETURNS boolean
LANGUAGE plpgsql STRICT AS $fn$
BEGIN
  DELETE FROM cron.job WHERE jobname = job_name AND username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job ''%''', job_name;
  END IF;
  RETURN true;
END
$fn$;
COMMENT ON FUNCTION cron.unschedule(text) IS 'unschedule a pg_cron job';

CREATE FUNCTION cron.alter_job(job_id bigint,
                               schedule text DEFAULT NULL,
                               command text DEFAULT NULL,
                               database text DEFAULT NULL,
                               username text DEFAULT NULL,
                               active boolean DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  IF schedule IS NOT NULL THEN PERFORM cron._check_schedule(schedule); END IF;
  UPDATE cron.job j
     SET schedule = coalesce(alter_job.schedule, j.schedule),
         command = coalesce(alter_job.command, j.command),
         database = coalesce(alter_job.database, j.database),
         username = coalesce(alter_job.username, j.username),
         active = coalesce(alter_job.active, j.active)
   WHERE j.jobid = job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Job % does not exist or you don''t own it', job_id;
  END IF;
END
$fn$;
COMMENT ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean)
IS 'Alter the job identified by job_id. Any option left as NULL will not be modified.';
REVOKE ALL ON FUNCTION cron.alter_job(bigint, text, text, text, text, boolean) FROM public;

CREATE FUNCTION cron.job_cache_invalidate() RETURNS trigger
LANGUAGE plpgsql AS $fn$ BEGIN RETURN NULL; END $fn$;
COMMENT ON FUNCTION cron.job_cache_invalidate() IS 'invalidate job cache';

CREATE TRIGGER cron_job_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON cron.job
    FOR STATEMENT EXECUTE FUNCTION cron.job_cache_invalidate();
