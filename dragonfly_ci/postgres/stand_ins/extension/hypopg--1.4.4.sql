-- hypopg--1.4.4.sql: dragonfly-ci STAND-IN for HypoPG 1.4.4.
--
-- This is not the real extension: the planner never sees a hypothetical index.
-- It creates the real functions and views with their real signatures.
-- hypopg_create_index(sql_order) checks that the CREATE INDEX statement is
-- valid by running it in a subtransaction that is rolled back, then returns a
-- made-up (indexrelid, indexname) row; hypopg() and the views list nothing.

\echo Use "CREATE EXTENSION hypopg" to load this file. \quit

CREATE FUNCTION hypopg_reset_index() RETURNS void
LANGUAGE plpgsql VOLATILE COST 100 AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION hypopg_reset() RETURNS void
LANGUAGE plpgsql VOLATILE COST 100 AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION hypopg_create_index(IN sql_order text, OUT indexrelid oid, OUT indexname text)
RETURNS SETOF record
LANGUAGE plpgsql STRICT VOLATILE COST 100 AS $fn$
DECLARE
  idx oid;
  rel text;
BEGIN
  IF sql_order !~* '^\s*create\s+(unique\s+)?index\s' THEN
    RAISE EXCEPTION 'hypopg: SQL order #1 is not a CREATE INDEX statement';
  END IF;
  BEGIN
    EXECUTE sql_order;
    SELECT c.oid, t.relname INTO idx, rel
    FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_class t ON t.oid = i.indrelid
    ORDER BY c.oid DESC LIMIT 1;
    RAISE EXCEPTION USING ERRCODE = 'P0004', MESSAGE = 'hypopg stand-in rollback';
  EXCEPTION WHEN assert_failure THEN
    NULL;
  END;
  indexrelid := idx;
  indexname := format('<%s>btree_%s', idx, rel);
  RETURN NEXT;
END
$fn$;

CREATE FUNCTION hypopg_drop_index(IN indexid oid) RETURNS bool
LANGUAGE sql STRICT VOLATILE COST 100 AS $fn$ SELECT false $fn$;

CREATE FUNCTION hypopg(OUT invalidated bool,
                       OUT indexname text, OUT indexrelid oid,
                       OUT indrelid oid, OUT innatts integer,
                       OUT indisunique boolean, OUT indkey int2vector,
                       OUT indcollation oidvector, OUT indclass oidvector,
                       OUT indoption oidvector, OUT indexprs pg_node_tree,
                       OUT indpred pg_node_tree, OUT amid oid)
RETURNS SETOF record
LANGUAGE plpgsql COST 100 AS $fn$ BEGIN RETURN; END $fn$;

CREATE VIEW hypopg_list_indexes
AS
    SELECT h.invalidated,
    h.indexrelid, h.indexname AS index_name,
    coalesce(n.nspname, '<invalidated>') AS schema_name,
    coalesce(c.relname, '<invalidated>') AS table_name,
    coalesce(am.amname, '<invalidated>') AS am_name
    FROM hypopg() h
    LEFT JOIN pg_catalog.pg_class c ON c.oid = h.indrelid
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_am am ON am.oid = h.amid;

CREATE FUNCTION hypopg_relation_size(IN indexid oid) RETURNS bigint
LANGUAGE sql STRICT VOLATILE COST 100 AS $fn$ SELECT 0::bigint $fn$;

CREATE FUNCTION hypopg_get_indexdef(IN indexid oid) RETURNS text
LANGUAGE sql STRICT VOLATILE COST 100 AS $fn$ SELECT NULL::text $fn$;

CREATE FUNCTION hypopg_hide_index(IN indexid oid) RETURNS bool
LANGUAGE sql STRICT VOLATILE COST 100 AS $fn$ SELECT false $fn$;

CREATE FUNCTION hypopg_unhide_index(IN indexid oid) RETURNS bool
LANGUAGE sql STRICT VOLATILE COST 100 AS $fn$ SELECT false $fn$;

CREATE FUNCTION hypopg_unhide_all_indexes() RETURNS void
LANGUAGE plpgsql VOLATILE COST 100 AS $fn$ BEGIN NULL; END $fn$;

CREATE FUNCTION hypopg_hidden_indexes() RETURNS TABLE (indexid oid)
LANGUAGE sql STRICT VOLATILE AS $fn$ SELECT NULL::oid WHERE false $fn$;

CREATE VIEW hypopg_hidden_indexes
AS
    SELECT false AS invalidated,
           h.indexid AS indexrelid,
           i.relname AS index_name,
           n.nspname AS schema_name,
           t.relname AS table_name,
           m.amname  AS am_name,
           false     AS is_hypo
    FROM hypopg_hidden_indexes() h
        JOIN pg_index x ON x.indexrelid = h.indexid
        JOIN pg_class i ON i.oid = h.indexid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_am m ON m.oid = i.relam
    UNION ALL
    SELECT hl.*, true AS is_hypo
    FROM hypopg_hidden_indexes() hi
        JOIN hypopg_list_indexes hl on hl.indexrelid = hi.indexid
    ORDER BY index_name;
