-- payment: the other party of the order payment saga (a payment provider integration with a sandbox
-- provider). Its own schema and login role, like the other services (20261202000000_service_schemas):
-- rights on its own schema only, no DDL.
--   payments   one row per payment id (one charge attempt of one order): what was asked, what the
--              provider answered, and its refund. Never a card number: its last four digits only.

DO $$
BEGIN
  CREATE ROLE "payment" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
EXCEPTION WHEN duplicate_object THEN
  NULL; -- made by an earlier database's migration (roles are cluster-wide), or one running at the same time
END
$$;

CREATE SCHEMA "payment";

CREATE TABLE "payment"."payments" (
  "payment_id"         UUID PRIMARY KEY,
  "order_id"           UUID NOT NULL,
  "amount_cents"       INT NOT NULL,
  "currency"           CHAR(3) NOT NULL,
  "card_last4"         CHAR(4) NOT NULL,
  -- charging (claimed: the provider is being asked, until claimed_until), then succeeded, declined,
  -- timed_out or already_paid (refused: the order was paid under another payment id), and refunded.
  "status"             VARCHAR(20) NOT NULL,
  "claimed_until"      TIMESTAMPTZ(3),
  "provider_reference" VARCHAR(100),
  "created_at"         TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "settled_at"         TIMESTAMPTZ(3),
  "refunded_at"        TIMESTAMPTZ(3),
  "refund_reason"      VARCHAR(20),
  CONSTRAINT "payments_status_known"
    CHECK ("status" IN ('charging', 'succeeded', 'declined', 'timed_out', 'already_paid', 'refunded')),
  CONSTRAINT "payments_amount_non_negative" CHECK ("amount_cents" >= 0),
  CONSTRAINT "payments_card_last4_digits" CHECK ("card_last4" ~ '^[0-9]{4}$'),
  CONSTRAINT "payments_refund_reason_known"
    CHECK ("refund_reason" IS NULL OR "refund_reason" IN ('late-payment', 'cancelled'))
);

-- An order has at most one charge being taken or taken: a second payment id for it waits while the
-- first is charging, and is refused (ALREADY_PAID) once it succeeded. Never two charges of one order.
CREATE UNIQUE INDEX "payments_one_charge_per_order"
  ON "payment"."payments" ("order_id") WHERE "status" IN ('charging', 'succeeded');
CREATE INDEX "payments_order_id_idx" ON "payment"."payments" ("order_id");

REVOKE ALL ON SCHEMA "payment" FROM PUBLIC;
GRANT USAGE ON SCHEMA "payment" TO "payment";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "payment" TO "payment";
ALTER DEFAULT PRIVILEGES IN SCHEMA "payment" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "payment";
ALTER DEFAULT PRIVILEGES IN SCHEMA "payment" GRANT USAGE, SELECT ON SEQUENCES TO "payment";
ALTER ROLE "payment" SET search_path = "payment";

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO "payment"', current_database());
  EXECUTE format(
    'ALTER DATABASE %I SET search_path = "$user", public, order_api, notify_worker, report_worker, identity, payment',
    current_database());
END
$$;
