-- pgcrypto--1.3.sql: dragonfly-ci STAND-IN for contrib/pgcrypto 1.3.
--
-- This is not the real extension. It exists so that migrations written for a
-- hosted Supabase project (which pre-installs pgcrypto in schema `extensions`)
-- apply in a shadow database on a server that lacks contrib/pgcrypto. The
-- server prefers the real extension whenever it has one.
--
-- Every function has the real name, argument types and return type.
-- Exact behaviour (built from core functions): digest() for md5, sha1, sha224,
-- sha256, sha384, sha512; hmac() for the same; gen_random_bytes();
-- gen_random_uuid(); armor(), dearmor(), pgp_armor_headers().
-- Shape only: crypt() and gen_salt() return text in the real formats (crypt is
-- deterministic, so `crypt(pw, stored) = stored` verifies), but crypt is NOT
-- bcrypt/md5-crypt/DES. encrypt()/decrypt() and the pgp_* functions do NOT
-- encrypt: they wrap the data so that a round trip gives it back and a wrong
-- key fails. Never use a shadow database for real secrets.
--
-- The extension is relocatable, like the real one, so functions that call a
-- sibling find the extension's schema in pg_extension at run time.

\echo Use "CREATE EXTENSION pgcrypto" to load this file. \quit

CREATE FUNCTION digest(bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  mask CONSTANT bigint := 4294967295;
  msg bytea;
  h bigint[];
  w bigint[];
  a bigint; b bigint; c bigint; d bigint; e bigint; f bigint; k bigint; t bigint;
BEGIN
  CASE lower($2)
    WHEN 'md5' THEN RETURN decode(pg_catalog.md5($1), 'hex');
    WHEN 'sha224' THEN RETURN pg_catalog.sha224($1);
    WHEN 'sha256' THEN RETURN pg_catalog.sha256($1);
    WHEN 'sha384' THEN RETURN pg_catalog.sha384($1);
    WHEN 'sha512' THEN RETURN pg_catalog.sha512($1);
    WHEN 'sha1' THEN NULL;
    ELSE RAISE EXCEPTION 'Cannot use "%": No such hash algorithm', $2
      USING ERRCODE = 'external_routine_invocation_exception';
  END CASE;
  -- SHA-1 (FIPS 180-4) on 32-bit words held in bigints.
  msg := $1 || '\x80'::bytea
       || decode(repeat('00', ((55 - length($1)) % 64 + 64) % 64), 'hex')
       || int8send(length($1)::bigint * 8);
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
  RETURN decode(lpad(to_hex(h[1]), 8, '0') || lpad(to_hex(h[2]), 8, '0')
             || lpad(to_hex(h[3]), 8, '0') || lpad(to_hex(h[4]), 8, '0')
             || lpad(to_hex(h[5]), 8, '0'), 'hex');
END
$fn$;

CREATE FUNCTION digest(text, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ext text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e
               WHERE e.extname = 'pgcrypto');
  r bytea;
BEGIN
  EXECUTE format('SELECT %s.digest($1, $2)', ext)
    INTO r USING convert_to($1, pg_catalog.getdatabaseencoding()), $2;
  RETURN r;
END
$fn$;

CREATE FUNCTION hmac(bytea, bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ext text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e
               WHERE e.extname = 'pgcrypto');
  bs int := CASE WHEN lower($3) IN ('sha384', 'sha512') THEN 128 ELSE 64 END;
  key bytea := $2;
  ipad bytea;
  opad bytea;
  r bytea;
BEGIN
  IF length(key) > bs THEN
    EXECUTE format('SELECT %s.digest($1, $2)', ext) INTO key USING key, $3;
  END IF;
  key := key || decode(repeat('00', bs - length(key)), 'hex');
  ipad := key;
  opad := key;
  FOR i IN 0 .. bs - 1 LOOP
    ipad := set_byte(ipad, i, get_byte(key, i) # 54);
    opad := set_byte(opad, i, get_byte(key, i) # 92);
  END LOOP;
  EXECUTE format('SELECT %1$s.digest($1 || %1$s.digest($2 || $3, $4), $4)', ext)
    INTO r USING opad, ipad, $1, $3;
  RETURN r;
END
$fn$;

CREATE FUNCTION hmac(text, text, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ext text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e
               WHERE e.extname = 'pgcrypto');
  enc name := pg_catalog.getdatabaseencoding();
  r bytea;
BEGIN
  EXECUTE format('SELECT %s.hmac($1, $2, $3)', ext)
    INTO r USING convert_to($1, enc), convert_to($2, enc), $3;
  RETURN r;
END
$fn$;

-- Strong randomness from the server's gen_random_uuid(): 14 of a v4 UUID's
-- 16 bytes carry no version or variant bits.
CREATE FUNCTION gen_random_bytes(integer) RETURNS bytea
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $fn$
DECLARE
  r bytea := ''::bytea;
  u bytea;
BEGIN
  IF $1 < 1 OR $1 > 1024 THEN
    RAISE EXCEPTION 'Length not in range' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  WHILE length(r) < $1 LOOP
    u := uuid_send(pg_catalog.gen_random_uuid());
    r := r || substring(u FROM 1 FOR 6) || substring(u FROM 8 FOR 1) || substring(u FROM 10 FOR 7);
  END LOOP;
  RETURN substring(r FROM 1 FOR $1);
END
$fn$;

CREATE FUNCTION gen_random_uuid() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $fn$ SELECT pg_catalog.gen_random_uuid() $fn$;

-- gen_salt(type, 0) means "the default iteration count", as in pgcrypto.
CREATE FUNCTION gen_salt(text, integer) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $fn$
DECLARE
  alpha CONSTANT text := './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  rounds int := $2;
  rnd bytea := uuid_send(pg_catalog.gen_random_uuid()) || uuid_send(pg_catalog.gen_random_uuid());
  chars text;
BEGIN
  chars := (SELECT string_agg(substr(alpha, get_byte(rnd, i) % 64 + 1, 1), '' ORDER BY i)
            FROM generate_series(0, 31) i);
  CASE lower($1)
    WHEN 'bf' THEN
      IF rounds = 0 THEN rounds := 6; END IF;
      IF rounds < 4 OR rounds > 31 THEN
        RAISE EXCEPTION 'gen_salt: Incorrect number of rounds';
      END IF;
      RETURN '$2a$' || lpad(rounds::text, 2, '0') || '$' || substr(chars, 1, 22);
    WHEN 'md5' THEN
      IF rounds <> 0 THEN RAISE EXCEPTION 'gen_salt: Incorrect number of rounds'; END IF;
      RETURN '$1$' || substr(chars, 1, 8);
    WHEN 'des' THEN
      IF rounds <> 0 THEN RAISE EXCEPTION 'gen_salt: Incorrect number of rounds'; END IF;
      RETURN substr(chars, 1, 2);
    WHEN 'xdes' THEN
      IF rounds = 0 THEN rounds := 725; END IF;
      IF rounds < 1 OR rounds > 16777215 OR rounds % 2 = 0 THEN
        RAISE EXCEPTION 'gen_salt: Incorrect number of rounds';
      END IF;
      RETURN '_' || substr(alpha, (rounds & 63) + 1, 1) || substr(alpha, ((rounds >> 6) & 63) + 1, 1)
          || substr(alpha, ((rounds >> 12) & 63) + 1, 1) || substr(alpha, ((rounds >> 18) & 63) + 1, 1)
          || substr(chars, 1, 4);
    ELSE
      RAISE EXCEPTION 'gen_salt: Unknown salt algorithm';
  END CASE;
END
$fn$;

CREATE FUNCTION gen_salt(text) RETURNS text
LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $fn$
DECLARE
  ext text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e
               WHERE e.extname = 'pgcrypto');
  r text;
BEGIN
  EXECUTE format('SELECT %s.gen_salt($1, 0)', ext) INTO r USING $1;
  RETURN r;
END
$fn$;

-- Shape only: keeps the salt's prefix and appends a deterministic digest in the
-- crypt alphabet, so the result has the real length and verifies against itself.
CREATE FUNCTION crypt(text, text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  alpha CONSTANT text := './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  prefix text;
  n int;
  h bytea;
BEGIN
  IF $2 ~ '^\$2[abxy]\$[0-9]{2}\$' AND length($2) >= 29 THEN
    prefix := substr($2, 1, 29); n := 31;
  ELSIF $2 ~ '^\$1\$' THEN
    prefix := '$1$' || left(split_part(substr($2, 4), '$', 1), 8) || '$'; n := 22;
  ELSIF $2 ~ '^_' AND length($2) >= 9 THEN
    prefix := substr($2, 1, 9); n := 11;
  ELSIF $2 ~ '^[./A-Za-z0-9]{2}' THEN
    prefix := substr($2, 1, 2); n := 11;
  ELSE
    RAISE EXCEPTION 'invalid salt';
  END IF;
  h := pg_catalog.sha256(convert_to(prefix || $1, 'UTF8'));
  RETURN prefix || (SELECT string_agg(substr(alpha, get_byte(h, i % 32) % 64 + 1, 1), '' ORDER BY i)
                    FROM generate_series(0, n - 1) i);
END
$fn$;

-- Shape only, not encryption: 'DFCI' || 4 bytes of sha256(key) || data.
CREATE FUNCTION encrypt(bytea, bytea, text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464349'::bytea || substring(pg_catalog.sha256($2) FROM 1 FOR 4) || $1
$fn$;

CREATE FUNCTION decrypt(bytea, bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8) <> '\x44464349'::bytea || substring(pg_catalog.sha256($2) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'decrypt error: Wrong key or corrupt data'
      USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 9);
END
$fn$;

CREATE FUNCTION encrypt_iv(bytea, bytea, bytea, text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464349'::bytea || substring(pg_catalog.sha256($2 || $3) FROM 1 FOR 4) || $1
$fn$;

CREATE FUNCTION decrypt_iv(bytea, bytea, bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8) <> '\x44464349'::bytea || substring(pg_catalog.sha256($2 || $3) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'decrypt_iv error: Wrong key or corrupt data'
      USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 9);
END
$fn$;

-- OpenPGP, shape only: symmetric messages are 'DFCS' || 4 bytes of
-- sha256(password) || data; public-key messages are 'DFCP' || data.
CREATE FUNCTION pgp_sym_encrypt_bytea(bytea, text, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) || $1
$fn$;

CREATE FUNCTION pgp_sym_encrypt_bytea(bytea, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) || $1
$fn$;

CREATE FUNCTION pgp_sym_encrypt(text, text, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4)
         || convert_to($1, 'UTF8')
$fn$;

CREATE FUNCTION pgp_sym_encrypt(text, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$
  SELECT '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4)
         || convert_to($1, 'UTF8')
$fn$;

CREATE FUNCTION pgp_sym_decrypt_bytea(bytea, text, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8)
     <> '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 9);
END
$fn$;

CREATE FUNCTION pgp_sym_decrypt_bytea(bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8)
     <> '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 9);
END
$fn$;

CREATE FUNCTION pgp_sym_decrypt(bytea, text, text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8)
     <> '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN convert_from(substring($1 FROM 9), 'UTF8');
END
$fn$;

CREATE FUNCTION pgp_sym_decrypt(bytea, text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 8)
     <> '\x44464353'::bytea || substring(pg_catalog.sha256(convert_to($2, 'UTF8')) FROM 1 FOR 4) THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN convert_from(substring($1 FROM 9), 'UTF8');
END
$fn$;

CREATE FUNCTION pgp_pub_encrypt(text, bytea) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$ SELECT '\x44464350'::bytea || convert_to($1, 'UTF8') $fn$;

CREATE FUNCTION pgp_pub_encrypt(text, bytea, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$ SELECT '\x44464350'::bytea || convert_to($1, 'UTF8') $fn$;

CREATE FUNCTION pgp_pub_encrypt_bytea(bytea, bytea) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$ SELECT '\x44464350'::bytea || $1 $fn$;

CREATE FUNCTION pgp_pub_encrypt_bytea(bytea, bytea, text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT PARALLEL SAFE AS $fn$ SELECT '\x44464350'::bytea || $1 $fn$;

CREATE FUNCTION pgp_pub_decrypt(bytea, bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN convert_from(substring($1 FROM 5), 'UTF8');
END
$fn$;

CREATE FUNCTION pgp_pub_decrypt(bytea, bytea, text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN convert_from(substring($1 FROM 5), 'UTF8');
END
$fn$;

CREATE FUNCTION pgp_pub_decrypt(bytea, bytea, text, text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN convert_from(substring($1 FROM 5), 'UTF8');
END
$fn$;

CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 5);
END
$fn$;

CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 5);
END
$fn$;

CREATE FUNCTION pgp_pub_decrypt_bytea(bytea, bytea, text, text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
  IF substring($1 FROM 1 FOR 4) <> '\x44464350'::bytea THEN
    RAISE EXCEPTION 'Wrong key or corrupt data' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN substring($1 FROM 5);
END
$fn$;

CREATE FUNCTION pgp_key_id(bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN substring($1 FROM 1 FOR 4) = '\x44464353'::bytea THEN 'SYMKEY'
              ELSE upper(substr(encode(pg_catalog.sha256($1), 'hex'), 1, 16)) END
$fn$;

-- ASCII armor as in RFC 4880 section 6 (CRC-24 checksum), exact.
CREATE FUNCTION armor(bytea, text[], text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  crc bigint := 11994318;  -- 0xB704CE
  hdr text := '';
BEGIN
  IF coalesce(array_length($2, 1), 0) <> coalesce(array_length($3, 1), 0) THEN
    RAISE EXCEPTION 'mismatched array dimensions';
  END IF;
  FOR i IN 1 .. coalesce(array_length($2, 1), 0) LOOP
    hdr := hdr || $2[i] || ': ' || $3[i] || E'\n';
  END LOOP;
  FOR i IN 0 .. length($1) - 1 LOOP
    crc := crc # (get_byte($1, i)::bigint << 16);
    FOR j IN 1 .. 8 LOOP
      crc := crc << 1;
      IF crc & 16777216 <> 0 THEN crc := crc # 25578747; END IF;  -- 0x1864CFB
    END LOOP;
  END LOOP;
  crc := crc & 16777215;
  RETURN '-----BEGIN PGP MESSAGE-----' || E'\n' || hdr || E'\n'
      || CASE WHEN length($1) > 0 THEN encode($1, 'base64') || E'\n' ELSE '' END
      || '=' || encode(substring(int4send(crc::int) FROM 2 FOR 3), 'base64') || E'\n'
      || '-----END PGP MESSAGE-----' || E'\n';
END
$fn$;

CREATE FUNCTION armor(bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  crc bigint := 11994318;
BEGIN
  FOR i IN 0 .. length($1) - 1 LOOP
    crc := crc # (get_byte($1, i)::bigint << 16);
    FOR j IN 1 .. 8 LOOP
      crc := crc << 1;
      IF crc & 16777216 <> 0 THEN crc := crc # 25578747; END IF;
    END LOOP;
  END LOOP;
  crc := crc & 16777215;
  RETURN '-----BEGIN PGP MESSAGE-----' || E'\n\n'
      || CASE WHEN length($1) > 0 THEN encode($1, 'base64') || E'\n' ELSE '' END
      || '=' || encode(substring(int4send(crc::int) FROM 2 FOR 3), 'base64') || E'\n'
      || '-----END PGP MESSAGE-----' || E'\n';
END
$fn$;

CREATE FUNCTION dearmor(text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  body text := substring(replace($1, E'\r', '') FROM '-----BEGIN PGP [^\n]*-----\n(.*?)\n?-----END PGP');
  payload text;
  sum text;
  data bytea;
  crc bigint := 11994318;
BEGIN
  IF body IS NULL OR position(E'\n\n' IN E'\n' || body) = 0 THEN
    RAISE EXCEPTION 'Corrupt ascii-armor' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  payload := substr(body, position(E'\n\n' IN E'\n' || body) + 1);
  sum := substring(payload FROM '(?:^|\n)=([A-Za-z0-9+/]{4})\s*$');
  data := decode(regexp_replace(regexp_replace(payload, '(?:^|\n)=[A-Za-z0-9+/]{4}\s*$', ''),
                                '\s', '', 'g'), 'base64');
  FOR i IN 0 .. length(data) - 1 LOOP
    crc := crc # (get_byte(data, i)::bigint << 16);
    FOR j IN 1 .. 8 LOOP
      crc := crc << 1;
      IF crc & 16777216 <> 0 THEN crc := crc # 25578747; END IF;
    END LOOP;
  END LOOP;
  IF sum IS NOT NULL AND encode(substring(int4send((crc & 16777215)::int) FROM 2 FOR 3), 'base64') <> sum THEN
    RAISE EXCEPTION 'Corrupt ascii-armor' USING ERRCODE = 'external_routine_invocation_exception';
  END IF;
  RETURN data;
END
$fn$;

CREATE FUNCTION pgp_armor_headers(text, OUT key text, OUT value text) RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT split_part(line, ': ', 1), substr(line, length(split_part(line, ': ', 1)) + 3)
  FROM unnest(string_to_array(split_part(
         substring(replace($1, E'\r', '') FROM '-----BEGIN PGP [^\n]*-----\n(.*)$'),
         E'\n\n', 1), E'\n')) AS line
  WHERE line LIKE '%: %'
$fn$;
