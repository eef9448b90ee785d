-- AlterTable
ALTER TABLE "orders" ADD COLUMN "notified_at" TIMESTAMPTZ(3),
ADD COLUMN "reported_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "order_notifications" (
    "order_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "recipient" VARCHAR(254) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "claimed_until" TIMESTAMPTZ(3),
    "smtp_message_id" VARCHAR(255),
    "smtp_response" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "order_notifications_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "order_reports" (
    "order_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "file_name" VARCHAR(255) NOT NULL,
    "bytes" INTEGER NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_reports_pkey" PRIMARY KEY ("order_id")
);

-- AddForeignKey
ALTER TABLE "order_notifications" ADD CONSTRAINT "order_notifications_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_reports" ADD CONSTRAINT "order_reports_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written below.
ALTER TABLE "order_notifications" ADD CONSTRAINT "order_notifications_status_known" CHECK ("status" IN ('sending', 'sent'));
