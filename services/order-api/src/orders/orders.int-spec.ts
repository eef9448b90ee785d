import {
  DEFAULT_PAYMENT_WINDOW_MS,
  MessageTypes,
  OrderPlacedV1,
  paymentDueQueueOf,
  Queues,
  RoutingKeys,
  validateMessage,
} from '@shop/contracts';
import { BrokerProbe, createTestPool, insertProduct, resetDatabase, waitFor } from '@shop/testing';
import type { Pool } from 'pg';
import { bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

const customer = { email: 'Wang.Xiaoming@Example.cn', name: '王小明' };

describe('POST /orders (real PostgreSQL and RabbitMQ)', () => {
  let api: OrderApiHarness;
  let pool: Pool;
  let broker: BrokerProbe;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    api = await startOrderApi();
    await waitFor('order-api health', async () => (await api.get('/health')).status === 200);
  });

  afterAll(async () => {
    await api?.close();
    await broker?.close();
    await pool?.end();
  });

  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.orderNotify, Queues.orderReport, paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS));
    await insertProduct(pool, { sku: 'TEA-001', name: '龙井茶 Longjing tea', priceCents: 1250, stock: 10 });
    await insertProduct(pool, { sku: 'KIM-002', name: '한국 김 seaweed', priceCents: 480, stock: 5 });
  });

  const stockOf = async (sku: string) =>
    (await pool.query<{ stock: number }>('SELECT stock FROM products WHERE sku = $1', [sku])).rows[0].stock;
  const countRows = async (table: 'orders' | 'order_items' | 'outbox_messages') =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  it('writes the order, its items and outbox rows, and publishes one message per routing key', async () => {
    const response = await api.post(
      '/orders',
      {
        customer,
        items: [
          { sku: 'TEA-001', quantity: 2 },
          { sku: 'KIM-002', quantity: 1 },
        ],
      },
      { 'x-correlation-id': 'corr-happy-path' },
    );

    expect(response.status).toBe(201);
    const order = response.body;
    expect(response.headers.get('location')).toBe(`/orders/${order.id}`);
    expect(order).toMatchObject({
      status: 'placed',
      customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
      items: [
        {
          sku: 'TEA-001',
          name: '龙井茶 Longjing tea',
          quantity: 2,
          unitPriceCents: 1250,
          lineTotalCents: 2500,
        },
        { sku: 'KIM-002', name: '한국 김 seaweed', quantity: 1, unitPriceCents: 480, lineTotalCents: 480 },
      ],
      totalCents: 2980,
      currency: 'EUR',
    });

    const { rows: orders } = await pool.query('SELECT * FROM orders WHERE id = $1', [order.id]);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({
      total_cents: 2980,
      status: 'placed',
      correlation_id: 'corr-happy-path',
    });
    expect(await countRows('order_items')).toBe(2);
    expect(await stockOf('TEA-001')).toBe(8);
    expect(await stockOf('KIM-002')).toBe(4);

    const notify = await broker.waitForMessages(Queues.orderNotify, 1);
    const report = await broker.waitForMessages(Queues.orderReport, 1);
    for (const [message, routingKey] of [
      [notify[0], RoutingKeys.orderNotify],
      [report[0], RoutingKeys.orderReport],
    ] as const) {
      expect(message.fields.exchange).toBe('order');
      expect(message.fields.routingKey).toBe(routingKey);
      expect(message.properties).toMatchObject({
        contentType: 'application/json',
        type: MessageTypes.orderPlacedV1,
        appId: 'order-api',
        correlationId: 'corr-happy-path',
        deliveryMode: 2,
        headers: expect.objectContaining({ 'order-id': order.id }),
      });
      expect(Math.abs(message.properties.timestamp - Date.now() / 1000)).toBeLessThan(60);
      const validated = validateMessage(OrderPlacedV1, message.content);
      if (!validated.ok) throw new Error(validated.reason);
      expect(validated.message.messageId).toBe(message.properties.messageId);
      expect(validated.message.correlationId).toBe('corr-happy-path');
      expect(validated.message.data).toMatchObject({
        orderId: order.id,
        customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
        items: [
          { sku: 'TEA-001', quantity: 2, unitPriceCents: 1250 },
          { sku: 'KIM-002', quantity: 1, unitPriceCents: 480 },
        ],
        totalCents: 2980,
      });
    }
    expect(notify[0].properties.messageId).not.toBe(report[0].properties.messageId);

    // The third row: the reservation's deadline, waiting in the default window's delay queue.
    const deadlineQueue = paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS);
    const [deadline] = await broker.waitForMessages(deadlineQueue, 1);
    expect(deadline.fields).toMatchObject({ exchange: '', routingKey: deadlineQueue });
    expect(deadline.properties).toMatchObject({
      type: MessageTypes.orderPaymentDueV1,
      correlationId: 'corr-happy-path',
      deliveryMode: 2,
      headers: expect.objectContaining({ 'order-id': order.id }),
    });
    expect(JSON.parse(deadline.content.toString()).data).toEqual({ orderId: order.id, payBy: order.payBy });
    expect(new Date(order.payBy).getTime() - new Date(order.createdAt).getTime()).toBe(
      DEFAULT_PAYMENT_WINDOW_MS,
    );

    await waitFor('outbox rows marked published', async () => {
      const { rows } = await pool.query(
        'SELECT count(*) AS n FROM outbox_messages WHERE published_at IS NOT NULL',
      );
      return Number(rows[0].n) === 3;
    });
    // Exactly one each: nothing more arrives (the sweep must not republish marked rows).
    await api.relay.sweep();
    expect(await broker.messageCount(Queues.orderNotify)).toBe(0);
    expect(await broker.messageCount(Queues.orderReport)).toBe(0);
  });

  it('serves the order with GET /orders/:id to the holder of its access token', async () => {
    const placed = await api.post('/orders', { customer, items: [{ sku: 'TEA-001', quantity: 1 }] });
    expect(placed.body.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const fetched = await api.get(`/orders/${placed.body.id}`, bearer(placed.body.accessToken));
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(placed.body);
    const byQuery = await api.get(`/orders/${placed.body.id}?accessToken=${placed.body.accessToken}`);
    expect(byQuery.body).toEqual(placed.body);

    const missing = await api.get(
      '/orders/2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11',
      bearer(placed.body.accessToken),
    );
    expect(missing.body.code).toBe('ORDER_NOT_FOUND');
    const invalid = await api.get('/orders/not-a-uuid', bearer(placed.body.accessToken));
    expect([invalid.status, invalid.body.code]).toEqual([400, 'INVALID_ORDER_ID']);
  });

  describe('refusals leave nothing behind', () => {
    afterEach(async () => {
      expect(await countRows('orders')).toBe(0);
      expect(await countRows('order_items')).toBe(0);
      expect(await countRows('outbox_messages')).toBe(0);
      expect(await stockOf('TEA-001')).toBe(10);
      expect(await stockOf('KIM-002')).toBe(5);
    });

    it('400 VALIDATION_FAILED with one entry per bad field', async () => {
      const response = await api.post('/orders', {
        customer: { email: 'not-an-email', name: '' },
        items: [
          { sku: 'TEA-001', quantity: 0 },
          { sku: 'KIM-002', quantity: 1.5 },
        ],
      });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'customer.email',
        'customer.name',
        'items.0.quantity',
        'items.1.quantity',
      ]);
    });

    it('400 MALFORMED_JSON for a broken body', async () => {
      const response = await api.post('/orders', '{"customer": ');
      expect([response.status, response.body.code]).toEqual([400, 'MALFORMED_JSON']);
    });

    it('415 for another content type', async () => {
      const response = await api.post('/orders', 'customer=wang', { 'content-type': 'text/plain' });
      expect([response.status, response.body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    });

    it('413 for a body over 64 KB', async () => {
      const huge = { customer, items: [{ sku: 'TEA-001', quantity: 1 }], padding: 'x'.repeat(70 * 1024) };
      const response = await api.post('/orders', huge);
      expect([response.status, response.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    });

    it('422 UNKNOWN_SKU naming the sku', async () => {
      const response = await api.post('/orders', {
        customer,
        items: [
          { sku: 'TEA-001', quantity: 1 },
          { sku: 'NO-SUCH-SKU', quantity: 1 },
        ],
      });
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ code: 'UNKNOWN_SKU', skus: ['NO-SUCH-SKU'] });
    });

    it('409 OUT_OF_STOCK, and the lines that had stock are not taken either', async () => {
      const response = await api.post('/orders', {
        customer,
        items: [
          { sku: 'TEA-001', quantity: 3 },
          { sku: 'KIM-002', quantity: 6 },
        ],
      });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ code: 'OUT_OF_STOCK', skus: ['KIM-002'] });
    });

    it('400 for a malformed Idempotency-Key', async () => {
      const response = await api.post(
        '/orders',
        { customer, items: [{ sku: 'TEA-001', quantity: 1 }] },
        { 'idempotency-key': 'x'.repeat(201) },
      );
      expect([response.status, response.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('Idempotency-Key', () => {
    const body = { customer, items: [{ sku: 'TEA-001', quantity: 2 }] };

    it('returns the same order (200) for the same key and body, and 422 for a different body', async () => {
      const first = await api.post('/orders', body, { 'idempotency-key': 'checkout-1' });
      const again = await api.post('/orders', body, { 'idempotency-key': 'checkout-1' });
      expect([first.status, again.status]).toEqual([201, 200]);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('location')).toBe(`/orders/${first.body.id}`);

      const reused = await api.post(
        '/orders',
        { ...body, items: [{ sku: 'TEA-001', quantity: 3 }] },
        { 'idempotency-key': 'checkout-1' },
      );
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      // Names no order: a key is no way to learn of someone else's.
      expect(reused.body).not.toHaveProperty('orderId');
      expect(JSON.stringify(reused.body)).not.toContain(first.body.id);
      expect(await countRows('orders')).toBe(1);
      expect(await stockOf('TEA-001')).toBe(8);
    });

    it('is scoped to its sender: two guests using the same key get two orders, each its own', async () => {
      const key = { 'idempotency-key': 'order-1' };
      const mine = await api.post('/orders', body, key);
      const theirs = await api.post(
        '/orders',
        {
          customer: { email: 'someone.else@example.com', name: 'Someone' },
          items: [{ sku: 'TEA-001', quantity: 3 }],
        },
        key,
      );
      expect([mine.status, theirs.status]).toEqual([201, 201]);
      expect(theirs.body.id).not.toBe(mine.body.id);
      expect(theirs.body.accessToken).not.toBe(mine.body.accessToken);
      expect(await countRows('orders')).toBe(2);
      expect(await stockOf('TEA-001')).toBe(5);

      // Each one's retry finds its own order, with the same access token (stateless: an HMAC of the id).
      const mineAgain = await api.post('/orders', body, key);
      expect([mineAgain.status, mineAgain.body.id, mineAgain.body.accessToken]).toEqual([
        200,
        mine.body.id,
        mine.body.accessToken,
      ]);
      // Email case does not change the scope: it is the same guest.
      const shouted = await api.post(
        '/orders',
        { ...body, customer: { ...customer, email: customer.email.toUpperCase() } },
        key,
      );
      expect([shouted.status, shouted.body.id]).toEqual([200, mine.body.id]);
    });

    it('replays the order even once its stock is sold out', async () => {
      const first = await api.post(
        '/orders',
        { customer, items: [{ sku: 'KIM-002', quantity: 5 }] },
        { 'idempotency-key': 'all-the-kim' },
      );
      const again = await api.post(
        '/orders',
        { customer, items: [{ sku: 'KIM-002', quantity: 5 }] },
        { 'idempotency-key': 'all-the-kim' },
      );
      expect([first.status, again.status]).toEqual([201, 200]);
      expect(again.body.id).toBe(first.body.id);
    });

    it('creates exactly one order under 20 concurrent retries of one key', async () => {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          api.post('/orders', body, { 'idempotency-key': 'impatient-client' }),
        ),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(19);
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      expect(await countRows('orders')).toBe(1);
      expect(await countRows('outbox_messages')).toBe(3);
      expect(await stockOf('TEA-001')).toBe(8);
    });
  });

  it('never oversells: 200 concurrent orders for 50 units → exactly 50 accepted', async () => {
    await insertProduct(pool, { sku: 'FLASH-1', name: '秒杀 flash item', priceCents: 999, stock: 50 });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        api.post('/orders', {
          customer: { email: `buyer${i}@example.com`, name: `Buyer ${i}` },
          items: [{ sku: 'FLASH-1', quantity: 1 }],
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 409)).toHaveLength(150);
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.code === 'OUT_OF_STOCK')).toBe(true);
    expect(await stockOf('FLASH-1')).toBe(0);
    expect(await countRows('orders')).toBe(50);
    expect(await countRows('outbox_messages')).toBe(150);
    await broker.waitForMessages(Queues.orderNotify, 50);
  });
});
