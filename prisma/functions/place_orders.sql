-- place_orders: places a batch of orders in one statement (one transaction, one commit flush), each with
-- its own outcome, in batch order. This file is the function's one source: the migration runner applies
-- it after the migrations and again whenever its text changes (checksums in "_function_files"), so a
-- change is a diff here. The prepared statement that calls it is named place-orders-v<N>: a new result
-- type needs a new N, since a prepared statement cannot change its result type.
--
-- Outcomes: placed, replay (the Idempotency-Key has an order), unknown_sku, out_of_stock, too_big,
-- sale_not_open, sale_closed, sign_in_required, limit_per_customer (skus: the lines at fault). A sale's
-- rules apply in the same transaction as the stock, before it; each order reserves its stock for its
-- sale's payment window (the shortest when it names several), or the default outside any sale.
--
-- A placed order's three outbox rows (order.placed.v1 to order.notify and order.report, its deadline to
-- its window's delay queue) hold each message's data; the relay wraps it in the envelope (envelopeOf in
-- @shop/contracts) when it publishes. The rows come back in `outbox`, as the relay's sweep reads them.

-- Whatever version exists (any argument list) makes way for this one.
DO $$
DECLARE
  existing REGPROCEDURE;
BEGIN
  FOR existing IN
    SELECT p.oid::REGPROCEDURE
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'order_api' AND p.proname = 'place_orders'
  LOOP
    EXECUTE format('DROP FUNCTION %s', existing);
  END LOOP;
