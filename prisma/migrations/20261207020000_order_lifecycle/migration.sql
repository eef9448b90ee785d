-- Orders are paid, cancelled or expire. An order's life is decided by one transition table in order-api
-- (src/lifecycle/order-lifecycle.ts); these columns are what it reads and writes, always under the
-- order's row lock.
--
-- Statuses: placed (stock reserved until pay_by) → paid → completed (paid, emailed, PDF written), or
-- cancelled / expired / refunded, which give the stock back (stock_returned_at, once). notified and
-- reported stop being statuses: they were fulfilment steps, and stay as notified_at / reported_at.
ALTER TYPE "order_api"."order_status" RENAME TO "order_status_before_payment";
CREATE TYPE "order_api"."order_status" AS ENUM ('placed', 'paid', 'completed', 'cancelled', 'expired', 'refunded');

ALTER TABLE "order_api"."orders"
  ADD COLUMN "pay_by" TIMESTAMPTZ(3),
  ADD COLUMN "paid_at" TIMESTAMPTZ(3),
  ADD COLUMN "completed_at" TIMESTAMPTZ(3),
  ADD COLUMN "cancelled_at" TIMESTAMPTZ(3),
  ADD COLUMN "expired_at" TIMESTAMPTZ(3),
  ADD COLUMN "refunded_at" TIMESTAMPTZ(3),
  -- A paid order whose owner cancelled it: the refund is asked for; it is cancelled when it comes.
  ADD COLUMN "cancel_requested_at" TIMESTAMPTZ(3),
  -- When the reservation's units went back to stock: set once, by the transition that ended it.
  ADD COLUMN "stock_returned_at" TIMESTAMPTZ(3),
  -- The latest charge attempt (one at a time), whether it still waits for its result, and why it failed.
  ADD COLUMN "payment_id" UUID,
  ADD COLUMN "payment_pending" BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN "payment_failure" VARCHAR(40),
  -- The attempt that paid the order, and one that succeeded after the order had ended (refunded).
  ADD COLUMN "paid_payment_id" UUID,
  ADD COLUMN "late_payment_id" UUID;

-- Orders placed before orders had to be paid were final when accepted: they count as paid then, and
-- completed as before when both steps were done.
ALTER TABLE "order_api"."orders" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "order_api"."orders"
  ALTER COLUMN "status" TYPE "order_api"."order_status"
  USING (CASE "status"::TEXT WHEN 'completed' THEN 'completed' ELSE 'paid' END)::"order_api"."order_status";
ALTER TABLE "order_api"."orders" ALTER COLUMN "status" SET DEFAULT 'placed';
UPDATE "order_api"."orders"
   SET "pay_by" = "created_at",
       "paid_at" = "created_at",
       "completed_at" = CASE WHEN "status" = 'completed' THEN greatest("notified_at", "reported_at") END;
ALTER TABLE "order_api"."orders" ALTER COLUMN "pay_by" SET NOT NULL;
DROP TYPE "order_api"."order_status_before_payment";

-- place_orders also sets each order's pay_by and writes a third outbox row, its deadline
-- (order.payment-due.v1), published through the default exchange into the window's delay queue; the two
-- order.placed.v1 messages carry payBy. Everything else is as in 20261207010000_order_owners (outcomes,
-- locks and their order); a new signature is a new function, so the old one is dropped.
DROP FUNCTION "order_api"."place_orders"(UUID[], TEXT[], TEXT[], TEXT[], TEXT[], UUID[], TEXT[], UUID[], UUID[],
                                         INT[], TEXT[], INT[], TEXT, TEXT, TEXT, TEXT);

