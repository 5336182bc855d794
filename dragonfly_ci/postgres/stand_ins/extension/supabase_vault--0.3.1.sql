-- supabase_vault--0.3.1.sql: dragonfly-ci STAND-IN for supabase/vault 0.3.1.
--
-- This is not the real extension and it does NOT encrypt. It creates what
-- hosted Supabase has in schema `vault`: the table vault.secrets, the view
-- vault.decrypted_secrets, vault.create_secret(new_secret, new_name,
-- new_description, new_key_id) RETURNS uuid and vault.update_secret(secret_id,
-- new_secret, new_name, new_description, new_key_id), with the real argument
-- names, types and defaults. The three _crypto_aead_det_* helpers keep their
-- real signatures but pass the data through unchanged (the stored value is the
-- base64 of the plain text), so a secret written with create_secret() reads
-- back from decrypted_secrets. create_secret and update_secret are SECURITY
-- DEFINER, as on hosted projects. Never put a real secret in a shadow database.

\echo Use "CREATE EXTENSION supabase_vault" to load this file. \quit

CREATE FUNCTION vault._crypto_aead_det_encrypt(message bytea, additional bytea, key_id bigint,
                                               context bytea = 'pgsodium', nonce bytea = NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $fn$ SELECT message $fn$;

CREATE FUNCTION vault._crypto_aead_det_decrypt(message bytea, additional bytea, key_id bigint,
                                               context bytea = 'pgsodium', nonce bytea = NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $fn$ SELECT message $fn$;

-- 24 random bytes, the size of a real XChaCha20 nonce.
CREATE FUNCTION vault._crypto_aead_det_noncegen() RETURNS bytea
LANGUAGE sql VOLATILE AS $fn$
  SELECT substring(uuid_send(pg_catalog.gen_random_uuid()) || uuid_send(pg_catalog.gen_random_uuid()) FROM 1 FOR 24)
$fn$;

CREATE TABLE vault.secrets (
  id uuid     PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text,
  description text NOT NULL default '',
  secret      text NOT NULL,
  key_id      uuid,
  nonce       bytea DEFAULT vault._crypto_aead_det_noncegen(),
  created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

COMMENT ON TABLE vault.secrets IS 'Table with encrypted `secret` column for storing sensitive information on disk.';

CREATE UNIQUE INDEX secrets_name_idx ON vault.secrets USING btree (name) WHERE name IS NOT NULL;

CREATE VIEW vault.decrypted_secrets AS
SELECT s.id,
  s.name,
  s.description,
  s.secret,
  convert_from(
    vault._crypto_aead_det_decrypt(
      message := decode(s.secret, 'base64'::text),
      additional := convert_to(s.id::text, 'utf8'),
      key_id := 0,
      context := 'pgsodium'::bytea,
      nonce := s.nonce
    ),
    'utf8'::name
  ) AS decrypted_secret,
  s.key_id,
  s.nonce,
  s.created_at,
  s.updated_at
FROM vault.secrets s;

CREATE FUNCTION vault.create_secret(
  new_secret text,
  new_name text = NULL,
  new_description text = '',
  new_key_id uuid = NULL
)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $fn$
DECLARE
  rec record;
BEGIN
  INSERT INTO vault.secrets (secret, name, description)
  VALUES (new_secret, new_name, new_description)
  RETURNING * INTO rec;
  UPDATE vault.secrets s
  SET secret = encode(vault._crypto_aead_det_encrypt(
    message := convert_to(rec.secret, 'utf8'),
    additional := convert_to(s.id::text, 'utf8'),
    key_id := 0,
    context := 'pgsodium'::bytea,
    nonce := rec.nonce
  ), 'base64')
  WHERE id = rec.id;
  RETURN rec.id;
END
$fn$;

CREATE FUNCTION vault.update_secret(
  secret_id uuid,
  new_secret text = NULL,
  new_name text = NULL,
  new_description text = NULL,
  new_key_id uuid = NULL
)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $fn$
BEGIN
  UPDATE vault.secrets s
  SET
    secret = CASE WHEN new_secret IS NULL THEN s.secret
                  ELSE encode(vault._crypto_aead_det_encrypt(
                    message := convert_to(new_secret, 'utf8'),
                    additional := convert_to(s.id::text, 'utf8'),
                    key_id := 0,
                    context := 'pgsodium'::bytea,
                    nonce := s.nonce
                  ), 'base64') END,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    updated_at = now()
  WHERE s.id = secret_id;
END
$fn$;

SELECT pg_catalog.pg_extension_config_dump('vault.secrets', '');
