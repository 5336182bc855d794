-- pg_net--0.19.5.sql: dragonfly-ci STAND-IN for supabase/pg_net 0.19.
--
-- This is not the real extension: there is no background worker and no
-- request ever leaves the database. It creates what migrations reference in
-- schema `net` (whatever WITH SCHEMA says, like the real one): the request
-- queue, the response table, the types and net.http_get/http_post/http_delete
-- with the real argument names, types and defaults. A call queues the request
-- in net.http_request_queue and returns its id, as the real function does;
-- net._http_response stays empty. The helpers the real extension implements
-- in C are plpgsql here.

\echo Use "CREATE EXTENSION pg_net" to load this file. \quit

CREATE SCHEMA IF NOT EXISTS net;

CREATE DOMAIN net.http_method AS text
CHECK (value ILIKE 'get' OR value ILIKE 'post' OR value ILIKE 'delete');

CREATE UNLOGGED TABLE net.http_request_queue (
    id bigserial,
    method net.http_method NOT NULL,
    url text NOT NULL,
    headers jsonb,
    body bytea,
    timeout_milliseconds int NOT NULL
);

CREATE UNLOGGED TABLE net._http_response (
    id bigint,
    status_code integer,
    content_type text,
    headers jsonb,
    content text,
    timed_out bool,
    error_msg text,
    created timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ON net._http_response (created);

CREATE TYPE net.request_status AS ENUM ('PENDING', 'SUCCESS', 'ERROR');

CREATE TYPE net.http_response AS (
    status_code integer,
    headers jsonb,
    body text
);

CREATE TYPE net.http_response_result AS (
    status net.request_status,
    message text,
    response net.http_response
);

-- RFC 3986 percent-encoding of everything but the unreserved characters.
CREATE FUNCTION net._urlencode_string(string varchar) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  raw bytea := convert_to(string, 'UTF8');
  out text := '';
  ch int;
BEGIN
  IF string IS NULL THEN RETURN NULL; END IF;
  FOR i IN 0 .. length(raw) - 1 LOOP
    ch := get_byte(raw, i);
    IF (ch BETWEEN 48 AND 57) OR (ch BETWEEN 65 AND 90) OR (ch BETWEEN 97 AND 122)
       OR ch IN (45, 46, 95, 126) THEN
      out := out || chr(ch);
    ELSE
      out := out || '%' || upper(lpad(to_hex(ch), 2, '0'));
    END IF;
  END LOOP;
  RETURN out;
END
$fn$;

CREATE FUNCTION net._encode_url_with_params_array(url text, params_array text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN coalesce(cardinality(params_array), 0) = 0 THEN url
              ELSE url || CASE WHEN position('?' IN url) > 0 THEN '&' ELSE '?' END
                   || array_to_string(params_array, '&') END
$fn$;

CREATE FUNCTION net.check_worker_is_up() RETURNS void
LANGUAGE plpgsql AS $fn$ BEGIN NULL; END $fn$;
COMMENT ON FUNCTION net.check_worker_is_up() IS 'raises an exception if the pg_net background worker is not up, otherwise it doesn''t return anything';

CREATE FUNCTION net.worker_restart() RETURNS bool
LANGUAGE sql AS $fn$ SELECT true $fn$;

CREATE FUNCTION net.wait_until_running() RETURNS void
LANGUAGE plpgsql AS $fn$ BEGIN NULL; END $fn$;
COMMENT ON FUNCTION net.wait_until_running() IS 'waits until the worker is running';

CREATE FUNCTION net.wake() RETURNS void
LANGUAGE plpgsql AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION net._await_response(request_id bigint) RETURNS bool
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'pg_net stand-in: request % will never complete (no background worker)', request_id;
END
$fn$;

CREATE FUNCTION net.http_get(
    url text,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{}'::jsonb,
    timeout_milliseconds int DEFAULT 5000
) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  request_id bigint;
  params_array text[];
BEGIN
  SELECT coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    INTO params_array FROM jsonb_each_text(params);
  INSERT INTO net.http_request_queue (method, url, headers, timeout_milliseconds)
  VALUES ('GET', net._encode_url_with_params_array(url, params_array), headers, timeout_milliseconds)
  RETURNING id INTO request_id;
  RETURN request_id;
END
$fn$;

CREATE FUNCTION net.http_post(
    url text,
    body jsonb DEFAULT '{}'::jsonb,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb,
    timeout_milliseconds int DEFAULT 5000
) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  request_id bigint;
  params_array text[];
  content_type text;
BEGIN
  SELECT header_value INTO content_type
  FROM jsonb_each_text(coalesce(headers, '{}'::jsonb)) r(header_name, header_value)
  WHERE lower(header_name) = 'content-type'
  LIMIT 1;
  IF content_type IS NULL THEN
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  END IF;
  IF content_type <> 'application/json' THEN
    RAISE EXCEPTION 'Content-Type header must be "application/json"';
  END IF;
  SELECT coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    INTO params_array FROM jsonb_each_text(params);
  INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  VALUES ('POST', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  RETURNING id INTO request_id;
  RETURN request_id;
END
$fn$;

CREATE FUNCTION net.http_delete(
    url text,
    params jsonb DEFAULT '{}'::jsonb,
    headers jsonb DEFAULT '{}'::jsonb,
    timeout_milliseconds int DEFAULT 5000,
    body jsonb DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  request_id bigint;
  params_array text[];
BEGIN
  SELECT coalesce(array_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value)), '{}')
    INTO params_array FROM jsonb_each_text(params);
  INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  VALUES ('DELETE', net._encode_url_with_params_array(url, params_array), headers,
          convert_to(body::text, 'UTF8'), timeout_milliseconds)
  RETURNING id INTO request_id;
  RETURN request_id;
END
$fn$;

CREATE FUNCTION net._http_collect_response(request_id bigint, async bool DEFAULT true)
RETURNS net.http_response_result
LANGUAGE plpgsql AS $fn$
DECLARE
  rec net._http_response;
BEGIN
  SELECT * INTO rec FROM net._http_response WHERE id = request_id;
  IF rec IS NULL OR rec.error_msg IS NOT NULL THEN
    RETURN ('ERROR', coalesce(rec.error_msg, 'request matching request_id not found'), NULL)::net.http_response_result;
  END IF;
  RETURN ('SUCCESS', 'ok', (rec.status_code, rec.headers, rec.content)::net.http_response)::net.http_response_result;
END
$fn$;

CREATE FUNCTION net.http_collect_response(request_id bigint, async bool DEFAULT true)
RETURNS net.http_response_result
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE NOTICE 'The net.http_collect_response function is deprecated.';
  RETURN net._http_collect_response(request_id, async);
END
$fn$;

GRANT USAGE ON SCHEMA net TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA net TO PUBLIC;
GRANT ALL ON ALL TABLES IN SCHEMA net TO PUBLIC;