END
$$;

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
  -- How long a reservation lasts outside any sale, and the delay queue its deadline waits in
  -- (order_payment_due.<window>); an order of a sale has its sale's.
  default_payment_window_ms INT,
  default_deadline_queue TEXT,
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
  pay_by TIMESTAMPTZ,
  -- placed: the outbox rows written for it: [{id, exchange, routing_key, message_type, payload, headers}]
  outbox JSONB
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  batch_size CONSTANT INT := cardinality(order_ids);
  -- Stored with millisecond precision, like every timestamp column here.
  placed_at CONSTANT TIMESTAMPTZ := date_trunc('milliseconds', now());
  placed_at_text CONSTANT TEXT := to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  paying_by TIMESTAMPTZ;
  paying_by_text TEXT;
  order_window_ms INT;
  order_deadline_queue TEXT;
  -- The sales of the batch's products, and the units each (customer, sale product) holds: key
  -- '<customer id>|<sku>'.
  sale_skus TEXT[] := '{}';
  sale_opens TIMESTAMPTZ[];
  sale_closes TIMESTAMPTZ[];
  sale_limits INT[];
  sale_windows INT[];
  sale_queues TEXT[];
  held JSONB := '{}';
  held_key TEXT;
  sp INT;
  sale_window_set BOOLEAN;
  not_open TEXT[];
  closed TEXT[];
  guest_lines TEXT[];
  over_limit TEXT[];
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
  deadline_data JSONB;
  headers JSONB;
  new_order_ids UUID[] := '{}';
  new_keys TEXT[] := '{}';
  new_hashes TEXT[] := '{}';
  new_emails TEXT[] := '{}';
  new_names TEXT[] := '{}';
  new_customer_ids UUID[] := '{}';
  new_correlation_ids TEXT[] := '{}';
  new_totals INT[] := '{}';
  new_pay_bys TIMESTAMPTZ[] := '{}';
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

  SELECT COALESCE(array_agg(sa.sku), '{}'), array_agg(sa.opens_at), array_agg(sa.closes_at),
         array_agg(sa.limit_per_customer), array_agg(sa.payment_window_ms), array_agg(sa.deadline_queue)
    INTO sale_skus, sale_opens, sale_closes, sale_limits, sale_windows, sale_queues
    FROM "sales" sa
   WHERE sa.sku = ANY(line_skus);

  -- Read under the products' row locks: no other transaction can add an order for these products now.
  IF cardinality(sale_skus) > 0 THEN
    SELECT COALESCE(jsonb_object_agg(h.k, h.units), '{}') INTO held
      FROM (SELECT o.customer_id::TEXT || '|' || i.sku AS k, sum(i.quantity) AS units
              FROM "orders" o
              JOIN "order_items" i ON i.order_id = o.id
              JOIN "sales" sa ON sa.sku = i.sku
             WHERE o.customer_id = ANY(customer_ids)
               AND sa.sku = ANY(sale_skus)
               AND o.created_at >= sa.opens_at
               AND o.status IN ('placed', 'paid', 'completed')
             GROUP BY 1) h;
  END IF;

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
    pay_by := NULL;
    outbox := NULL;

    IF idempotency_keys[i] IS NOT NULL AND idempotency_keys[i] = ANY(used_keys) THEN
      outcome := 'replay';
    ELSE
      unknown := '{}';
      short := '{}';
      not_open := '{}';
      closed := '{}';
      guest_lines := '{}';
      over_limit := '{}';
      order_window_ms := default_payment_window_ms;
      order_deadline_queue := default_deadline_queue;
      sale_window_set := false;
      total := 0;
      FOR l IN first_line .. last_line LOOP
        sp := array_position(sale_skus, line_skus[l]);
        IF sp IS NOT NULL THEN
          IF placed_at < sale_opens[sp] THEN
            not_open := not_open || line_skus[l];
          ELSIF placed_at >= sale_closes[sp] THEN
            closed := closed || line_skus[l];
          ELSIF customer_ids[i] IS NULL THEN
            guest_lines := guest_lines || line_skus[l];
          ELSIF COALESCE((held ->> (customer_ids[i]::TEXT || '|' || line_skus[l]))::INT, 0) + line_quantities[l]
                > sale_limits[sp] THEN
            over_limit := over_limit || line_skus[l];
          END IF;
          -- An order naming several sales' products keeps its units for the shortest of their windows.
          IF NOT sale_window_set OR sale_windows[sp] < order_window_ms THEN
            order_window_ms := sale_windows[sp];
            order_deadline_queue := sale_queues[sp];
            sale_window_set := true;
          END IF;
        END IF;
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

      IF cardinality(not_open) > 0 THEN
        outcome := 'sale_not_open';
        skus := not_open;
      ELSIF cardinality(closed) > 0 THEN
        outcome := 'sale_closed';
        skus := closed;
      ELSIF cardinality(guest_lines) > 0 THEN
        outcome := 'sign_in_required';
        skus := guest_lines;
      ELSIF cardinality(unknown) > 0 THEN
        outcome := 'unknown_sku';
        skus := unknown;
      ELSIF cardinality(short) > 0 THEN
        outcome := 'out_of_stock';
        skus := short;
        units_left := ARRAY(SELECT stock_now[array_position(product_skus, line_skus[l])]
                              FROM generate_series(first_line, last_line) AS l);
      ELSIF cardinality(over_limit) > 0 THEN
        outcome := 'limit_per_customer';
        skus := over_limit;
      ELSIF total > 2147483647 THEN
        outcome := 'too_big';
      ELSE
        outcome := 'placed';
        paying_by := placed_at + make_interval(secs => order_window_ms / 1000.0);
        paying_by_text := to_char(paying_by AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
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
          IF customer_ids[i] IS NOT NULL AND line_skus[l] = ANY(sale_skus) THEN
            held_key := customer_ids[i]::TEXT || '|' || line_skus[l];
            held := held || jsonb_build_object(held_key, COALESCE((held ->> held_key)::INT, 0) + line_quantities[l]);
          END IF;
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
        deadline_data := jsonb_build_object('orderId', order_ids[i], 'payBy', paying_by_text);
        headers := jsonb_build_object('correlationId', correlation_ids[i], 'order-id', order_ids[i]::TEXT);
        pay_by := paying_by;
        -- The deadline goes through the default exchange, straight into its window's delay queue.
        outbox := jsonb_build_array(
          jsonb_build_object('id', notify_message_ids[i], 'exchange', event_exchange, 'routing_key', notify_routing_key,
                             'message_type', event_type, 'payload', data, 'headers', headers),
          jsonb_build_object('id', report_message_ids[i], 'exchange', event_exchange, 'routing_key', report_routing_key,
                             'message_type', event_type, 'payload', data, 'headers', headers),
          jsonb_build_object('id', deadline_message_ids[i], 'exchange', '', 'routing_key', order_deadline_queue,
                             'message_type', deadline_type, 'payload', deadline_data, 'headers', headers));

        new_order_ids := new_order_ids || order_ids[i];
        new_keys := new_keys || idempotency_keys[i];
        new_hashes := new_hashes || request_hashes[i];
        new_emails := new_emails || customer_emails[i];
        new_names := new_names || customer_names[i];
        new_customer_ids := new_customer_ids || customer_ids[i];
        new_correlation_ids := new_correlation_ids || correlation_ids[i];
        new_totals := new_totals || total::INT;
        new_pay_bys := new_pay_bys || paying_by;
        outbox_ids := outbox_ids || notify_message_ids[i] || report_message_ids[i] || deadline_message_ids[i];
        outbox_exchanges := outbox_exchanges || event_exchange || event_exchange || ''::TEXT;
        outbox_routing_keys := outbox_routing_keys || notify_routing_key || report_routing_key || order_deadline_queue;
        outbox_types := outbox_types || event_type || event_type || deadline_type;
        outbox_payloads := outbox_payloads || data || data || deadline_data;
        outbox_headers := outbox_headers || headers || headers || headers;
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
         o.correlation_id, placed_at, placed_at, o.pay_by
    FROM unnest(new_order_ids, new_keys, new_hashes, new_emails, new_names, new_customer_ids, new_totals,
                new_correlation_ids, new_pay_bys)
         AS o(id, idempotency_key, request_hash, email, name, customer_id, total, correlation_id, pay_by);

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
