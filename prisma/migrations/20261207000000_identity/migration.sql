-- identity: customers' passwordless sign-in. Its own schema and login role, like the other services
-- (20261202000000_service_schemas): rights on its own schema only, no DDL.
--   customers       one row per email that proved it reads its mail (or an operator minted a token for)
--   sign_in_codes   the one live code per email, stored as a salted scrypt hash, never in clear
--   signing_keys    the ES256 key pair the customer JWTs are signed with, made by the first instance
-- and, for notify-worker, sign_in_code_emails: one email per code id, however often the message comes.

DO $$
BEGIN
  CREATE ROLE "identity" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
EXCEPTION WHEN duplicate_object THEN
  NULL; -- made by an earlier database's migration (roles are cluster-wide), or one running at the same time
END
$$;

CREATE SCHEMA "identity";

CREATE TABLE "identity"."customers" (
  "id"         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Lower-cased by identity before it gets here: one customer per mailbox whatever the case typed.
  "email"      VARCHAR(254) NOT NULL UNIQUE,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "customers_email_lower_case" CHECK ("email" = lower("email"))
);

CREATE TABLE "identity"."sign_in_codes" (
  "email"             VARCHAR(254) PRIMARY KEY,
  -- A new sign-in replaces the row's code (and its id): the previous code stops working at once.
  "code_id"           UUID NOT NULL,
  "code_hash"         BYTEA NOT NULL,
  "salt"              BYTEA NOT NULL,
  "expires_at"        TIMESTAMPTZ(3) NOT NULL,
  -- Wrong tries left; 0 once spent (used, or too many wrong tries).
  "tries_left"        INT NOT NULL,
  -- Codes issued to this email since window_started_at: the per-email limit, the same on every replica.
  "window_started_at" TIMESTAMPTZ(3) NOT NULL,
  "codes_in_window"   INT NOT NULL,
  "issued_at"         TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "sign_in_codes_tries_left_non_negative" CHECK ("tries_left" >= 0)
);

-- One row per slot ('current'); INSERT ... ON CONFLICT DO NOTHING makes the first instance's key the key.
CREATE TABLE "identity"."signing_keys" (
  "slot"        VARCHAR(20) PRIMARY KEY,
  "kid"         VARCHAR(100) NOT NULL UNIQUE,
  "algorithm"   VARCHAR(20) NOT NULL,
  "private_jwk" JSONB NOT NULL,
  "public_jwk"  JSONB NOT NULL,
  "created_at"  TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);

REVOKE ALL ON SCHEMA "identity" FROM PUBLIC;
GRANT USAGE ON SCHEMA "identity" TO "identity";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "identity" TO "identity";
ALTER DEFAULT PRIVILEGES IN SCHEMA "identity" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "identity";
ALTER DEFAULT PRIVILEGES IN SCHEMA "identity" GRANT USAGE, SELECT ON SEQUENCES TO "identity";
ALTER ROLE "identity" SET search_path = "identity";

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO "identity"', current_database());
  EXECUTE format(
    'ALTER DATABASE %I SET search_path = "$user", public, order_api, notify_worker, report_worker, identity',
    current_database());
END
$$;

-- notify-worker's record of the sign-in code emails it sent: claimed before the SMTP conversation,
-- marked sent after it, so a redelivered message never mails a code twice. No address and no code here.
CREATE TABLE "notify_worker"."sign_in_code_emails" (
  "code_id"       UUID PRIMARY KEY,
  "message_id"    UUID NOT NULL,
  -- sending (claimed, lease in claimed_until) or sent
  "status"        VARCHAR(20) NOT NULL,
  "claimed_until" TIMESTAMPTZ(3),
  "created_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "sent_at"       TIMESTAMPTZ(3)
);
-- The default privileges of 20261202000000_service_schemas cover it already; said here so a reader need not look.
GRANT SELECT, INSERT, UPDATE, DELETE ON "notify_worker"."sign_in_code_emails" TO "notify_worker";
