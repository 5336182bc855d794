-- uuid-ossp--1.1.sql: dragonfly-ci STAND-IN for contrib/uuid-ossp 1.1.
--
-- This is not the real extension. Hosted Supabase pre-installs uuid-ossp in
-- schema `extensions`; this script offers the same functions on a server that
-- lacks the contrib module, for shadow databases only. The server prefers the
-- real extension whenever it has one.
--
-- Exact behaviour: the namespace constants, uuid_nil(), uuid_generate_v3()
-- (MD5, RFC 4122), uuid_generate_v5() (SHA-1, RFC 4122) and uuid_generate_v4().
-- uuid_generate_v1() and uuid_generate_v1mc() produce valid version-1 UUIDs from
-- the clock with a random multicast node (the real v1 uses the MAC address).

\echo Use "CREATE EXTENSION \"uuid-ossp\"" to load this file. \quit

CREATE FUNCTION uuid_nil() RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $fn$;

CREATE FUNCTION uuid_ns_dns() RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $fn$;

CREATE FUNCTION uuid_ns_url() RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $fn$;

CREATE FUNCTION uuid_ns_oid() RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $fn$;

CREATE FUNCTION uuid_ns_x500() RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $fn$;

CREATE FUNCTION uuid_generate_v4() RETURNS uuid
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$ SELECT pg_catalog.gen_random_uuid() $fn$;

-- Version 1: 60-bit count of 100 ns intervals since 1582-10-15, a random
-- 14-bit clock sequence and a random node with the multicast bit set.
CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ts bigint := floor((extract(epoch FROM clock_timestamp()) + 12219292800) * 10000000)::bigint;
  rnd bytea := uuid_send(pg_catalog.gen_random_uuid());
  hex text := lpad(to_hex(ts), 15, '0');
BEGIN
  rnd := set_byte(rnd, 8, (get_byte(rnd, 8) & 63) | 128);   -- RFC 4122 variant
  rnd := set_byte(rnd, 10, get_byte(rnd, 10) | 1);          -- multicast node
  RETURN (substr(hex, 8, 8) || '-' || substr(hex, 4, 4) || '-1' || substr(hex, 1, 3) || '-'
          || substr(encode(rnd, 'hex'), 17, 4) || '-' || substr(encode(rnd, 'hex'), 21, 12))::uuid;
END
$fn$;

CREATE FUNCTION uuid_generate_v1() RETURNS uuid
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ts bigint := floor((extract(epoch FROM clock_timestamp()) + 12219292800) * 10000000)::bigint;
  rnd bytea := uuid_send(pg_catalog.gen_random_uuid());
  hex text := lpad(to_hex(ts), 15, '0');
BEGIN
  rnd := set_byte(rnd, 8, (get_byte(rnd, 8) & 63) | 128);
  rnd := set_byte(rnd, 10, get_byte(rnd, 10) | 1);
  RETURN (substr(hex, 8, 8) || '-' || substr(hex, 4, 4) || '-1' || substr(hex, 1, 3) || '-'
          || substr(encode(rnd, 'hex'), 17, 4) || '-' || substr(encode(rnd, 'hex'), 21, 12))::uuid;
END
$fn$;

-- Version 3 (RFC 4122 section 4.3): MD5 of the namespace's bytes and the name.
CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  h bytea := decode(pg_catalog.md5(uuid_send(namespace) || convert_to(name, pg_catalog.getdatabaseencoding())), 'hex');
BEGIN
  h := set_byte(h, 6, (get_byte(h, 6) & 15) | 48);
  h := set_byte(h, 8, (get_byte(h, 8) & 63) | 128);
  RETURN encode(h, 'hex')::uuid;
END
$fn$;

-- Version 5 (RFC 4122 section 4.3): SHA-1 of the namespace's bytes and the
-- name, computed here on 32-bit words held in bigints (FIPS 180-4).
CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  mask CONSTANT bigint := 4294967295;
  data bytea := uuid_send(namespace) || convert_to(name, pg_catalog.getdatabaseencoding());
  msg bytea;
  h bigint[];
  w bigint[];
  a bigint; b bigint; c bigint; d bigint; e bigint; f bigint; k bigint; t bigint;
  r bytea;
BEGIN
  msg := data || '\x80'::bytea
       || decode(repeat('00', ((55 - length(data)) % 64 + 64) % 64), 'hex')
       || int8send(length(data)::bigint * 8);
  h := ARRAY[1732584193, 4023233417, 2562383102, 271733878, 3285377520]::bigint[];
  FOR off IN 0 .. length(msg) - 1 BY 64 LOOP
    w := array_fill(0::bigint, ARRAY[80]);
    FOR i IN 0 .. 15 LOOP
      w[i + 1] := (get_byte(msg, off + 4 * i)::bigint << 24)
                | (get_byte(msg, off + 4 * i + 1)::bigint << 16)
                | (get_byte(msg, off + 4 * i + 2)::bigint << 8)
                | get_byte(msg, off + 4 * i + 3)::bigint;
    END LOOP;
    FOR i IN 17 .. 80 LOOP
      t := w[i - 3] # w[i - 8] # w[i - 14] # w[i - 16];
      w[i] := ((t << 1) | (t >> 31)) & mask;
    END LOOP;
    a := h[1]; b := h[2]; c := h[3]; d := h[4]; e := h[5];
    FOR i IN 1 .. 80 LOOP
      IF i <= 20 THEN f := (b & c) | ((b # mask) & d); k := 1518500249;
      ELSIF i <= 40 THEN f := b # c # d; k := 1859775393;
      ELSIF i <= 60 THEN f := (b & c) | (b & d) | (c & d); k := 2400959708;
      ELSE f := b # c # d; k := 3395469782;
      END IF;
      t := ((((a << 5) | (a >> 27)) & mask) + f + e + k + w[i]) & mask;
      e := d; d := c; c := ((b << 30) | (b >> 2)) & mask; b := a; a := t;
    END LOOP;
    h[1] := (h[1] + a) & mask; h[2] := (h[2] + b) & mask; h[3] := (h[3] + c) & mask;
    h[4] := (h[4] + d) & mask; h[5] := (h[5] + e) & mask;
  END LOOP;
  r := decode(lpad(to_hex(h[1]), 8, '0') || lpad(to_hex(h[2]), 8, '0')
              || lpad(to_hex(h[3]), 8, '0') || lpad(to_hex(h[4]), 8, '0'), 'hex');
  r := set_byte(r, 6, (get_byte(r, 6) & 15) | 80);
  r := set_byte(r, 8, (get_byte(r, 8) & 63) | 128);
  RETURN encode(r, 'hex')::uuid;
END
$fn$;
