import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  insertProduct,
  resetDatabase,
  testConfig,
  vhostOf,
  waitFor,
  type HttpResponse,
} from '@shop/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { asOperator, bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { startTestIdentity, type TestIdentity } from '../testing/test-identity';

const SKU = 'SALE-001';
const ALICE = { sub: '0b8f3a52-6c1d-4e7a-9f20-3d5c8e1b7a41', email: 'alice@example.com' };
const BORIS = { sub: '7d2e9c14-3a6b-4f85-8e01-6b9d4c2f5e73', email: 'boris@example.com' };
const order = (email: string, quantity = 1) => ({
  customer: { email, name: 'Buyer' },
  items: [{ sku: SKU, quantity }],
});
const run = promisify(execFile);

/**
 * Flash-sale rules against the real order-api, PostgreSQL and RabbitMQ: the sale resource, the window,
 * the sign-in, the limit per customer (decided with the stock, given back by a cancel), the sale's
 * payment window, and the queued admission through the waiting room (order_requests) with its tickets.
 */
describe('sales (real PostgreSQL and RabbitMQ)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let identity: TestIdentity;
  let api: OrderApiHarness;
  let aliceJwt: string;
  let borisJwt: string;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    identity = await startTestIdentity();
    // The rate limits are rate-limits.int-spec's: here customers order many times in a row.
    api = await startOrderApi({ IDENTITY_JWKS_URL: identity.jwksUrl, ORDER_RATE_LIMIT_PER_CUSTOMER: '1000' });
    aliceJwt = await identity.sign(ALICE);
    borisJwt = await identity.sign(BORIS);
  });

  afterAll(async () => {
    await api?.close();
    await identity?.close();
    await broker?.close();
    await pool?.end();
  });

  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.orderNotify, Queues.orderReport, Queues.orderRequests);
    await insertProduct(pool, { sku: SKU, name: 'Flash kettle', priceCents: 4900, stock: 10 });
  });

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const putSale = (id: string, sale: Record<string, unknown>, headers = asOperator) =>
    send('PUT', `/sales/${id}`, sale, headers);
  const openSale = (overrides: Record<string, unknown> = {}) =>
    putSale('spring', {
      sku: SKU,
      opensAt: new Date(Date.now() - 1_000).toISOString(),
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
      ...overrides,
    });
  const stock = async () =>
    (await pool.query('SELECT stock FROM products WHERE sku = $1', [SKU])).rows[0].stock;
  const orderCount = async () => Number((await pool.query('SELECT count(*) AS n FROM orders')).rows[0].n);
  const place = (jwt: string | undefined, email: string, quantity = 1, key?: string) =>
    api.post('/orders', order(email, quantity), {
      ...(jwt ? bearer(jwt) : {}),
      ...(key ? { 'idempotency-key': key } : {}),
    });
  /** The catalog hears of a sale saved elsewhere (plain SQL here) through the database's notification. */
  const saleKnown = (state: string) =>
    waitFor(`the sale ${state}`, async () => (await send('GET', '/sales/spring')).body?.state === state);

  it('is created, replaced and read by operators; anyone may read it; bad input gets a code', async () => {
    const created = await openSale({ limitPerCustomer: 2, paymentWindowMs: 90_000 });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/sales/spring');
    expect(created.body).toMatchObject({
      id: 'spring',
      sku: SKU,
      limitPerCustomer: 2,
      paymentWindowMs: 90_000,
      admission: 'direct',
      state: 'open',
      waitingRoom: null,
    });
    expect((await openSale({ admission: 'queued' })).status).toBe(200);
    const read = await send('GET', '/sales/spring');
    expect(read.body).toMatchObject({
      admission: 'queued',
      limitPerCustomer: 1,
      waitingRoom: { size: 10_000 },
    });
    expect((await send('GET', '/sales')).body.map((sale: { id: string }) => sale.id)).toEqual(['spring']);

    expect((await putSale('spring', { sku: SKU }, {})).body.code).toBe('AUTHENTICATION_REQUIRED');
    expect((await putSale('spring', { sku: SKU }, bearer(aliceJwt))).status).toBe(403);
    const invalid = await putSale('spring', {
      sku: SKU,
      opensAt: 'soon',
      closesAt: 'later',
      admission: 'lottery',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((error: { field: string }) => error.field).sort()).toEqual([
      'admission',
      'closesAt',
      'opensAt',
    ]);
    const backwards = await putSale('spring', {
      sku: SKU,
      opensAt: '2026-12-07T10:00:00Z',
      closesAt: '2026-12-07T09:00:00Z',
    });
    expect(backwards.body.errors).toEqual([expect.objectContaining({ field: 'closesAt' })]);
    expect((await putSale('Bad Id', { sku: SKU })).body.code).toBe('VALIDATION_FAILED');
    const unknown = await putSale('autumn', {
      sku: 'NOPE-1',
      opensAt: new Date().toISOString(),
      closesAt: new Date(Date.now() + 1_000).toISOString(),
    });
    expect(unknown).toMatchObject({ status: 422, body: { code: 'UNKNOWN_SKU' } });
    const taken = await putSale('autumn', {
      sku: SKU,
      opensAt: new Date().toISOString(),
      closesAt: new Date(Date.now() + 1_000).toISOString(),
    });
    expect(taken).toMatchObject({ status: 409, body: { code: 'SALE_EXISTS_FOR_SKU', saleId: 'spring' } });
    expect((await send('GET', '/sales/autumn')).body.code).toBe('SALE_NOT_FOUND');

    expect((await send('DELETE', '/sales/spring', undefined, asOperator)).status).toBe(204);
    expect((await send('GET', '/sales/spring')).status).toBe(404);
    // Without its sale the product sells to guests again.
    expect((await place(undefined, 'guest@example.com')).status).toBe(201);
  });

  it('refuses before the window, after it and for guests, touching nothing; the database decides too', async () => {
    const opensAt = new Date(Date.now() + 60_000);
    await openSale({ opensAt: opensAt.toISOString() });
    const updatedAt = (await pool.query('SELECT updated_at FROM products WHERE sku = $1', [SKU])).rows[0]
      .updated_at;

    const early = await place(aliceJwt, ALICE.email);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({
      code: 'SALE_NOT_OPEN',
      opensAt: opensAt.toISOString(),
      saleId: 'spring',
    });
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(early.body.retryAfterSeconds).toBe(Number(early.headers.get('retry-after')));

    // Behind the catalog's back (plain SQL, the notification not yet heard): place_orders refuses it too.
    await pool.query(
      `UPDATE sales SET opens_at = now() + interval '1 hour', closes_at = now() + interval '2 hours' WHERE id = 'spring'`,
    );
    expect((await place(aliceJwt, ALICE.email)).body.code).toBe('SALE_NOT_OPEN');
    expect(await orderCount()).toBe(0);
    expect(await stock()).toBe(10);
    expect(
      (await pool.query('SELECT updated_at FROM products WHERE sku = $1', [SKU])).rows[0].updated_at,
    ).toEqual(updatedAt);

    await pool.query(
      `UPDATE sales SET opens_at = now() - interval '2 hours', closes_at = now() - interval '1 hour'`,
    );
    await saleKnown('closed');
    const late = await place(aliceJwt, ALICE.email);
    expect(late).toMatchObject({ status: 409, body: { code: 'SALE_CLOSED', saleId: 'spring' } });

    await pool.query(`UPDATE sales SET closes_at = now() + interval '1 hour'`);
    await saleKnown('open');
    const guest = await place(undefined, 'guest@example.com');
    expect(guest).toMatchObject({ status: 401, body: { code: 'SIGN_IN_REQUIRED', saleId: 'spring' } });
    expect(await orderCount()).toBe(0);
    expect(await stock()).toBe(10);
    expect((await place(aliceJwt, ALICE.email)).status).toBe(201);
  });

  it('holds each customer to the limit under concurrency, and a cancelled order gives its quota back', async () => {
    await openSale({ limitPerCustomer: 2 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => place(aliceJwt, ALICE.email, 1, `alice-${i}`)),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(2);
    expect(answers.filter((answer) => answer.body.code === 'LIMIT_PER_CUSTOMER')).toHaveLength(10);
    expect(answers.find((answer) => answer.status === 409)!.body.limitPerCustomer).toBe(2);
    expect((await place(borisJwt, BORIS.email, 3)).body.code).toBe('LIMIT_PER_CUSTOMER');
    expect((await place(borisJwt, BORIS.email, 2)).status).toBe(201);
    expect(await stock()).toBe(6);

    // A replay of a placed order is still that order, not a refusal.
    const placedIndex = answers.findIndex((answer) => answer.status === 201);
    const replay = await place(aliceJwt, ALICE.email, 1, `alice-${placedIndex}`);
    expect(replay).toMatchObject({ status: 200, body: { id: answers[placedIndex].body.id } });

    const [first] = answers.filter((answer) => answer.status === 201);
    const cancelled = await api.post(`/orders/${first.body.id}/cancel`, {}, bearer(aliceJwt));
    expect(cancelled.status).toBe(200);
    expect(await stock()).toBe(7);
    expect((await place(aliceJwt, ALICE.email, 1, 'alice-again')).status).toBe(201);
    expect((await place(aliceJwt, ALICE.email, 1, 'alice-more')).body.code).toBe('LIMIT_PER_CUSTOMER');
  });

  it("keeps an order's units for the sale's payment window, its deadline in that window's delay queue", async () => {
    await openSale({ paymentWindowMs: 42_000 });
    await broker.purge('order_payment_due.42s').catch(() => undefined);
    const placed = await place(aliceJwt, ALICE.email);
    expect(placed.status).toBe(201);
    expect(Date.parse(placed.body.payBy) - Date.parse(placed.body.createdAt)).toBe(42_000);
    const [deadline] = await broker.waitForMessages('order_payment_due.42s', 1);
    expect(JSON.parse(deadline.content.toString()).data).toEqual({
      orderId: placed.body.id,
      payBy: placed.body.payBy,
    });
  });

  describe('queued admission', () => {
    const ticketOf = async (response: HttpResponse, jwt: string) => {
      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toBe(`/orders/requests/${response.body.ticket}`);
      return waitFor(
        `ticket ${response.body.ticket} decided`,
        async () => {
          const answer = await api.get(response.headers.get('location')!, bearer(jwt));
          return answer.body.status === 'waiting' ? undefined : answer;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
    };

    it('answers 202 with a ticket, places it in its turn, and refuses the second by the limit', async () => {
      await openSale({ admission: 'queued' });
      const queued = await place(aliceJwt, ALICE.email);
      expect(queued.body).toMatchObject({ status: 'waiting', position: expect.any(Number) });
      const placed = await ticketOf(queued, aliceJwt);
      expect(placed.status).toBe(200);
      expect(placed.body).toMatchObject({
        status: 'placed',
        order: { status: 'placed', customerId: ALICE.sub },
      });
      expect(placed.body.order.accessToken).toEqual(expect.any(String));
      const row = await pool.query('SELECT customer_id, order_id FROM order_request_outcomes');
      expect(row.rows).toEqual([{ customer_id: ALICE.sub, order_id: placed.body.orderId }]);

      const second = await ticketOf(await place(aliceJwt, ALICE.email), aliceJwt);
      expect(second.body).toMatchObject({ status: 'refused', code: 'LIMIT_PER_CUSTOMER' });
      expect(await stock()).toBe(9);

      // Another customer's ticket, or a made-up one, is not found; without a customer token, 401.
      expect((await api.get(queued.headers.get('location')!, bearer(borisJwt))).body.code).toBe(
        'TICKET_NOT_FOUND',
      );
      expect(
        (await api.get(`/orders/requests/${randomUUID()}.0123456789abcdef`, bearer(aliceJwt))).status,
      ).toBe(404);
      expect((await api.get(queued.headers.get('location')!)).status).toBe(401);
      // Refusals known at the door are answered at once, without a ticket.
      expect((await place(undefined, 'guest@example.com')).body.code).toBe('SIGN_IN_REQUIRED');
    });

    it('places a line of customers in arrival order, never more than the stock, every ticket decided', async () => {
      await openSale({ admission: 'queued' });
      const customers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const claims = { sub: randomUUID(), email: `buyer-${i}@example.com` };
          return { ...claims, jwt: await identity.sign(claims) };
        }),
      );
      // One after another: the line's order is the order the 202s came back in. Once the product is
      // known to be sold out, the door answers 409 OUT_OF_STOCK at once instead of a ticket.
      const answers: { jwt: string; response: HttpResponse }[] = [];
      for (const customer of customers) {
        answers.push({ jwt: customer.jwt, response: await place(customer.jwt, customer.email) });
      }
      const outcomes = await Promise.all(
        answers.map(async ({ jwt, response }) =>
          response.status === 202
            ? (await ticketOf(response, jwt)).body
            : { status: 'refused', ...response.body },
        ),
      );
      // The first ten in line got the ten units; everyone after them was refused.
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        ...Array(10).fill('placed'),
        ...Array(20).fill('refused'),
      ]);
      expect(new Set(outcomes.slice(10).map((outcome) => outcome.code))).toEqual(new Set(['OUT_OF_STOCK']));
      expect(await stock()).toBe(0);
      const tickets = answers.filter(({ response }) => response.status === 202).length;
      expect(tickets).toBeGreaterThanOrEqual(10);
      expect(Number((await pool.query('SELECT count(*) AS n FROM order_request_outcomes')).rows[0].n)).toBe(
        tickets,
      );
    });

    it('streams the ticket over server-sent events until it is decided', async () => {
      await openSale({ admission: 'queued' });
      const queued = await place(aliceJwt, ALICE.email);
      const response = await fetch(`${api.baseUrl}${queued.headers.get('location')}`, {
        headers: { ...bearer(aliceJwt), accept: 'text/event-stream' },
      });
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const text = await response.text();
      const events = text
        .split('\n\n')
        .filter((event) => event.startsWith('event: status'))
        .map((event) => JSON.parse(event.split('data: ')[1]));
      expect(events.at(-1)).toMatchObject({ status: 'placed', ticket: queued.body.ticket });
    });

    it('answers 503 WAITING_ROOM_FULL at once when the room is full', async () => {
      // An instance that only admits at the door, so the room fills: the consumer stays off.
      await api.close();
      api = await startOrderApi({
        IDENTITY_JWKS_URL: identity.jwksUrl,
        ORDER_RATE_LIMIT_PER_CUSTOMER: '1000',
        WAITING_ROOM_CONSUMER: 'false',
      });
      await openSale({ admission: 'queued' });
      const vhost = vhostOf(testConfig.rabbitmqUrl);
      await run('rabbitmqctl', [
        ...['-q', 'set_policy', '-p', vhost, '--priority', '100', '--apply-to', 'queues'],
        ...[
          'spec-small-waiting-room',
          `^${Queues.orderRequests}$`,
          '{"max-length":2,"overflow":"reject-publish"}',
        ],
      ]);
      try {
        const answers: HttpResponse[] = [];
        for (let i = 0; i < 5 && answers.at(-1)?.status !== 503; i++) {
          answers.push(await place(aliceJwt, ALICE.email, 1, `room-${i}`));
        }
        const full = answers.at(-1)!;
        expect(full).toMatchObject({ status: 503, body: { code: 'WAITING_ROOM_FULL' } });
        expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(answers.slice(0, -1).every((answer) => answer.status === 202)).toBe(true);
        expect(await broker.messageCount(Queues.orderRequests)).toBe(answers.length - 1);
      } finally {
        await run('rabbitmqctl', ['-q', 'clear_policy', '-p', vhost, 'spec-small-waiting-room']);
        await broker.purge(Queues.orderRequests);
      }
      expect(await orderCount()).toBe(0);
    });
  });
});
