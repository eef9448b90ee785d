import { createOrderFixture, createTestPool, resetDatabase, testConfig } from '@shop/testing';
import { Pool } from 'pg';
import { NotificationStore } from './notification.store';

describe('NotificationStore (real PostgreSQL)', () => {
  let pool: Pool;
  let workerPool: Pool;
  let store: NotificationStore;

  beforeAll(() => {
    pool = createTestPool();
    // The store logs in as notify-worker does: its own role, its own schema.
    workerPool = new Pool({ connectionString: testConfig.databaseUrlOf('notify-worker'), max: 4 });
    store = new NotificationStore(workerPool);
  });

  afterAll(async () => {
    await workerPool.end();
    await pool.end();
  });

  beforeEach(() => resetDatabase(pool));

  const claimedOrder = async (n: number) => {
    const { orderId, event } = await createOrderFixture(pool, {
      customer: { email: `buyer${n}@example.com`, name: `Buyer ${n}` },
      items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
    });
    expect(await store.claim(orderId, event.messageId, `buyer${n}@example.com`)).toBe('claimed');
    return orderId;
  };

  it('records emails accepted together, and fails only the one the table refuses', async () => {
    const orderIds = await Promise.all(Array.from({ length: 12 }, (_, n) => claimedOrder(n)));
    const tooLong = `<${'x'.repeat(300)}@shop.local>`;
    const outcomes = await Promise.allSettled(
      orderIds.map((orderId, n) =>
        store.markSent(orderId, {
          messageId: n === 5 ? tooLong : `<order-${orderId}@shop.local>`,
          response: '250 OK',
        }),
      ),
    );

    expect(outcomes.map((outcome) => outcome.status)).toEqual(
      orderIds.map((_, n) => (n === 5 ? 'rejected' : 'fulfilled')),
    );
    const { rows } = await pool.query<{ id: string; status: string; sent: string; smtp_message_id: string }>(
      `SELECT o.id, o.status, n.status AS sent, n.smtp_message_id
         FROM orders o JOIN order_notifications n ON n.order_id = o.id`,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    orderIds.forEach((orderId, n) => {
      expect(byId.get(orderId)).toMatchObject(
        n === 5
          ? { status: 'placed', sent: 'sending', smtp_message_id: null }
          : // The order's own status is order-api's: it moves on with the order.notified.v1 event.
            { status: 'placed', sent: 'sent', smtp_message_id: `<order-${orderId}@shop.local>` },
      );
    });

    // A sent order is not claimed again.
    expect(await store.claim(orderIds[0], '00000000-0000-4000-8000-000000000000', 'x@example.com')).toBe(
      'already-sent',
    );
  });

  it('claims an email once: a live claim or a sent email is not claimed again', async () => {
    const orderId = await claimedOrder(1);
    const other = '6f1c0d4e-9b7a-4c3e-8f21-0a9b8c7d6e5f';
    expect(await store.claim(orderId, other, 'buyer1@example.com')).toBe('in-progress-elsewhere');

    await store.markSent(orderId, { messageId: `<order-${orderId}@shop.local>`, response: '250 OK' });
    expect(await store.claim(orderId, other, 'buyer1@example.com')).toBe('already-sent');
    const { rows } = await pool.query(
      'SELECT status, attempts FROM order_notifications WHERE order_id = $1',
      [orderId],
    );
    expect(rows).toEqual([{ status: 'sent', attempts: 1 }]);
  });

  it('claims the emails in hand with one statement; a copy in the same batch and a row the table refuses fail alone', async () => {
    const orders = await Promise.all(
      [1, 2, 3].map((n) =>
        createOrderFixture(pool, {
          customer: { email: `batch${n}@example.com`, name: `Batch ${n}` },
          items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
        }),
      ),
    );
    const connect = jest.spyOn(workerPool, 'connect');
    const claimOf = (n: number, messageId = orders[n].event.messageId) =>
      store.claim(orders[n].orderId, messageId, `batch${n}@example.com`);
    // The first claim starts a statement at once; the four submitted meanwhile share the next one.
    const [first, ...batch] = await Promise.all([
      claimOf(0),
      claimOf(1),
      claimOf(1, '6f1c0d4e-9b7a-4c3e-8f21-0a9b8c7d6e5f'),
      claimOf(2),
      claimOf(0, '6f1c0d4e-9b7a-4c3e-8f21-0a9b8c7d6e5f'),
    ]);
    expect(connect).toHaveBeenCalledTimes(2);
    expect(first).toBe('claimed');
    expect(batch).toEqual(['claimed', 'in-progress-elsewhere', 'claimed', 'in-progress-elsewhere']);
    connect.mockClear();

    // recipient is VARCHAR(254): this claim breaks the batch's statement.
    const tooLong = `${'x'.repeat(250)}@example.com`;
    const later = await Promise.allSettled([
      claimOf(0),
      store.claim('0b5e6c1a-2d3f-4a5b-8c7d-9e0f1a2b3c4d', '7a1c0d4e-9b7a-4c3e-8f21-0a9b8c7d6e5f', tooLong),
      claimOf(2),
    ]);
    expect(later.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected'))).toEqual([
      'in-progress-elsewhere',
      'rejected',
      'in-progress-elsewhere',
    ]);
    expect(String((later[1] as PromiseRejectedResult).reason.code)).toBe('22001');
    const { rows } = await pool.query<{ order_id: string; attempts: number }>(
      'SELECT order_id, attempts FROM order_notifications ORDER BY order_id',
    );
    expect(rows.map((row) => row.order_id).sort()).toEqual(orders.map((order) => order.orderId).sort());
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    connect.mockRestore();
  });

  it('claims again once the lease has run out', async () => {
    const orderId = await claimedOrder(2);
    await pool.query("UPDATE order_notifications SET claimed_until = now() - interval '1 second'");
    expect(await store.claim(orderId, '6f1c0d4e-9b7a-4c3e-8f21-0a9b8c7d6e5f', 'buyer2@example.com')).toBe(
      'claimed',
    );
    const { rows } = await pool.query('SELECT attempts FROM order_notifications WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows).toEqual([{ attempts: 2 }]);
  });
});
