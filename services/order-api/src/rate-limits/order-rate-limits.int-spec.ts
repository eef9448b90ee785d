import { DEFAULT_PAYMENT_WINDOW_MS, paymentDueQueueOf, Queues, SANDBOX_CARDS } from '@shop/contracts';
import { BrokerProbe, createTestPool, insertProduct, resetDatabase, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { startTestIdentity, type TestIdentity } from '../testing/test-identity';

const SKU = 'TEA-001';
const WINDOW_SECONDS = 60;
/** Where the orders and payments placed here go, emptied before and after (nothing consumes them here). */
const QUEUES = [
  Queues.orderNotify,
  Queues.orderReport,
  Queues.paymentRequests,
  paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS),
];

/**
 * The rate limits of POST /orders and POST /orders/:id/payment against the real order-api, started with
 * low limits. The spec connects from 127.0.0.1, a trusted proxy by default, so each X-Forwarded-For it
 * sends is a client of its own. The counts last as long as the app, and the database is not reset between
 * specs: each spec uses addresses and customers of its own and compares counts before and after.
 */
describe('rate limits on placing and paying for orders (real PostgreSQL and RabbitMQ)', () => {
  let api: OrderApiHarness;
  let identity: TestIdentity;
  let pool: Pool;
  let broker: BrokerProbe;

  beforeAll(async () => {
    identity = await startTestIdentity();
    [pool, broker] = [createTestPool(), await BrokerProbe.connect()];
    await Promise.all([resetDatabase(pool), broker.purge(...QUEUES)]);
    await insertProduct(pool, { sku: SKU, name: 'Longjing tea', priceCents: 1250, stock: 100 });
    api = await startOrderApi({
      IDENTITY_JWKS_URL: identity.jwksUrl,
      ORDER_RATE_LIMIT_PER_CLIENT: '3',
      ORDER_RATE_LIMIT_PER_CUSTOMER: '2',
      PAYMENT_RATE_LIMIT_PER_CLIENT: '2',
      PAYMENT_RATE_LIMIT_PER_CUSTOMER: '1',
      RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    });
    await waitFor('order-api health', async () => (await api.get('/health')).status === 200);
  });

  afterAll(async () => {
    await api?.close();
    await identity?.close();
    await broker?.purge(...QUEUES);
    await broker?.close();
    await pool?.end();
  });

  const from = (address: string) => ({ 'x-forwarded-for': address });
  const countRows = async (table: 'orders' | 'outbox_messages') =>
    Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  const signIn = async () => {
    const claims = { sub: randomUUID(), email: `${randomUUID().slice(0, 8)}@example.com` };
    return { ...claims, token: await identity.sign(claims) };
  };
  const order = (email: string, headers: Record<string, string>) =>
    api.post('/orders', { customer: { email, name: 'Buyer' }, items: [{ sku: SKU, quantity: 1 }] }, headers);
  const pay = (orderId: string, headers: Record<string, string>) =>
    api.post(`/orders/${orderId}/payment`, { card: SANDBOX_CARDS.succeeds }, headers);

  /** The 429 every limit answers: RATE_LIMITED, Retry-After within the window, the same in the body. */
  const expectRateLimited = (response: { status: number; headers: Headers; body: any }, who: RegExp) => {
    expect(response.status).toBe(429);
    expect(response.body).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(who) });
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(response.body.retryAfterSeconds).toBe(retryAfter);
  };

  it('refuses a client over its limit of orders with 429 RATE_LIMITED and Retry-After, writing nothing', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await order(`guest-${i}@example.com`, from('198.51.100.1'))).status).toBe(201);
    }
    const [orders, outbox] = [await countRows('orders'), await countRows('outbox_messages')];

    expectRateLimited(await order('guest-3@example.com', from('198.51.100.1')), /from this address/);
    // Refused before its body is validated: an invalid order is no way round the limit.
    expectRateLimited(await api.post('/orders', {}, from('198.51.100.1')), /from this address/);
    expect(await countRows('orders')).toBe(orders);
    expect(await countRows('outbox_messages')).toBe(outbox);
  });

  it('counts two clients behind the same proxy apart, by X-Forwarded-For', async () => {
    for (let i = 0; i < 3; i++) await order(`a-${i}@example.com`, from('198.51.100.11'));
    expect((await order('a-3@example.com', from('198.51.100.11'))).status).toBe(429);
    // The client is the last address the trusted proxy names; 198.51.100.11 is only what a client claimed.
    expect((await order('b-0@example.com', from('198.51.100.11, 198.51.100.12'))).status).toBe(201);
    expect((await order('b-1@example.com', from('198.51.100.12'))).status).toBe(201);
  });

  it('counts a signed-in customer across client addresses, without stopping other customers', async () => {
    const alice = await signIn();
    const bob = await signIn();
    const as = (customer: { token: string }, address: string) => ({
      ...bearer(customer.token),
      ...from(address),
    });

    expect((await order(alice.email, as(alice, '198.51.100.21'))).status).toBe(201);
    expect((await order(alice.email, as(alice, '198.51.100.22'))).status).toBe(201);
    const orders = await countRows('orders');
    expectRateLimited(await order(alice.email, as(alice, '198.51.100.23')), /from this customer/);
    expect(await countRows('orders')).toBe(orders);

    expect((await order(bob.email, as(bob, '198.51.100.23'))).status).toBe(201);
    // A guest from the same address is no customer: only the address's limit applies.
    expect((await order('guest@example.com', from('198.51.100.23'))).status).toBe(201);
  });

  it('limits payments per client and per customer too', async () => {
    const placed = (await order('payer@example.com', from('198.51.100.31'))).body;
    const withToken = (address: string) => ({ ...bearer(placed.accessToken), ...from(address) });
    expect((await pay(placed.id, withToken('198.51.100.32'))).status).toBe(202);
    // The second attempt is refused by the order (one payment at a time), still counted by the limit.
    expect((await pay(placed.id, withToken('198.51.100.32'))).status).toBe(409);
    const outbox = await countRows('outbox_messages');
    expectRateLimited(await pay(placed.id, withToken('198.51.100.32')), /payments from this address/);
    expect(await countRows('outbox_messages')).toBe(outbox);

    const carol = await signIn();
    const asCarol = (address: string) => ({ ...bearer(carol.token), ...from(address) });
    const first = (await order(carol.email, asCarol('198.51.100.33'))).body;
    const second = (await order(carol.email, asCarol('198.51.100.33'))).body;
    expect((await pay(first.id, asCarol('198.51.100.34'))).status).toBe(202);
    expectRateLimited(await pay(second.id, asCarol('198.51.100.35')), /payments from this customer/);
    const { rows } = await pool.query(
      'SELECT count(*) AS n FROM orders WHERE id = $1 AND payment_id IS NULL',
      [second.id],
    );
    expect(Number(rows[0].n)).toBe(1);
  });
});
