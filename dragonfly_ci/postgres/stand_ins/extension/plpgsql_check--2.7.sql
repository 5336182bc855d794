-- plpgsql_check--2.7.sql: dragonfly-ci STAND-IN for okbob/plpgsql_check 2.7.
--
-- This is not the real extension. It creates the check, dependency, pragma,
-- profiler, coverage and tracer entry points with their real names, argument
-- names, types, defaults and return types, so that migrations and test scripts
-- that call them apply in a shadow database. The checks report nothing (an
-- empty result) and the profiler records nothing.

\echo Use "CREATE EXTENSION plpgsql_check" to load this file. \quit

CREATE FUNCTION plpgsql_check_function_tb(funcoid regprocedure,
    relid regclass DEFAULT 0,
    fatal_errors boolean DEFAULT true,
    other_warnings boolean DEFAULT true,
    performance_warnings boolean DEFAULT false,
    extra_warnings boolean DEFAULT true,
    security_warnings boolean DEFAULT false,
    compatibility_warnings boolean DEFAULT false,
    oldtable name DEFAULT null,
    newtable name DEFAULT null,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range',
    without_warnings boolean DEFAULT false,
    all_warnings boolean DEFAULT false,
    use_incomment_options boolean DEFAULT true,
    incomment_options_usage_warning boolean DEFAULT false,
    constant_tracing boolean DEFAULT true)
RETURNS TABLE(functionid regproc,
              lineno int,
              statement text,
              sqlstate text,
              message text,
              detail text,
              hint text,
              level text,
              "position" int,
              query text,
              context text)
