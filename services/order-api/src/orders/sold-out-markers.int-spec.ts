import {
  createTestPool,
  freePort,
  insertProduct,
  resetDatabase,
  startServiceProcess,
  testConfig,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { PG_POOL } from '@shop/db';
import type { Pool, PoolClient } from 'pg';
import { asOperator, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { SoldOutMarkers } from './sold-out-markers';

const SKU = 'FLASH-MARK-1';
const order = (quantity = 1) => ({
  customer: { email: 'kim.minji@example.kr', name: '김민지' },
  items: [{ sku: SKU, quantity }],
});

/**
 * Two order-api instances on one database (this one in-process, so its markers can be read, and a
 * second one as its own process): once a product is sold out each refuses from memory, and a restock
 * through either is heard by both.
 */
describe('sold-out markers across two order-api instances (real PostgreSQL)', () => {
  let first: OrderApiHarness;
  let secondProcess: ServiceProcess;
  let pool: Pool;
  const second = {
    post: async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${secondProcess.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };

  const markersOf = (api: OrderApiHarness) => api.app.get(SoldOutMarkers);
  const knowsSoldOut = (api: OrderApiHarness) =>
    markersOf(api).shortOf([{ sku: SKU, quantity: 1 }]).length > 0;
  const countOrders = async () => Number((await pool.query('SELECT count(*) AS n FROM orders')).rows[0].n);

  beforeAll(async () => {
    pool = createTestPool();
    [first, secondProcess] = await Promise.all([
      startOrderApi(),
      startServiceProcess(
        'order-api',
        { DATABASE_URL: testConfig.databaseUrlOf('order-api'), RABBITMQ_URL: testConfig.rabbitmqUrl },
        { port: await freePort() },
      ),
    ]);
  });

  afterAll(async () => {
    await first?.close();
    await secondProcess?.stop();
    await pool?.end();
  });

  beforeEach(async () => {
    await resetDatabase(pool);
    await insertProduct(pool, { sku: SKU, name: '秒杀 flash sneaker', priceCents: 4900, stock: 1 });
    // The TRUNCATE and INSERT notifications clear whatever an earlier test left behind.
    await waitFor('this instance forgot the product', async () => !knowsSoldOut(first));
  });

  it('refuses a sold-out product without waiting for its row lock', async () => {
    expect((await first.post('/orders', order())).status).toBe(201);
    // The second instance's refusal came from the database, whose answer carried the stock left, so
    // its marker is in place by the time the row is locked below.
    expect((await second.post('/orders', order())).status).toBe(409);
    expect((await first.post('/orders', order())).status).toBe(409);
    await waitFor('this instance knows the product is sold out', async () => knowsSoldOut(first));

    // Hold the product's row lock: an order that went to the database would now wait for it.
    const locker: PoolClient = await pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM products WHERE sku = $1 FOR UPDATE', [SKU]);
      const started = Date.now();
      const refusals = await Promise.all([first.post('/orders', order()), second.post('/orders', order())]);
      expect(refusals.map((r) => r.status)).toEqual([409, 409]);
      expect(refusals[0].body).toMatchObject({ code: 'OUT_OF_STOCK', skus: [SKU] });
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(await countOrders()).toBe(1);
  });

  it('takes orders again on every instance as soon as one of them restocks', async () => {
    expect((await second.post('/orders', order())).status).toBe(201);
    expect((await first.post('/orders', order())).status).toBe(409);
    await waitFor('this instance knows the product is sold out', async () => knowsSoldOut(first));

    const restocked = await second.post(`/products/${SKU}/restock`, { quantity: 2 }, asOperator);
    expect(restocked.status).toBe(200);

    await waitFor('this instance heard the restock', async () => !knowsSoldOut(first));
    expect((await first.post('/orders', order(2))).status).toBe(201);
    expect(await countOrders()).toBe(2);
  });

  it('still replays an order placed earlier with the same Idempotency-Key', async () => {
    const placed = await first.post('/orders', order(), { 'idempotency-key': 'last-pair' });
    expect(placed.status).toBe(201);
    expect((await first.post('/orders', order())).status).toBe(409);
    await waitFor('first instance knows the product is sold out', async () => knowsSoldOut(first));

    const replayed = await first.post('/orders', order(), { 'idempotency-key': 'last-pair' });
    expect(replayed.status).toBe(200);
    expect(replayed.body.id).toBe(placed.body.id);
    const fresh = await first.post('/orders', order(), { 'idempotency-key': 'too-late' });
    expect(fresh.status).toBe(409);
    expect(await countOrders()).toBe(1);
  });

  it('replays, from memory of the keys, an order placed through the other instance', async () => {
    const placed = await second.post('/orders', order(), { 'idempotency-key': 'placed-over-there' });
    expect(placed.status).toBe(201);
    expect((await first.post('/orders', order())).status).toBe(409);
    await waitFor(
      'this instance loaded the order keys of the sold-out product',
      async () => markersOf(first).orderForKey([SKU], 'any-new-key') === 'no-order',
    );

    // From here on a refusal with a key costs this instance no database connection at all.
    const dbPool = first.app.get<Pool>(PG_POOL);
    const connect = jest.spyOn(dbPool, 'connect');
    try {
      const refusals = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          first.post('/orders', order(), { 'idempotency-key': `late-${i}` }),
        ),
      );
      expect(refusals.map((r) => r.status)).toEqual(Array(20).fill(409));
      expect(connect).not.toHaveBeenCalled();
    } finally {
      connect.mockRestore();
    }

    const replayed = await first.post('/orders', order(), { 'idempotency-key': 'placed-over-there' });
    expect(replayed.status).toBe(200);
    expect(replayed.body.id).toBe(placed.body.id);
    // The keys in memory are scoped to their sender: another guest's same key is a new (refused) order,
    // never a replay of this one.
    const stranger = await first.post(
      '/orders',
      { ...order(), customer: { email: 'stranger@example.com', name: 'Stranger' } },
      { 'idempotency-key': 'placed-over-there' },
    );
    expect([stranger.status, stranger.body.code]).toEqual([409, 'OUT_OF_STOCK']);
    expect(await countOrders()).toBe(1);
  });

  it('trusts no marker while its notification connection is down, and again once it is back', async () => {
    expect((await first.post('/orders', order())).status).toBe(201);
    expect((await first.post('/orders', order())).status).toBe(409);
    await waitFor('first instance knows the product is sold out', async () => knowsSoldOut(first));

    await pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'order-api-listener'",
    );
    await waitFor('markers forgotten when the listener dropped', async () => !knowsSoldOut(first));
    // Refused by the database meanwhile, and remembered again once the listener reconnected.
    await waitFor('sold out remembered after reconnecting', async () => {
      expect((await first.post('/orders', order())).status).toBe(409);
      return knowsSoldOut(first);
    });
    expect(await countOrders()).toBe(1);
  });
});
