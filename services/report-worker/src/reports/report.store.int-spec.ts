import { createOrderFixture, createTestPool, resetDatabase, testConfig } from '@shop/testing';
import { Pool } from 'pg';
import { ReportStore, type ReportRecord } from './report.store';

describe('ReportStore (real PostgreSQL)', () => {
  let pool: Pool;
  /** The store logs in as report-worker does: its own role, its own schema. */
  let workerPool: Pool;
  let store: ReportStore;

  beforeAll(() => {
    pool = createTestPool();
    workerPool = new Pool({ connectionString: testConfig.databaseUrlOf('report-worker'), max: 4 });
    store = new ReportStore(workerPool);
  });

  afterAll(async () => {
    await workerPool.end();
    await pool.end();
  });

  beforeEach(() => resetDatabase(pool));

  const placedOrders = (count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, n) =>
        createOrderFixture(pool, {
          customer: { email: `buyer${n}@example.com`, name: `Buyer ${n}` },
          items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
        }),
      ),
    );
  const recordOf = (orderId: string, messageId: string): ReportRecord => ({
    orderId,
    messageId,
    fileName: `${orderId}.pdf`,
    bytes: 1000,
    sha256: 'a'.repeat(64),
  });

  it('records the reports in hand in one transaction; a failed file and a copy in the batch write nothing', async () => {
    const orders = await placedOrders(4);
    const filesWritten: string[] = [];
    const writeOf =
      (orderId: string, fails = false) =>
      async () => {
        if (fails) throw new Error('ENOSPC: no space left on device');
        filesWritten.push(orderId);
      };
    const connect = jest.spyOn(workerPool, 'connect');
    const record = (n: number, fails = false) =>
      store.recordWhileWriting(
        recordOf(orders[n].orderId, orders[n].event.messageId),
        writeOf(orders[n].orderId, fails),
      );

    // The first recording starts at once; the four submitted meanwhile share the next transaction.
    const outcomes = await Promise.allSettled([record(0), record(1), record(2, true), record(1), record(3)]);

    expect(connect).toHaveBeenCalledTimes(2);
    connect.mockRestore();
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected'))).toEqual([
      'written',
      'written',
      'rejected',
      'already-reported',
      'written',
    ]);
    expect(filesWritten.sort()).toEqual(
      [orders[0], orders[1], orders[3]].map((order) => order.orderId).sort(),
    );
    const { rows } = await pool.query<{ id: string; status: string; report: string | null }>(
      `SELECT o.id, o.status, r.order_id AS report FROM orders o LEFT JOIN order_reports r ON r.order_id = o.id`,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    orders.forEach((order, n) =>
      expect(byId.get(order.orderId)).toMatchObject(
        // The order's own status is order-api's: it moves on with the order.reported.v1 event.
        n === 2 ? { status: 'placed', report: null } : { status: 'placed', report: order.orderId },
      ),
    );

    // Looked up together as well: reported, to do, and an order id it has never seen (report-worker
    // knows orders only from their messages, so that one is to do as well).
    const unseenOrder = '0b5e6c1a-2d3f-4a5b-8c7d-9e0f1a2b3c4d';
    const states = await Promise.all([
      store.stateOf(orders[0].orderId),
      store.stateOf(orders[2].orderId.toUpperCase()),
      store.stateOf(unseenOrder),
      store.stateOf(orders[3].orderId),
    ]);
    expect(states).toEqual(['already-reported', 'to-do', 'to-do', 'already-reported']);
  });

  it('runs a batch that PostgreSQL refuses again one order at a time, so only the bad order fails', async () => {
    const [good, bad, other] = await placedOrders(3);
    const noFile = async () => undefined;
    const outcomes = await Promise.allSettled([
      store.recordWhileWriting(recordOf(good.orderId, good.event.messageId), noFile),
      // file_name is VARCHAR(255): this row breaks the batch's INSERT.
      store.recordWhileWriting(
        { ...recordOf(bad.orderId, bad.event.messageId), fileName: `${'x'.repeat(300)}.pdf` },
        noFile,
      ),
      store.recordWhileWriting(recordOf(other.orderId, other.event.messageId), noFile),
    ]);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected'))).toEqual([
      'written',
      'rejected',
      'written',
    ]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason.code)).toBe('22001');
    const { rows } = await pool.query('SELECT order_id FROM order_reports ORDER BY order_id');
    expect(rows.map((row) => row.order_id)).toEqual([good.orderId, other.orderId].sort());
  });
});
