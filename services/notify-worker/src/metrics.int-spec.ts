import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  parsePrometheusText,
  publishOrderPlaced,
  resetDatabase,
  sampleValue,
  waitFor,
} from '@shop/testing';
import type { Pool } from 'pg';
import { startNotifyWorker, type NotifyWorkerHarness } from './testing/notify-worker.harness';

describe("notify-worker's GET /metrics (real RabbitMQ, PostgreSQL and SMTP)", () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let notify: NotifyWorkerHarness;

  beforeAll(async () => {
    pool = createTestPool();
    await resetDatabase(pool);
    broker = await BrokerProbe.connect();
    await broker.purge(Queues.orderNotifyDeadLetter);
    notify = await startNotifyWorker();
  });
  afterAll(async () => {
    await notify?.close();
    // The poison message it parked is this spec's: the next spec starts from an empty dead-letter queue.
    await broker?.purge(Queues.orderNotifyDeadLetter);
    await broker?.close();
    await pool?.end();
  });

  it('counts the messages it handled and parked, per queue', async () => {
    for (let i = 0; i < 2; i++) {
      const order = await createOrderFixture(pool, {
        customer: { email: `park.jiwoo${i}@example.kr`, name: '박지우' },
        items: [{ sku: `METRIC-N${i}`, name: '지표 metric', quantity: 1, unitPriceCents: 500 }],
      });
      await publishOrderPlaced(broker, 'order.notify', order.event);
    }
    await publishOrderPlaced(broker, 'order.notify', {}, { body: Buffer.from('{"not": "an order"') });
    await waitFor('two emails', () => notify.smtp.messages.length === 2);
    await waitFor(
      'the poison message parked',
      async () => (await broker.channel.checkQueue(Queues.orderNotifyDeadLetter)).messageCount === 1,
    );

    const samples = await waitFor('the counters', async () => {
      const parsed = parsePrometheusText(String((await notify.worker.get('/metrics')).body));
      // An email is sent before its message is counted (the worker then publishes order.notified and
      // acks), so the counters are read once all three messages are counted, not once the emails arrived.
      const counted = (outcome: string) =>
        sampleValue(parsed, 'messages_processed_total', { queue: 'order_notify', outcome }) ?? 0;
      return counted('parked') + counted('handled') >= 3 ? parsed : undefined;
    });
    const processed = (outcome: string) =>
      sampleValue(samples, 'messages_processed_total', {
        service: 'notify-worker',
        queue: 'order_notify',
        outcome,
      });
    expect(processed('handled')).toBe(2);
    expect(processed('parked')).toBe(1);
    expect(processed('retrying')).toBeUndefined();
    expect(sampleValue(samples, 'message_processing_seconds_count', { queue: 'order_notify' })).toBe(3);
    // All three settled: none is still in the worker's hands.
    expect(sampleValue(samples, 'messages_in_progress', { queue: 'order_notify' })).toBe(0);
    const published = (exchange: string, routingKey: string) =>
      sampleValue(samples, 'messages_published_total', {
        exchange,
        routing_key: routingKey,
        outcome: 'confirmed',
      });
    // Each email announced with an order.notified event; the poison message parked through order.dlx.
    expect(published('order', 'order.notified')).toBe(2);
    expect(published('order.dlx', 'order_notify')).toBe(1);
  });
});
