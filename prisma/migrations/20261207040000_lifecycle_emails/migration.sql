-- notify-worker's record of the order lifecycle emails (order.paid / .expired / .cancelled / .refunded):
-- one row per order and kind, claimed before the SMTP conversation and marked sent after it, so a
-- redelivered or duplicated event never mails the customer twice. No address is kept here.
CREATE TABLE "notify_worker"."order_lifecycle_emails" (
  "order_id"        UUID NOT NULL,
  -- paid, expired, cancelled or refunded: the event's type without its prefix and version
  "kind"            VARCHAR(20) NOT NULL,
  "message_id"      UUID NOT NULL,
  -- sending (claimed, lease in claimed_until) or sent
  "status"          VARCHAR(20) NOT NULL,
  "claimed_until"   TIMESTAMPTZ(3),
  "smtp_message_id" VARCHAR(255),
  "created_at"      TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "sent_at"         TIMESTAMPTZ(3),
  CONSTRAINT "order_lifecycle_emails_pkey" PRIMARY KEY ("order_id", "kind"),
  CONSTRAINT "order_lifecycle_emails_kind_known" CHECK ("kind" IN ('paid', 'expired', 'cancelled', 'refunded')),
  CONSTRAINT "order_lifecycle_emails_status_known" CHECK ("status" IN ('sending', 'sent'))
);
-- The retention job deletes by age.
CREATE INDEX "order_lifecycle_emails_created_at_idx" ON "notify_worker"."order_lifecycle_emails" ("created_at");
-- The default privileges of 20261202000000_service_schemas cover it already; said here so a reader need not look.
GRANT SELECT, INSERT, UPDATE, DELETE ON "notify_worker"."order_lifecycle_emails" TO "notify_worker";