LANGUAGE sql AS $fn$ SELECT NULL::regproc, NULL::int, NULL::text, NULL::text, NULL::text, NULL::text,
                            NULL::text, NULL::text, NULL::int, NULL::text, NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_check_function(funcoid regprocedure,
    relid regclass DEFAULT 0,
    format text DEFAULT 'text',
    fatal_errors boolean DEFAULT true,
    other_warnings boolean DEFAULT true,
    performance_warnings boolean DEFAULT false,
    extra_warnings boolean DEFAULT true,
    security_warnings boolean DEFAULT false,
    compatibility_warnings boolean DEFAULT false,
    oldtable name DEFAULT null,
    newtable name DEFAULT null,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range',
    without_warnings boolean DEFAULT false,
    all_warnings boolean DEFAULT false,
    use_incomment_options boolean DEFAULT true,
    incomment_options_usage_warning boolean DEFAULT false,
    constant_tracing boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE sql AS $fn$ SELECT NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_check_function_tb(name text,
    relid regclass DEFAULT 0,
    fatal_errors boolean DEFAULT true,
    other_warnings boolean DEFAULT true,
    performance_warnings boolean DEFAULT false,
    extra_warnings boolean DEFAULT true,
    security_warnings boolean DEFAULT false,
    compatibility_warnings boolean DEFAULT false,
    oldtable name DEFAULT null,
    newtable name DEFAULT null,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range',
    without_warnings boolean DEFAULT false,
    all_warnings boolean DEFAULT false,
    use_incomment_options boolean DEFAULT true,
    incomment_options_usage_warning boolean DEFAULT false,
    constant_tracing boolean DEFAULT true)
RETURNS TABLE(functionid regproc,
              lineno int,
              statement text,
              sqlstate text,
              message text,
              detail text,
              hint text,
              level text,
              "position" int,
              query text,
              context text)
LANGUAGE sql AS $fn$ SELECT NULL::regproc, NULL::int, NULL::text, NULL::text, NULL::text, NULL::text,
                            NULL::text, NULL::text, NULL::int, NULL::text, NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_check_function(name text,
    relid regclass DEFAULT 0,
    format text DEFAULT 'text',
    fatal_errors boolean DEFAULT true,
    other_warnings boolean DEFAULT true,
    performance_warnings boolean DEFAULT false,
    extra_warnings boolean DEFAULT true,
    security_warnings boolean DEFAULT false,
    compatibility_warnings boolean DEFAULT false,
    oldtable name DEFAULT null,
    newtable name DEFAULT null,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range',
    without_warnings boolean DEFAULT false,
    all_warnings boolean DEFAULT false,
    use_incomment_options boolean DEFAULT true,
    incomment_options_usage_warning boolean DEFAULT false,
    constant_tracing boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE sql AS $fn$ SELECT NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_show_dependency_tb(funcoid regprocedure,
    relid regclass DEFAULT 0,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range')
RETURNS TABLE(type text, oid oid, schema text, name text, params text)
LANGUAGE sql AS $fn$ SELECT NULL::text, NULL::oid, NULL::text, NULL::text, NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_show_dependency_tb(fnname text,
    relid regclass DEFAULT 0,
    anyelememttype regtype DEFAULT 'int',
    anyenumtype regtype DEFAULT '-',
    anyrangetype regtype DEFAULT 'int4range',
    anycompatibletype regtype DEFAULT 'int',
    anycompatiblerangetype regtype DEFAULT 'int4range')
RETURNS TABLE(type text, oid oid, schema text, name text, params text)
LANGUAGE sql AS $fn$ SELECT NULL::text, NULL::oid, NULL::text, NULL::text, NULL::text WHERE false $fn$;

CREATE FUNCTION plpgsql_profiler_function_tb(funcoid regprocedure)
RETURNS TABLE(lineno int,
              stmt_lineno int,
              queryids int8[],
              cmds_on_row int,
              exec_stmts int8,
              exec_stmts_err int8,
              total_time double precision,
              avg_time double precision,
              max_time double precision[],
              processed_rows int8[],
              source text)
LANGUAGE sql STRICT AS $fn$ SELECT NULL::int, NULL::int, NULL::int8[], NULL::int, NULL::int8, NULL::int8,
                                   NULL::float8, NULL::float8, NULL::float8[], NULL::int8[], NULL::text
                            WHERE false $fn$;

CREATE FUNCTION plpgsql_profiler_function_tb(name text)
RETURNS TABLE(lineno int,
              stmt_lineno int,
              queryids int8[],
              cmds_on_row int,
              exec_stmts int8,
              exec_stmts_err int8,
              total_time double precision,
              avg_time double precision,
              max_time double precision[],
              processed_rows int8[],
              source text)
LANGUAGE sql STRICT AS $fn$ SELECT NULL::int, NULL::int, NULL::int8[], NULL::int, NULL::int8, NULL::int8,
                                   NULL::float8, NULL::float8, NULL::float8[], NULL::int8[], NULL::text
                            WHERE false $fn$;

CREATE FUNCTION plpgsql_profiler_reset_all() RETURNS void
LANGUAGE plpgsql STRICT AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION plpgsql_profiler_reset(funcoid regprocedure) RETURNS void
LANGUAGE plpgsql STRICT AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION plpgsql_coverage_statements(funcoid regprocedure) RETURNS double precision
LANGUAGE sql AS $fn$ SELECT NULL::double precision $fn$;

CREATE FUNCTION plpgsql_coverage_statements(name text) RETURNS double precision
LANGUAGE sql AS $fn$ SELECT NULL::double precision $fn$;

CREATE FUNCTION plpgsql_coverage_branches(funcoid regprocedure) RETURNS double precision
LANGUAGE sql AS $fn$ SELECT NULL::double precision $fn$;

CREATE FUNCTION plpgsql_coverage_branches(name text) RETURNS double precision
LANGUAGE sql AS $fn$ SELECT NULL::double precision $fn$;

CREATE FUNCTION plpgsql_check_pragma(VARIADIC name text[]) RETURNS integer
LANGUAGE sql VOLATILE AS $fn$ SELECT 1 $fn$;

CREATE FUNCTION plpgsql_check_profiler(enable boolean DEFAULT NULL) RETURNS boolean
LANGUAGE sql VOLATILE AS $fn$ SELECT coalesce(enable, false) $fn$;

CREATE FUNCTION plpgsql_check_tracer(enable boolean DEFAULT NULL, verbosity text DEFAULT NULL) RETURNS boolean
LANGUAGE sql VOLATILE AS $fn$ SELECT coalesce(enable, false) $fn$;
