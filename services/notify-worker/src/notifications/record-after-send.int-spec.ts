import { Queues, retryQueuesOf } from '@shop/contracts';
import {
  BrokerProbe,
  TcpProxy,
  createOrderFixture,
  createTestPool,
  publishOrderPlaced,
  resetDatabase,
  testConfig,
  waitFor,
} from '@shop/testing';
import type { Pool } from 'pg';
import { startNotifyWorker, type NotifyWorkerHarness } from '../testing/notify-worker.harness';

const retryQueues = retryQueuesOf(Queues.orderNotify);

/**
 * The one moment where a lost database could make the worker send an email twice: the SMTP server has
 * answered 250, and the row that records it is not written yet. The worker reaches PostgreSQL through a
 * TcpProxy, which the SMTP sink cuts while the message is stored and before it answers.
 */
describe('notify-worker when PostgreSQL drops between the SMTP 250 and the record', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let databaseProxy: TcpProxy;
  let notify: NotifyWorkerHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    databaseProxy = await TcpProxy.create(testConfig.databaseUrl);
    await databaseProxy.start();
    notify = await startNotifyWorker({
      DATABASE_URL: databaseProxy.urlFor(testConfig.databaseUrlOf('notify-worker')),
    });
  });
  afterAll(async () => {
    await notify.close();
    await databaseProxy.stop();
    await broker.close();
    await pool.end();
  });
  beforeEach(async () => {
    await broker.settle(Queues.orderNotify, notify.messagesInHand);
    await broker.purge(Queues.orderStatus);
    await resetDatabase(pool);
  });

  it('waits for the database to record the email instead of sending it again', async () => {
    const order = await createOrderFixture(pool, {
      customer: { email: 'park.jimin@example.kr', name: '박지민' },
      items: [{ sku: 'GIM-002', name: '한국 김 seaweed', quantity: 3, unitPriceCents: 480 }],
    });
    notify.smtp.setBehaviour({
      beforeAnswer: async () => {
        notify.smtp.setBehaviour({});
        databaseProxy.cut(); // every pooled connection of the worker dies now, new ones are refused
      },
    });
    await publishOrderPlaced(broker, 'order.notify', order.event);

    const [mail] = await notify.smtp.waitForMessages(1);
    expect(mail.messageId).toBe(`<order-${order.orderId}@shop.local>`);
    // The outage lasts until the worker has tried to record the email three times.
    await waitFor('three attempts to reach the database', () => databaseProxy.refusedConnections >= 3, {
      timeoutMs: 15_000,
    });
    databaseProxy.restore();

    await waitFor(
      'the email to be recorded as sent',
      async () =>
        (await pool.query('SELECT status FROM order_notifications WHERE order_id = $1', [order.orderId]))
          .rows[0]?.status === 'sent',
      { timeoutMs: 15_000 },
    );
    const { rows } = await pool.query('SELECT status, attempts FROM order_notifications');
    expect(rows).toEqual([{ status: 'sent', attempts: 1 }]);
    // Announced once recorded: the database outage held the event back, it did not lose it.
    const [announced] = await broker.waitForMessages(Queues.orderStatus, 1);
    expect(JSON.parse(announced.content.toString()).data.orderId).toBe(order.orderId);
    await waitFor(
      'the message to be acked',
      async () => (await broker.messageCount(Queues.orderNotify)) === 0,
    );
    // Acked from the first delivery: nothing waits in a retry queue to send the email again.
    for (const queue of retryQueues) expect(await broker.messageCount(queue)).toBe(0);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    expect(notify.smtp.messages).toHaveLength(1);
  });
});
