import { createTestPool, insertProduct, resetDatabase, waitFor, type HttpResponse } from '@shop/testing';
import type { Pool, PoolClient } from 'pg';
import { startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { scopedIdempotencyKey } from './idempotency-key';
import { OrderPlacementBatcher } from './order-placement.batcher';

const customer = { email: 'lee.jiwoo@example.kr', name: '이지우' };
const order = (...items: [sku: string, quantity: number][]) => ({
  customer,
  items: items.map(([sku, quantity]) => ({ sku, quantity })),
});

/**
 * Group commit against the real database: orders that arrive while a batch is in flight are placed
 * together by the next one. To build a batch on purpose, a spec holds a product's row lock from its own
 * connection: the batch in flight waits for it, the next orders gather behind it, and the spec releases
 * the lock once they are all waiting.
 */
describe('group commit of POST /orders (real PostgreSQL)', () => {
  let api: OrderApiHarness;
  let pool: Pool;
  const batcher = () => api.app.get(OrderPlacementBatcher);

  beforeAll(async () => {
    pool = createTestPool();
    api = await startOrderApi();
  });

  afterAll(async () => {
    await api?.close();
    await pool?.end();
  });

  beforeEach(async () => {
    await resetDatabase(pool);
    await insertProduct(pool, { sku: 'HOLD', name: 'the lock holder', priceCents: 100, stock: 1_000 });
    await insertProduct(pool, { sku: 'TEA', name: '龙井茶 Longjing tea', priceCents: 1250, stock: 10 });
    await insertProduct(pool, { sku: 'KIM', name: '한국 김 seaweed', priceCents: 480, stock: 5 });
  });

  /** Holds `sku`'s row lock on a connection of the spec's own until `release` (or `rollback`). */
  async function lockProduct(sku: string) {
    const client: PoolClient = await pool.connect();
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM products WHERE sku = $1 FOR UPDATE', [sku]);
    return {
      release: async () => {
        await client.query('ROLLBACK');
        client.release();
      },
    };
  }

  /**
   * Sends `requests` one after another, each only once the one before it is waiting for a batch, while
   * a first order waits for the lock on HOLD. Returns the answers in the order sent.
   */
  async function inOneBatch(
    requests: { body: unknown; key?: string }[],
  ): Promise<{ holder: HttpResponse; answers: HttpResponse[] }> {
    const hold = await lockProduct('HOLD');
    let holder: Promise<HttpResponse> | undefined;
    const answers: Promise<HttpResponse>[] = [];
    try {
      holder = api.post('/orders', order(['HOLD', 1]));
      await waitFor('the first batch waits for the HOLD lock', () =>
        lockWaiters('place_orders').then((n) => n === 1),
      );
      for (const [i, request] of requests.entries()) {
        answers.push(
          api.post('/orders', request.body, request.key ? { 'idempotency-key': request.key } : undefined),
        );
        await waitFor(
          `request ${i + 1} waits for the next batch`,
          async () => batcher().waitingCount === i + 1,
        );
      }
    } finally {
      await hold.release();
    }
    return { holder: await (holder as Promise<HttpResponse>), answers: await Promise.all(answers) };
  }

  const lockWaiters = async (queryLike: string) =>
    Number(
      (
        await pool.query(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`,
          [queryLike],
        )
      ).rows[0].n,
    );
  const stockOf = async (sku: string) =>
    (await pool.query<{ stock: number }>('SELECT stock FROM products WHERE sku = $1', [sku])).rows[0].stock;
  const count = async (sql: string, values: unknown[] = []) =>
    Number((await pool.query(sql, values)).rows[0].n);

  it('gives every order of one batch its own answer', async () => {
    const earlier = await api.post('/orders', order(['TEA', 1]), { 'idempotency-key': 'placed-before' });
    expect(earlier.status).toBe(201);

    const { holder, answers } = await inOneBatch([
      { body: order(['NO-SUCH-SKU', 1]) },
      { body: order(['TEA', 2]) },
      { body: order(['TEA', 1]), key: 'placed-before' },
      { body: order(['KIM', 1]), key: 'placed-before' },
      { body: order(['KIM', 6]) },
      { body: order(['KIM', 5]), key: 'fresh-key' },
    ]);

    expect(holder.status).toBe(201);
    expect(answers.map((a) => [a.status, a.body.code])).toEqual([
      [422, 'UNKNOWN_SKU'],
      [201, undefined],
      [200, undefined],
      [422, 'IDEMPOTENCY_KEY_REUSED'],
      [409, 'OUT_OF_STOCK'],
      [201, undefined],
    ]);
    expect(answers[0].body).toMatchObject({ skus: ['NO-SUCH-SKU'] });
    expect(answers[2].body.id).toBe(earlier.body.id);
    // The same sender's key for a different order: refused, and the refusal names no order.
    expect(answers[3].body).not.toHaveProperty('orderId');
    expect(answers[4].body).toMatchObject({ skus: ['KIM'] });
    expect(answers[5].body).toMatchObject({ totalCents: 2400, items: [{ sku: 'KIM', quantity: 5 }] });

    // The two new orders were placed by one transaction: PostgreSQL gives them one timestamp.
    const { rows } = await pool.query<{ created_at: Date }>(
      'SELECT DISTINCT created_at FROM orders WHERE id = ANY($1::uuid[])',
      [[answers[1].body.id, answers[5].body.id]],
    );
    expect(rows).toHaveLength(1);
    expect(await stockOf('TEA')).toBe(7);
    expect(await stockOf('KIM')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(4);
    expect(await count('SELECT count(*) AS n FROM order_items')).toBe(4);
    expect(await count('SELECT count(*) AS n FROM outbox_messages')).toBe(12);
  });

  it('makes one order of two requests with the same Idempotency-Key in one batch', async () => {
    const { answers } = await inOneBatch([
      { body: order(['TEA', 3]), key: 'twice-in-a-batch' },
      { body: order(['TEA', 3]), key: 'twice-in-a-batch' },
      { body: order(['TEA', 4]), key: 'twice-in-a-batch' },
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 200, 422]);
    expect(answers[1].body.id).toBe(answers[0].body.id);
    expect(answers[2].body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Stored scoped to its sender (the guest's email).
    const stored = scopedIdempotencyKey({ guestEmail: customer.email }, 'twice-in-a-batch');
    expect(await count('SELECT count(*) AS n FROM orders WHERE idempotency_key = $1', [stored])).toBe(1);
    expect(await stockOf('TEA')).toBe(7);
  });

  it('places a multi-line order whole or not at all, and serves the next one from what is left', async () => {
    const { answers } = await inOneBatch([
      { body: order(['TEA', 1], ['KIM', 6]) },
      { body: order(['TEA', 10], ['KIM', 5]) },
      { body: order(['TEA', 1]) },
    ]);
    expect(answers.map((a) => a.status)).toEqual([409, 201, 409]);
    expect(answers[0].body).toMatchObject({ code: 'OUT_OF_STOCK', skus: ['KIM'] });
    expect(await stockOf('TEA')).toBe(0);
    expect(await stockOf('KIM')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM order_items')).toBe(2 + 1);
  });

  it('serves the earlier arrivals first and refuses no one the stock left would serve', async () => {
    await pool.query("UPDATE products SET stock = 3 WHERE sku = 'TEA'");
    const { answers } = await inOneBatch([
      { body: order(['TEA', 2]), key: 'first' },
      { body: order(['TEA', 2]), key: 'second' },
      { body: order(['TEA', 1]), key: 'third' },
      { body: order(['TEA', 1]), key: 'fourth' },
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 409, 201, 409]);
    expect(await stockOf('TEA')).toBe(0);
  });

  it('places the others when one order makes the batch fail in PostgreSQL', async () => {
    // A trigger that fails one customer's order stands in for any statement error the batch can hit.
    await pool.query(`
      CREATE OR REPLACE FUNCTION spec_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'poisoned order'; END $$;
      CREATE TRIGGER spec_refuse_poison BEFORE INSERT ON orders FOR EACH ROW
        WHEN (NEW.customer_name = 'Poison') EXECUTE FUNCTION spec_refuse_poison();`);
    try {
      const { answers } = await inOneBatch([
        { body: order(['TEA', 1]) },
        {
          body: {
            customer: { email: 'p@example.com', name: 'Poison' },
            items: [{ sku: 'TEA', quantity: 1 }],
          },
        },
        { body: order(['TEA', 2]) },
      ]);
      expect(answers.map((a) => a.status)).toEqual([201, 500, 201]);
      expect(await stockOf('TEA')).toBe(7);
      expect(await count("SELECT count(*) AS n FROM orders WHERE customer_name = 'Poison'")).toBe(0);
    } finally {
      await pool.query(
        'DROP TRIGGER IF EXISTS spec_refuse_poison ON orders; DROP FUNCTION IF EXISTS spec_refuse_poison()',
      );
    }
  });

  it('answers 503 to every order and writes none of them when the connection dies mid-batch', async () => {
    const tea = await lockProduct('TEA');
    try {
      // Three orders gathered into one batch (behind HOLD), which then waits for the TEA lock.
      const { holder, answers } = await (async () => {
        const hold = await lockProduct('HOLD');
        const holding = api.post('/orders', order(['HOLD', 1]));
        await waitFor('the first batch waits for HOLD', () =>
          lockWaiters('place_orders').then((n) => n === 1),
        );
        const pending = [1, 2, 3].map(() => api.post('/orders', order(['TEA', 1])));
        await waitFor('three orders wait for the next batch', async () => batcher().waitingCount === 3);
        await hold.release();
        const placedHolder = await holding;
        await waitFor('the batch of three waits for TEA', () =>
          lockWaiters('place_orders').then((n) => n === 1),
        );
        expect(batcher().waitingCount).toBe(0);
        // The batch holds its connection while it waits; killing that backend fails the whole batch.
        await pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%place_orders%' AND pid <> pg_backend_pid()`,
        );
        return { holder: placedHolder, answers: await Promise.all(pending) };
      })();
      expect(holder.status).toBe(201);
      expect(answers.map((a) => [a.status, a.body.code])).toEqual([
        [503, 'DATABASE_UNAVAILABLE'],
        [503, 'DATABASE_UNAVAILABLE'],
        [503, 'DATABASE_UNAVAILABLE'],
      ]);
    } finally {
      await tea.release();
    }
    expect(await stockOf('TEA')).toBe(10);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM order_items')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM outbox_messages')).toBe(3);
    // The API keeps working on a fresh connection.
    expect((await api.post('/orders', order(['TEA', 1]))).status).toBe(201);
  });
});
