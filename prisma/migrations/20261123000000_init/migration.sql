-- CreateEnum
CREATE TYPE "order_status" AS ENUM ('placed', 'notified', 'reported', 'completed');

-- CreateTable
CREATE TABLE "products" (
    "id" UUID NOT NULL,
    "sku" VARCHAR(64) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "price_cents" INTEGER NOT NULL,
    "stock" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "products_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "orders" (
    "id" UUID NOT NULL,
    "idempotency_key" VARCHAR(200),
    "request_hash" CHAR(64) NOT NULL,
    "customer_email" VARCHAR(254) NOT NULL,
    "customer_name" VARCHAR(200) NOT NULL,
    "status" "order_status" NOT NULL DEFAULT 'placed',
    "total_cents" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL DEFAULT 'EUR',
    "correlation_id" VARCHAR(100) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_items" (
    "order_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "product_id" UUID NOT NULL,
    "sku" VARCHAR(64) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "unit_price_cents" INTEGER NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "order_items_pkey" PRIMARY KEY ("order_id","line_no")
);

-- CreateTable
CREATE TABLE "outbox_messages" (
    "id" UUID NOT NULL,
    "exchange" VARCHAR(255) NOT NULL,
    "routing_key" VARCHAR(255) NOT NULL,
    "message_type" VARCHAR(100) NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,

    CONSTRAINT "outbox_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "products_sku_key" ON "products"("sku");

-- CreateIndex
CREATE UNIQUE INDEX "orders_idempotency_key_key" ON "orders"("idempotency_key");

-- CreateIndex
CREATE INDEX "orders_created_at_idx" ON "orders"("created_at");

-- CreateIndex
CREATE INDEX "order_items_product_id_idx" ON "order_items"("product_id");

-- AddForeignKey
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_product_id_fkey" FOREIGN KEY ("product_id") REFERENCES "products"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written below: rules Prisma's schema language cannot express.

-- No oversell, even if application code is wrong: the database refuses negative stock.
ALTER TABLE "products" ADD CONSTRAINT "products_stock_non_negative" CHECK ("stock" >= 0);
ALTER TABLE "products" ADD CONSTRAINT "products_price_non_negative" CHECK ("price_cents" >= 0);
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_quantity_positive" CHECK ("quantity" > 0);

-- The relay's sweep only ever looks at unpublished rows; keep that index small.
CREATE INDEX "outbox_messages_unpublished_idx" ON "outbox_messages"("next_attempt_at") WHERE "published_at" IS NULL;

-- Called at the end of the single-statement order placement (services/order-api/src/orders/place-order.sql.ts).
-- When not every requested line could take its stock, it raises, which rolls back the whole statement
-- (stock, order, items, outbox) and tells the caller why. The idempotency check runs first, so a retry
-- of an accepted order is never reported as sold out.
CREATE FUNCTION "reject_incomplete_order"(requested_skus TEXT[], taken_skus TEXT[], idempotency_key TEXT)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
  unknown_skus TEXT[];
  short_skus TEXT[];
BEGIN
  IF cardinality(taken_skus) = cardinality(requested_skus) THEN
    RETURN TRUE;
  END IF;
  IF idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM "orders" o WHERE o."idempotency_key" = reject_incomplete_order.idempotency_key) THEN
    RAISE EXCEPTION 'IDEMPOTENT_REPLAY' USING ERRCODE = 'P0001', DETAIL = idempotency_key;
  END IF;
  SELECT array_agg(s) INTO unknown_skus FROM unnest(requested_skus) AS s
   WHERE NOT EXISTS (SELECT 1 FROM "products" p WHERE p."sku" = s);
  IF unknown_skus IS NOT NULL THEN
    RAISE EXCEPTION 'UNKNOWN_SKU' USING ERRCODE = 'P0001', DETAIL = array_to_string(unknown_skus, ',');
  END IF;
  SELECT array_agg(s) INTO short_skus FROM unnest(requested_skus) AS s WHERE s <> ALL (taken_skus);
  RAISE EXCEPTION 'OUT_OF_STOCK' USING ERRCODE = 'P0001', DETAIL = array_to_string(short_skus, ',');
END
$$;
