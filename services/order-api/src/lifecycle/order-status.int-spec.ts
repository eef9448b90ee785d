import {
  Exchanges,
  FailureHeaders,
  MessageTypes,
  PublisherHeaders,
  Queues,
  RoutingKeys,
} from '@shop/contracts';
import { PG_POOL } from '@shop/db';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  resetDatabase,
  testRabbitmqUrlAs,
  waitFor,
  waitForConsumer,
} from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

/** The workers' status events (the fulfilment steps), as order-api applies them from `order_status`. */
describe('order status from the workers\u2019 events (real RabbitMQ and PostgreSQL)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  /** The workers' own RabbitMQ users: order-api accepts each event only from the worker that owns it. */
  let asWorker: Record<'notified' | 'reported', BrokerProbe>;
  let api: OrderApiHarness;
  let statusStatements = 0;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    asWorker = {
      notified: await BrokerProbe.connect(testRabbitmqUrlAs('notify-worker')),
      reported: await BrokerProbe.connect(testRabbitmqUrlAs('report-worker')),
    };
    await broker.purge(Queues.orderStatus, Queues.orderStatusDeadLetter);
    api = await startOrderApi();
    // Counts the statements that apply status events (one per batch) on order-api's own pool.
    const apiPool = api.app.get<Pool>(PG_POOL);
    const counted = new WeakSet<PoolClient>();
    const connect = apiPool.connect.bind(apiPool) as () => Promise<PoolClient>;
    (apiPool as unknown as { connect: () => Promise<PoolClient> }).connect = async () => {
      const client = await connect();
      if (!counted.has(client)) {
        counted.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          if ((args[0] as QueryConfig)?.name === 'lock-order-lifecycle-v1') statusStatements++;
          return query(...args);
        };
      }
      return client;
    };
    await waitForConsumer(Queues.orderStatus);
  });
  afterAll(async () => {
    await api?.close();
    await broker?.close();
    await asWorker?.notified.close();
    await asWorker?.reported.close();
    await pool?.end();
  });
  beforeEach(() => resetDatabase(pool));

  const anOrder = (n = 1) =>
    createOrderFixture(pool, {
      customer: { email: `buyer${n}@example.com`, name: `Buyer ${n}` },
      items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
    });
  /** An order its customer paid already (as the payment service's answer would have left it). */
  const aPaidOrder = async (n = 1) => {
    const order = await anOrder(n);
    await pool.query(
      `UPDATE orders SET status = 'paid', paid_at = now(), paid_payment_id = gen_random_uuid() WHERE id = $1`,
      [order.orderId],
    );
    return order;
  };

  const statusEvent = (
    kind: 'notified' | 'reported',
    orderId: string,
    at: Date,
    userId = kind === 'notified' ? 'notify-worker' : 'report-worker',
  ) => {
    const messageId = randomUUID();
    const type = kind === 'notified' ? MessageTypes.orderNotifiedV1 : MessageTypes.orderReportedV1;
    const data =
      kind === 'notified'
        ? { orderId, notifiedAt: at.toISOString() }
        : { orderId, reportedAt: at.toISOString() };
    const body = {
      messageId,
      type,
      version: 1,
      occurredAt: new Date().toISOString(),
      correlationId: `spec-${orderId}`,
      data,
    };
    return {
      exchange: Exchanges.order,
      routingKey: kind === 'notified' ? RoutingKeys.orderNotified : RoutingKeys.orderReported,
      body: Buffer.from(JSON.stringify(body)),
      options: {
        persistent: true,
        messageId,
        type,
        contentType: 'application/json',
        correlationId: body.correlationId,
        // The broker refuses any user_id but the connection's own.
        userId,
      },
    };
  };
  const announce = (kind: 'notified' | 'reported', orderId: string, at: Date) =>
    asWorker[kind].publishBurstConfirmed([statusEvent(kind, orderId, at)]);

  const orderRow = async (orderId: string) =>
    (
      await pool.query<{ status: string; notified_at: Date | null; reported_at: Date | null }>(
        'SELECT status, notified_at, reported_at FROM orders WHERE id = $1',
        [orderId],
      )
    ).rows[0];

  it('applies the steps in any order, completes a paid order with both, and a duplicate changes nothing', async () => {
    const order = await aPaidOrder();
    const reportedAt = new Date('2026-12-01T10:00:01.000Z');
    const notifiedAt = new Date('2026-12-01T10:00:02.000Z');

    await announce('reported', order.orderId, reportedAt);
    await waitFor(
      'the order to be reported',
      async () => (await orderRow(order.orderId)).reported_at !== null,
    );
    expect(await orderRow(order.orderId)).toEqual({
      status: 'paid',
      notified_at: null,
      reported_at: reportedAt,
    });

    await announce('notified', order.orderId, notifiedAt);
    // Duplicates with a later time: the first time of each step stays.
    await announce('reported', order.orderId, new Date('2026-12-01T11:00:00.000Z'));
    await announce('notified', order.orderId, new Date('2026-12-01T11:00:00.000Z'));
    // Events are applied in arrival order: once the marker's order moved, the duplicates were applied.
    const marker = await anOrder(2);
    await announce('reported', marker.orderId, reportedAt);
    await waitFor(
      'the marker order to be reported',
      async () => (await orderRow(marker.orderId)).reported_at !== null,
    );
    expect(await orderRow(order.orderId)).toEqual({
      status: 'completed',
      notified_at: notifiedAt,
      reported_at: reportedAt,
    });
    expect(await broker.messageCount(Queues.orderStatusDeadLetter)).toBe(0);
  });

  it('leaves an unpaid order placed when both steps are done: completed needs the payment', async () => {
    const order = await anOrder();
    const at = new Date('2026-12-01T10:00:00.000Z');
    await announce('notified', order.orderId, at);
    await announce('reported', order.orderId, at);
    await waitFor('both steps', async () => {
      const row = await orderRow(order.orderId);
      return row.notified_at !== null && row.reported_at !== null;
    });
    expect(await orderRow(order.orderId)).toEqual({ status: 'placed', notified_at: at, reported_at: at });
  });

  it('parks an event for an order that does not exist, with its reason', async () => {
    const missing = randomUUID();
    await announce('notified', missing, new Date());
    const [parked] = await broker.waitForMessages(Queues.orderStatusDeadLetter, 1, 15_000);
    expect(parked.properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'permanent-failure',
      [FailureHeaders.lastError]: expect.stringContaining('ORDER_NOT_FOUND'),
      [FailureHeaders.originalQueue]: Queues.orderStatus,
    });
    expect(JSON.parse(parked.content.toString()).data.orderId).toBe(missing);
  });

  it('completes a burst of 500 orders with far fewer statements than events', async () => {
    const orders: Awaited<ReturnType<typeof anOrder>>[] = [];
    for (let n = 0; n < 500; n++) orders.push(await aPaidOrder(n));
    const before = statusStatements;
    const at = new Date();
    // As in a flash sale's drain: the events of 500 orders arrive faster than one statement takes.
    await Promise.all(
      (['notified', 'reported'] as const).map((kind) =>
        asWorker[kind].publishBurstConfirmed(orders.map((order) => statusEvent(kind, order.orderId, at))),
      ),
    );
    await waitFor(
      'all 500 orders to be completed',
      async () =>
        Number(
          (await pool.query("SELECT count(*) AS n FROM orders WHERE status = 'completed'")).rows[0].n,
        ) === 500,
      { timeoutMs: 30_000 },
    );
    const statements = statusStatements - before;
    // 1,000 events; one statement applies every event in hand (prefetch 200).
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThanOrEqual(100);
    expect(await broker.messageCount(Queues.orderStatusDeadLetter)).toBe(0);
  });

  it('parks an event forged by the other worker FORBIDDEN_PUBLISHER, and the order stays as it was', async () => {
    await broker.purge(Queues.orderStatusDeadLetter);
    const order = await anOrder();
    // notify-worker's own user announcing the PDF: its login is checked by the broker, its right by order-api.
    await asWorker.notified.publishBurstConfirmed([
      statusEvent('reported', order.orderId, new Date(), 'notify-worker'),
    ]);
    const [parked] = await broker.waitForMessages(Queues.orderStatusDeadLetter, 1, 15_000);
    expect(parked.properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'permanent-failure',
      [FailureHeaders.lastError]: expect.stringMatching(
        /^FORBIDDEN_PUBLISHER: order.reported.v1 is accepted from report-worker only, not from notify-worker/,
      ),
      [PublisherHeaders.originalUserId]: 'notify-worker',
    });
    expect(await orderRow(order.orderId)).toEqual({ status: 'placed', notified_at: null, reported_at: null });
  });

  it('parks an event without user_id (as any user may send one) the same way', async () => {
    await broker.purge(Queues.orderStatusDeadLetter);
    const order = await anOrder();
    const event = statusEvent('notified', order.orderId, new Date());
    const { userId: _none, ...withoutUser } = event.options;
    await broker.publishBurstConfirmed([{ ...event, options: withoutUser }]);
    const [parked] = await broker.waitForMessages(Queues.orderStatusDeadLetter, 1, 15_000);
    expect(String(parked.properties.headers?.[FailureHeaders.lastError])).toMatch(
      /^FORBIDDEN_PUBLISHER: order.notified.v1 is accepted from notify-worker only, not from a message without user_id/,
    );
    expect((await orderRow(order.orderId)).status).toBe('placed');
  });
});
