-- pg_jsonschema--0.3.3.sql: dragonfly-ci STAND-IN for supabase/pg_jsonschema 0.3.
--
-- This is not the real extension (which wraps the Rust `jsonschema` crate).
-- It creates the four real functions with their real signatures, so check
-- constraints such as CHECK (jsonb_matches_schema('{...}', col)) apply, and
-- validates a core subset of JSON Schema in plpgsql: type, enum, const,
-- minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum,
-- exclusiveMaximum, multipleOf, required, properties, patternProperties,
-- additionalProperties, propertyNames, minProperties, maxProperties, items,
-- prefixItems, minItems, maxItems, uniqueItems, contains, allOf, anyOf, oneOf,
-- not, if/then/else. Other keywords ($ref, format, dependentSchemas, ...) are
-- ignored, so the stand-in never rejects what the real one accepts on them, but
-- may accept what the real one rejects. Error texts follow the crate's wording
-- but are not guaranteed to be identical.

\echo Use "CREATE EXTENSION pg_jsonschema" to load this file. \quit

CREATE FUNCTION jsonschema_validation_errors(schema json, instance json) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  s jsonb := schema::jsonb;
  i jsonb := instance::jsonb;
  it text := jsonb_typeof(instance::jsonb);
  errs text[] := '{}';
  ok boolean;
  t text;
  key text;
  sub jsonb;
  elem jsonb;
  n int;
  num numeric;