CREATE FUNCTION "order_api"."place_orders"(
  order_ids UUID[],
  idempotency_keys TEXT[],
  request_hashes TEXT[],
  customer_emails TEXT[],
  customer_names TEXT[],
  -- The signed-in customer each order belongs to (identity's token `sub`), NULL for a guest order.
  customer_ids UUID[],
  correlation_ids TEXT[],
  notify_message_ids UUID[],
  report_message_ids UUID[],
  deadline_message_ids UUID[],
  -- Lines of all orders, order after order; line_counts[i] is how many belong to order i.
  line_counts INT[],
  line_skus TEXT[],
  line_quantities INT[],
  -- Names from the messaging contract, passed in so they are written down in one place only.
  event_exchange TEXT,
  notify_routing_key TEXT,
  report_routing_key TEXT,
  event_type TEXT,
  -- How long each reservation lasts, and the delay queue its deadline waits in (order_payment_due.<window>).
  payment_window_ms INT,
  deadline_queue TEXT,
  deadline_type TEXT
)
RETURNS TABLE (
  ord INT,
  outcome TEXT,
  skus TEXT[],
  units_left INT[],
  created_at TIMESTAMPTZ,
  total_cents INT,
  items JSONB,
  notify_payload TEXT,
  report_payload TEXT,
  pay_by TIMESTAMPTZ,
  deadline_payload TEXT
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  batch_size CONSTANT INT := cardinality(order_ids);
  -- Stored with millisecond precision, like every timestamp column here.
  placed_at CONSTANT TIMESTAMPTZ := date_trunc('milliseconds', now());
  placed_at_text CONSTANT TEXT := to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  -- Every order of the batch has the same window, hence the same deadline.
  paying_by CONSTANT TIMESTAMPTZ := placed_at + make_interval(secs => payment_window_ms / 1000.0);
  paying_by_text CONSTANT TEXT := to_char(paying_by AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  key_hash INT;
  product_ids UUID[];
  product_skus TEXT[];
  product_names TEXT[];
  product_prices INT[];
  stock_now INT[];
  used_keys TEXT[];
  first_line INT := 1;
  last_line INT;
  i INT;
  l INT;
  p INT;
  unknown TEXT[];
  short TEXT[];
  total BIGINT;
  data JSONB;
  notify_message JSONB;
  report_message JSONB;
  deadline_message JSONB;
  new_order_ids UUID[] := '{}';
  new_keys TEXT[] := '{}';
  new_hashes TEXT[] := '{}';
  new_emails TEXT[] := '{}';
  new_names TEXT[] := '{}';
  new_customer_ids UUID[] := '{}';
  new_correlation_ids TEXT[] := '{}';
  new_totals INT[] := '{}';
  item_order_ids UUID[] := '{}';
  item_line_nos INT[] := '{}';
  item_product_ids UUID[] := '{}';
  item_skus TEXT[] := '{}';
  item_names TEXT[] := '{}';
  item_prices INT[] := '{}';
  item_quantities INT[] := '{}';
  outbox_ids UUID[] := '{}';
  outbox_exchanges TEXT[] := '{}';
  outbox_types TEXT[] := '{}';
  outbox_routing_keys TEXT[] := '{}';
  outbox_payloads JSONB[] := '{}';
  outbox_headers JSONB[] := '{}';
BEGIN
  FOR key_hash IN
    SELECT DISTINCT hashtext(k) FROM unnest(idempotency_keys) AS k WHERE k IS NOT NULL ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(hashtext('orders.idempotency_key'), key_hash);
  END LOOP;

  SELECT array_agg(x.id), array_agg(x.sku), array_agg(x.name), array_agg(x.price_cents), array_agg(x.stock)
    INTO product_ids, product_skus, product_names, product_prices, stock_now
    FROM (SELECT pr.id, pr.sku, pr.name, pr.price_cents, pr.stock
            FROM "products" pr
           WHERE pr.sku = ANY(line_skus)
           ORDER BY pr.id
             FOR UPDATE) x;
  product_skus := COALESCE(product_skus, '{}');

  SELECT COALESCE(array_agg(o.idempotency_key), '{}') INTO used_keys
    FROM "orders" o
   WHERE o.idempotency_key = ANY(idempotency_keys);

  FOR i IN 1 .. COALESCE(batch_size, 0) LOOP
    last_line := first_line + line_counts[i] - 1;
    ord := i;
    skus := NULL;
    units_left := NULL;
    created_at := NULL;
    total_cents := NULL;
    items := NULL;
    notify_payload := NULL;
    report_payload := NULL;
    pay_by := NULL;
    deadline_payload := NULL;

    IF idempotency_keys[i] IS NOT NULL AND idempotency_keys[i] = ANY(used_keys) THEN
      outcome := 'replay';
    ELSE
      unknown := '{}';
      short := '{}';
      total := 0;
      FOR l IN first_line .. last_line LOOP
        p := array_position(product_skus, line_skus[l]);
        IF p IS NULL THEN
          unknown := unknown || line_skus[l];
        ELSE
          IF line_quantities[l] > stock_now[p] THEN
            short := short || line_skus[l];
          END IF;
          total := total + product_prices[p]::BIGINT * line_quantities[l];
        END IF;
      END LOOP;

      IF cardinality(unknown) > 0 THEN
        outcome := 'unknown_sku';
        skus := unknown;
      ELSIF cardinality(short) > 0 THEN
        outcome := 'out_of_stock';
        skus := short;
        units_left := ARRAY(SELECT stock_now[array_position(product_skus, line_skus[l])]
                              FROM generate_series(first_line, last_line) AS l);
      ELSIF total > 2147483647 THEN
        outcome := 'too_big';
      ELSE
        outcome := 'placed';
        items := '[]'::JSONB;
        units_left := '{}';
        FOR l IN first_line .. last_line LOOP
          p := array_position(product_skus, line_skus[l]);
          stock_now[p] := stock_now[p] - line_quantities[l];
          units_left := units_left || stock_now[p];
          items := items || jsonb_build_object('sku', line_skus[l], 'name', product_names[p],
                                               'quantity', line_quantities[l], 'unitPriceCents', product_prices[p]);
          item_order_ids := item_order_ids || order_ids[i];
          item_line_nos := item_line_nos || (l - first_line + 1);
          item_product_ids := item_product_ids || product_ids[p];
          item_skus := item_skus || line_skus[l];
          item_names := item_names || product_names[p];
          item_prices := item_prices || product_prices[p];
          item_quantities := item_quantities || line_quantities[l];
        END LOOP;
        created_at := placed_at;
        total_cents := total;
        data := jsonb_build_object(
          'orderId', order_ids[i],
          'placedAt', placed_at_text,
          'customer', jsonb_build_object('email', customer_emails[i], 'name', customer_names[i]),
          'items', items,
          'totalCents', total,
          'currency', 'EUR',
          'payBy', paying_by_text);
        notify_message := jsonb_build_object('messageId', notify_message_ids[i], 'type', event_type, 'version', 1,
                                             'occurredAt', placed_at_text, 'correlationId', correlation_ids[i],
                                             'data', data);
        report_message := jsonb_set(notify_message, '{messageId}', to_jsonb(report_message_ids[i]));
        deadline_message := jsonb_build_object('messageId', deadline_message_ids[i], 'type', deadline_type,
                                               'version', 1, 'occurredAt', placed_at_text,
                                               'correlationId', correlation_ids[i],
                                               'data', jsonb_build_object('orderId', order_ids[i],
                                                                          'payBy', paying_by_text));
        notify_payload := notify_message::TEXT;
        report_payload := report_message::TEXT;
        deadline_payload := deadline_message::TEXT;
        pay_by := paying_by;

        new_order_ids := new_order_ids || order_ids[i];
        new_keys := new_keys || idempotency_keys[i];
        new_hashes := new_hashes || request_hashes[i];
        new_emails := new_emails || customer_emails[i];
        new_names := new_names || customer_names[i];
        new_customer_ids := new_customer_ids || customer_ids[i];
        new_correlation_ids := new_correlation_ids || correlation_ids[i];
        new_totals := new_totals || total::INT;
        outbox_ids := outbox_ids || notify_message_ids[i] || report_message_ids[i] || deadline_message_ids[i];
        -- The deadline goes through the default exchange, straight into its window's delay queue.
        outbox_exchanges := outbox_exchanges || event_exchange || event_exchange || ''::TEXT;
        outbox_routing_keys := outbox_routing_keys || notify_routing_key || report_routing_key || deadline_queue;
        outbox_types := outbox_types || event_type || event_type || deadline_type;
        outbox_payloads := outbox_payloads || notify_message || report_message || deadline_message;
        outbox_headers := outbox_headers
          || jsonb_build_object('correlationId', correlation_ids[i], 'order-id', order_ids[i]::TEXT)
          || jsonb_build_object('correlationId', correlation_ids[i], 'order-id', order_ids[i]::TEXT)
          || jsonb_build_object('correlationId', correlation_ids[i], 'order-id', order_ids[i]::TEXT);
        IF idempotency_keys[i] IS NOT NULL THEN
          used_keys := used_keys || idempotency_keys[i];
        END IF;
      END IF;
    END IF;

    RETURN NEXT;
    first_line := last_line + 1;
  END LOOP;

  IF cardinality(new_order_ids) = 0 THEN
    RETURN;
  END IF;

  UPDATE "products" pr
     SET stock = s.stock, updated_at = now()
    FROM unnest(product_ids, stock_now) AS s(id, stock)
   WHERE pr.id = s.id AND pr.stock <> s.stock;

  INSERT INTO "orders" (id, idempotency_key, request_hash, customer_email, customer_name, customer_id,
                        total_cents, currency, correlation_id, created_at, updated_at, pay_by)
  SELECT o.id, o.idempotency_key, o.request_hash, o.email, o.name, o.customer_id, o.total, 'EUR',
         o.correlation_id, placed_at, placed_at, paying_by
    FROM unnest(new_order_ids, new_keys, new_hashes, new_emails, new_names, new_customer_ids, new_totals,
                new_correlation_ids)
         AS o(id, idempotency_key, request_hash, email, name, customer_id, total, correlation_id);

  INSERT INTO "order_items" (order_id, line_no, product_id, sku, name, unit_price_cents, quantity)
  SELECT * FROM unnest(item_order_ids, item_line_nos, item_product_ids, item_skus, item_names, item_prices,
                       item_quantities);

  INSERT INTO "outbox_messages" (id, exchange, routing_key, message_type, payload, headers, created_at,
                                 next_attempt_at)
  SELECT m.id, m.exchange, m.routing_key, m.message_type, m.payload, m.headers, placed_at, placed_at
    FROM unnest(outbox_ids, outbox_exchanges, outbox_routing_keys, outbox_types, outbox_payloads, outbox_headers)
         AS m(id, exchange, routing_key, message_type, payload, headers);
END
$$;

-- It names its tables unqualified: it resolves them in order_api whoever calls it.
ALTER FUNCTION "order_api"."place_orders" SET search_path = "order_api";
GRANT EXECUTE ON FUNCTION "order_api"."place_orders" TO "order_api";
