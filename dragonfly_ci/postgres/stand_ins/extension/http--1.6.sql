-- http--1.6.sql: dragonfly-ci STAND-IN for pramsey/pgsql-http 1.6.
--
-- This is not the real extension. It creates the real domains, composite
-- types and functions (same names, argument names and types, return types) so
-- that migrations defining functions on top of http() apply in a shadow
-- database. A shadow database makes no network requests: http() and every
-- wrapper that calls it raise feature_not_supported when they run. urlencode(),
-- text_to_bytea(), bytea_to_text() and http_header() behave like the real ones.

\echo Use "CREATE EXTENSION http" to load this file. \quit

CREATE DOMAIN http_method AS text;
CREATE DOMAIN content_type AS text
CHECK (
    VALUE ~ '^\S+\/\S+'
);

CREATE TYPE http_header AS (
    field VARCHAR,
    value VARCHAR
);

CREATE TYPE http_response AS (
    status INTEGER,
    content_type VARCHAR,
    headers http_header[],
    content VARCHAR
);

CREATE TYPE http_request AS (
    method http_method,
    uri VARCHAR,
    headers http_header[],
    content_type VARCHAR,
    content VARCHAR
);

CREATE FUNCTION http_set_curlopt(curlopt VARCHAR, value VARCHAR) RETURNS boolean
LANGUAGE sql AS $fn$ SELECT true $fn$;

CREATE FUNCTION http_reset_curlopt() RETURNS boolean
LANGUAGE sql AS $fn$ SELECT true $fn$;

CREATE FUNCTION http_list_curlopt() RETURNS TABLE(curlopt text, value text)
LANGUAGE sql AS $fn$ SELECT NULL::text, NULL::text WHERE false $fn$;

CREATE FUNCTION http_header(field VARCHAR, value VARCHAR) RETURNS http_header
LANGUAGE sql AS $fn$ SELECT $1, $2 $fn$;

CREATE FUNCTION http(request @extschema@.http_request) RETURNS http_response
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'http stand-in: % % was not sent; dragonfly-ci shadow databases make no network requests',
    (request).method, (request).uri
    USING ERRCODE = 'feature_not_supported';
END
$fn$;

CREATE FUNCTION http_get(uri VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('GET', $1, NULL, NULL, NULL)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_post(uri VARCHAR, content VARCHAR, content_type VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('POST', $1, NULL, $3, $2)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_put(uri VARCHAR, content VARCHAR, content_type VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('PUT', $1, NULL, $3, $2)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_patch(uri VARCHAR, content VARCHAR, content_type VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('PATCH', $1, NULL, $3, $2)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_delete(uri VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('DELETE', $1, NULL, NULL, NULL)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_delete(uri VARCHAR, content VARCHAR, content_type VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('DELETE', $1, NULL, $3, $2)::@extschema@.http_request) $fn$;

CREATE FUNCTION http_head(uri VARCHAR) RETURNS http_response
LANGUAGE sql AS $fn$ SELECT @extschema@.http(('HEAD', $1, NULL, NULL, NULL)::@extschema@.http_request) $fn$;

-- Percent-encodes everything but RFC 3986 unreserved characters, like curl_easy_escape.
CREATE FUNCTION urlencode(string BYTEA) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT coalesce(string_agg(CASE WHEN (b BETWEEN 48 AND 57) OR (b BETWEEN 65 AND 90)
                                       OR (b BETWEEN 97 AND 122) OR b IN (45, 46, 95, 126)
                                  THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END,
                             '' ORDER BY i), '')
  FROM generate_series(0, length($1) - 1) i, LATERAL (SELECT get_byte($1, i) AS b) x
$fn$;

CREATE FUNCTION urlencode(string VARCHAR) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT @extschema@.urlencode(convert_to($1, pg_catalog.getdatabaseencoding()))
$fn$;

CREATE FUNCTION urlencode(data JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $fn$
  SELECT coalesce(string_agg(@extschema@.urlencode(key::varchar) || '=' || @extschema@.urlencode(value::varchar), '&'), '')
  FROM jsonb_each_text($1)
$fn$;

CREATE FUNCTION http_get(uri VARCHAR, data JSONB) RETURNS http_response
LANGUAGE sql AS $fn$
  SELECT @extschema@.http(('GET', $1 || '?' || @extschema@.urlencode($2), NULL, NULL, NULL)::@extschema@.http_request)
$fn$;

CREATE FUNCTION http_post(uri VARCHAR, data JSONB) RETURNS http_response
LANGUAGE sql AS $fn$
  SELECT @extschema@.http(('POST', $1, NULL, 'application/x-www-form-urlencoded', @extschema@.urlencode($2))::@extschema@.http_request)
$fn$;

CREATE FUNCTION text_to_bytea(data TEXT) RETURNS BYTEA
LANGUAGE sql IMMUTABLE STRICT AS $fn$ SELECT convert_to($1, pg_catalog.getdatabaseencoding()) $fn$;

CREATE FUNCTION bytea_to_text(data BYTEA) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $fn$ SELECT convert_from($1, pg_catalog.getdatabaseencoding()) $fn$;