BEGIN
  IF jsonb_typeof(s) = 'boolean' THEN
    IF s = 'false'::jsonb THEN RETURN ARRAY[format('False schema does not allow %s', i)]; END IF;
    RETURN errs;
  END IF;
  IF jsonb_typeof(s) <> 'object' THEN
    RETURN ARRAY[format('%s is not of types "boolean", "object"', s)];
  END IF;

  IF s ? 'type' THEN
    ok := false;
    FOR t IN SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(s -> 'type') = 'array'
                                                   THEN s -> 'type' ELSE jsonb_build_array(s -> 'type') END) LOOP
      ok := ok OR t = it
            OR (t = 'integer' AND it = 'number' AND (i::text)::numeric = trunc((i::text)::numeric));
    END LOOP;
    IF NOT ok THEN errs := errs || format('%s is not of type %s', i, s -> 'type'); END IF;
  END IF;
  IF s ? 'enum' AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(s -> 'enum') e WHERE e = i) THEN
    errs := errs || format('%s is not one of %s', i, s -> 'enum');
  END IF;
  IF s ? 'const' AND s -> 'const' <> i THEN
    errs := errs || format('%s was expected', s -> 'const');
  END IF;

  IF it = 'string' THEN
    n := char_length(i #>> '{}');
    IF jsonb_typeof(s -> 'minLength') = 'number' AND n < (s ->> 'minLength')::numeric THEN
      errs := errs || format('%s is shorter than %s characters', i, s ->> 'minLength');
    END IF;
    IF jsonb_typeof(s -> 'maxLength') = 'number' AND n > (s ->> 'maxLength')::numeric THEN
      errs := errs || format('%s is longer than %s characters', i, s ->> 'maxLength');
    END IF;
    IF jsonb_typeof(s -> 'pattern') = 'string' AND NOT (i #>> '{}') ~ (s ->> 'pattern') THEN
      errs := errs || format('%s does not match %s', i, s -> 'pattern');
    END IF;
  END IF;

  IF it = 'number' THEN
    num := (i::text)::numeric;
    IF jsonb_typeof(s -> 'minimum') = 'number' AND num < (s ->> 'minimum')::numeric THEN
      errs := errs || format('%s is less than the minimum of %s', i, s ->> 'minimum');
    END IF;
    IF jsonb_typeof(s -> 'maximum') = 'number' AND num > (s ->> 'maximum')::numeric THEN
      errs := errs || format('%s is greater than the maximum of %s', i, s ->> 'maximum');
    END IF;
    IF jsonb_typeof(s -> 'exclusiveMinimum') = 'number' AND num <= (s ->> 'exclusiveMinimum')::numeric THEN
      errs := errs || format('%s is less than or equal to the minimum of %s', i, s ->> 'exclusiveMinimum');
    END IF;
    IF jsonb_typeof(s -> 'exclusiveMaximum') = 'number' AND num >= (s ->> 'exclusiveMaximum')::numeric THEN
      errs := errs || format('%s is greater than or equal to the maximum of %s', i, s ->> 'exclusiveMaximum');
    END IF;
    IF jsonb_typeof(s -> 'multipleOf') = 'number' AND (s ->> 'multipleOf')::numeric > 0
       AND mod(num, (s ->> 'multipleOf')::numeric) <> 0 THEN
      errs := errs || format('%s is not a multiple of %s', i, s ->> 'multipleOf');
    END IF;
  END IF;

  IF it = 'object' THEN
    IF jsonb_typeof(s -> 'required') = 'array' THEN
      FOR key IN SELECT jsonb_array_elements_text(s -> 'required') LOOP
        IF NOT i ? key THEN errs := errs || format('%s is a required property', to_jsonb(key)); END IF;
      END LOOP;
    END IF;
    n := (SELECT count(*) FROM jsonb_object_keys(i));
    IF jsonb_typeof(s -> 'minProperties') = 'number' AND n < (s ->> 'minProperties')::numeric THEN
      errs := errs || format('%s has less than %s properties', i, s ->> 'minProperties');
    END IF;
    IF jsonb_typeof(s -> 'maxProperties') = 'number' AND n > (s ->> 'maxProperties')::numeric THEN
      errs := errs || format('%s has more than %s properties', i, s ->> 'maxProperties');
    END IF;
    FOR key, elem IN SELECT * FROM jsonb_each(i) LOOP
      ok := false;
      IF jsonb_typeof(s -> 'properties') = 'object' AND (s -> 'properties') ? key THEN
        ok := true;
        errs := errs || @extschema@.jsonschema_validation_errors((s -> 'properties' -> key)::json, elem::json);
      END IF;
      IF jsonb_typeof(s -> 'patternProperties') = 'object' THEN
        FOR t, sub IN SELECT * FROM jsonb_each(s -> 'patternProperties') LOOP
          IF key ~ t THEN
            ok := true;
            errs := errs || @extschema@.jsonschema_validation_errors(sub::json, elem::json);
          END IF;
        END LOOP;
      END IF;
      IF NOT ok AND s ? 'additionalProperties' THEN
        IF s -> 'additionalProperties' = 'false'::jsonb THEN
          errs := errs || format('Additional properties are not allowed (%s was unexpected)', to_jsonb(key));
        ELSE
          errs := errs || @extschema@.jsonschema_validation_errors((s -> 'additionalProperties')::json, elem::json);
        END IF;
      END IF;
      IF s ? 'propertyNames' THEN
        errs := errs || @extschema@.jsonschema_validation_errors((s -> 'propertyNames')::json, to_json(key));
      END IF;
    END LOOP;
  END IF;

  IF it = 'array' THEN
    n := jsonb_array_length(i);
    IF jsonb_typeof(s -> 'minItems') = 'number' AND n < (s ->> 'minItems')::numeric THEN
      errs := errs || format('%s has less than %s items', i, s ->> 'minItems');
    END IF;
    IF jsonb_typeof(s -> 'maxItems') = 'number' AND n > (s ->> 'maxItems')::numeric THEN
      errs := errs || format('%s has more than %s items', i, s ->> 'maxItems');
    END IF;
    IF s -> 'uniqueItems' = 'true'::jsonb
       AND (SELECT count(DISTINCT e) FROM jsonb_array_elements(i) e) < n THEN
      errs := errs || format('%s has non-unique elements', i);
    END IF;
    FOR idx IN 0 .. n - 1 LOOP
      elem := i -> idx;
      IF jsonb_typeof(s -> 'prefixItems') = 'array' AND idx < jsonb_array_length(s -> 'prefixItems') THEN
        errs := errs || @extschema@.jsonschema_validation_errors((s -> 'prefixItems' -> idx)::json, elem::json);
      ELSIF jsonb_typeof(s -> 'items') = 'array' THEN
        IF idx < jsonb_array_length(s -> 'items') THEN
          errs := errs || @extschema@.jsonschema_validation_errors((s -> 'items' -> idx)::json, elem::json);
        ELSIF s ? 'additionalItems' THEN
          errs := errs || @extschema@.jsonschema_validation_errors((s -> 'additionalItems')::json, elem::json);
        END IF;
      ELSIF s ? 'items' THEN
        errs := errs || @extschema@.jsonschema_validation_errors((s -> 'items')::json, elem::json);
      END IF;
    END LOOP;
    IF s ? 'contains' AND NOT EXISTS (
         SELECT 1 FROM jsonb_array_elements(i) e
         WHERE cardinality(@extschema@.jsonschema_validation_errors((s -> 'contains')::json, e::json)) = 0) THEN
      errs := errs || format('None of %s are valid under the given schema', i);
    END IF;
  END IF;

  IF jsonb_typeof(s -> 'allOf') = 'array' THEN
    FOR sub IN SELECT jsonb_array_elements(s -> 'allOf') LOOP
      errs := errs || @extschema@.jsonschema_validation_errors(sub::json, i::json);
    END LOOP;
  END IF;
  IF jsonb_typeof(s -> 'anyOf') = 'array' AND NOT EXISTS (
       SELECT 1 FROM jsonb_array_elements(s -> 'anyOf') x
       WHERE cardinality(@extschema@.jsonschema_validation_errors(x::json, i::json)) = 0) THEN
    errs := errs || format('%s is not valid under any of the schemas listed in the ''anyOf'' keyword', i);
  END IF;
  IF jsonb_typeof(s -> 'oneOf') = 'array' THEN
    n := (SELECT count(*) FROM jsonb_array_elements(s -> 'oneOf') x
          WHERE cardinality(@extschema@.jsonschema_validation_errors(x::json, i::json)) = 0);
    IF n = 0 THEN
      errs := errs || format('%s is not valid under any of the schemas listed in the ''oneOf'' keyword', i);
    ELSIF n > 1 THEN
      errs := errs || format('%s is valid under more than one of the schemas listed in the ''oneOf'' keyword', i);
    END IF;
  END IF;
  IF s ? 'not' AND cardinality(@extschema@.jsonschema_validation_errors((s -> 'not')::json, i::json)) = 0 THEN
    errs := errs || format('%s is not allowed for %s', s -> 'not', i);
  END IF;
  IF s ? 'if' THEN
    IF cardinality(@extschema@.jsonschema_validation_errors((s -> 'if')::json, i::json)) = 0 THEN
      IF s ? 'then' THEN
        errs := errs || @extschema@.jsonschema_validation_errors((s -> 'then')::json, i::json);
      END IF;
    ELSIF s ? 'else' THEN
      errs := errs || @extschema@.jsonschema_validation_errors((s -> 'else')::json, i::json);
    END IF;
  END IF;
  RETURN errs;
END
$fn$;

CREATE FUNCTION json_matches_schema(schema json, instance json) RETURNS bool
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT cardinality(@extschema@.jsonschema_validation_errors(schema, instance)) = 0
$fn$;

CREATE FUNCTION jsonb_matches_schema(schema json, instance jsonb) RETURNS bool
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT cardinality(@extschema@.jsonschema_validation_errors(schema, instance::json)) = 0
$fn$;

-- A schema is accepted when it is a boolean or an object whose core keywords
-- have the types the meta-schema requires; subschemas are checked recursively.
CREATE FUNCTION jsonschema_is_valid(schema json) RETURNS bool
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  s jsonb := schema::jsonb;
  sub jsonb;
BEGIN
  IF jsonb_typeof(s) = 'boolean' THEN RETURN true; END IF;
  IF jsonb_typeof(s) <> 'object' THEN RETURN false; END IF;
  IF s ? 'type' AND EXISTS (
       SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s -> 'type') = 'array'
                                               THEN s -> 'type' ELSE jsonb_build_array(s -> 'type') END) x
       WHERE jsonb_typeof(x) <> 'string'
          OR x #>> '{}' NOT IN ('array', 'boolean', 'integer', 'null', 'number', 'object', 'string')) THEN
    RETURN false;
  END IF;
  IF s ? 'required' AND (jsonb_typeof(s -> 'required') <> 'array' OR EXISTS (
       SELECT 1 FROM jsonb_array_elements(s -> 'required') x WHERE jsonb_typeof(x) <> 'string')) THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(ARRAY['minLength', 'maxLength', 'minItems', 'maxItems',
                                        'minProperties', 'maxProperties']) k
             WHERE s ? k AND (jsonb_typeof(s -> k) <> 'number' OR (s ->> k)::numeric < 0
                              OR (s ->> k)::numeric <> trunc((s ->> k)::numeric))) THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(ARRAY['minimum', 'maximum', 'exclusiveMinimum',
                                        'exclusiveMaximum', 'multipleOf']) k
             WHERE s ? k AND jsonb_typeof(s -> k) NOT IN ('number', 'boolean')) THEN
    RETURN false;
  END IF;
  IF s ? 'enum' AND jsonb_typeof(s -> 'enum') <> 'array' THEN RETURN false; END IF;
  IF s ? 'properties' AND jsonb_typeof(s -> 'properties') <> 'object' THEN RETURN false; END IF;
  FOR sub IN
    SELECT v FROM jsonb_each(CASE WHEN jsonb_typeof(s -> 'properties') = 'object' THEN s -> 'properties' ELSE '{}' END) p(k, v)
    UNION ALL
    SELECT v FROM jsonb_each(CASE WHEN jsonb_typeof(s -> 'patternProperties') = 'object' THEN s -> 'patternProperties' ELSE '{}' END) p(k, v)
    UNION ALL
    SELECT x FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s -> 'allOf') = 'array' THEN s -> 'allOf' ELSE '[]' END) x
    UNION ALL
    SELECT x FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s -> 'anyOf') = 'array' THEN s -> 'anyOf' ELSE '[]' END) x
    UNION ALL
    SELECT x FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s -> 'oneOf') = 'array' THEN s -> 'oneOf' ELSE '[]' END) x
    UNION ALL
    SELECT x FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s -> 'prefixItems') = 'array' THEN s -> 'prefixItems' ELSE '[]' END) x
    UNION ALL
    SELECT s -> k FROM unnest(ARRAY['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else']) k
    WHERE s ? k AND jsonb_typeof(s -> k) IN ('object', 'boolean')
  LOOP
    IF NOT @extschema@.jsonschema_is_valid(sub::json) THEN RETURN false; END IF;
  END LOOP;
  RETURN true;
END
$fn$;
