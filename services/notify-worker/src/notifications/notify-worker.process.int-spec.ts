import { Queues, queuesOf, retryQueuesOf } from '@shop/contracts';
import {
  BrokerProbe,
  closeBrokerConnections,
  createOrderFixture,
  createTestPool,
  ensureVhostExists,
  freePort,
  publishOrderPlaced,
  resetDatabase,
  SmtpSink,
  startServiceProcess,
  purgeQueues,
  testConfig,
  vhostOf,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { execFileSync } from 'node:child_process';
import type { Pool } from 'pg';

const retryQueues = retryQueuesOf(Queues.orderNotify);

/** notify-worker as real processes (built dist/): several consumers, dropped connections, signals. */
describe('notify-worker processes', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  const sinks: SmtpSink[] = [];
  const workers: ServiceProcess[] = [];

  const startSink = async (delayMs = 0) => {
    const sink = new SmtpSink();
    await sink.start();
    sink.setBehaviour({ delayMs });
    sinks.push(sink);
    return sink;
  };
  const startWorker = async (sink: SmtpSink, prefetch: number, env: Record<string, string> = {}) => {
    const worker = await startServiceProcess(
      'notify-worker',
      {
        DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        SMTP_URL: sink.url,
        PREFETCH: String(prefetch),
        ...env,
      },
      { port: await freePort() },
    );
    workers.push(worker);
    return worker;
  };
  const placeOrders = async (count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        createOrderFixture(pool, {
          customer: { email: `buyer${i}@example.com`, name: `구매자 ${i}` },
          items: [{ sku: 'GIM-002', name: '한국 김 seaweed', quantity: 1, unitPriceCents: 480 }],
        }),
      ),
    );

  beforeAll(async () => {
    pool = createTestPool();
  });
  afterAll(async () => {
    await pool.end();
  });
  beforeEach(async () => {
    broker = await BrokerProbe.connect();
    await resetDatabase(pool);
    // Skips queues not declared yet: on a brand-new vhost this spec may run before any worker did.
    await purgeQueues(testConfig.rabbitmqUrl, [...queuesOf(Queues.orderNotify), Queues.orderStatus]);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
    await Promise.all(sinks.splice(0).map((sink) => sink.stop()));
    // Leave nothing for the next spec file's worker (the SIGTERM specs leave messages unhandled).
    await purgeQueues(testConfig.rabbitmqUrl, [...queuesOf(Queues.orderNotify), Queues.orderStatus]);
    await broker.close();
  });

  it('starts on a vhost without any topology yet: declares its queue and consumes it', async () => {
    // A fresh broker (npm start on a new machine, a worker that starts before order-api): the consumer
    // must not lose a race against the topology it declares (it used to fail with 404 forever).
    const vhost = `shop_fresh_${Date.now().toString(36)}`;
    const url = new URL(testConfig.rabbitmqUrl);
    url.pathname = `/${vhost}`;
    ensureVhostExists(testConfig.rabbitmqUrl, vhost, () => undefined);
    const freshBroker = await BrokerProbe.connect(url.toString());
    try {
      const sink = await startSink();
      const worker = await startServiceProcess(
        'notify-worker',
        {
          DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
          RABBITMQ_URL: url.toString(),
          SMTP_URL: sink.url,
        },
        { port: await freePort() },
      );
      workers.push(worker);
      await freshBroker.waitForConsumer(Queues.orderNotify);
      const [order] = await placeOrders(1);
      // The consumer can be up before the worker's other channel has bound the queue to `order`.
      await publishOrderPlaced(freshBroker, 'order.notify', order.event, { waitForBinding: true });
      const [mail] = await sink.waitForMessages(1);
      expect(mail.messageId).toBe(`<order-${order.orderId}@shop.local>`);
    } finally {
      await freshBroker.close();
      await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
      execFileSync('rabbitmqctl', ['-q', 'delete_vhost', vhost]);
    }
  });

  it('dispatches fairly with prefetch 1: the fast worker takes most of the work', async () => {
    const fastSink = await startSink(0);
    const slowSink = await startSink(400);
    await startWorker(fastSink, 1);
    await startWorker(slowSink, 1);

    const orders = await placeOrders(20);
    for (const order of orders) await publishOrderPlaced(broker, 'order.notify', order.event);

    await waitFor('20 emails in total', () => fastSink.messages.length + slowSink.messages.length === 20, {
      timeoutMs: 30_000,
    });
    // The slow worker holds one message at a time for 400 ms; meanwhile the fast one keeps taking the rest.
    expect(fastSink.messages.length).toBeGreaterThanOrEqual(15);
    expect(slowSink.messages.length).toBeGreaterThanOrEqual(1);
    expect(slowSink.messages.length).toBeLessThanOrEqual(5);
  });

  it('survives its connection being closed mid-handler and handles the message exactly once', async () => {
    const sink = await startSink(2_000);
    const worker = await startWorker(sink, 1);
    const [order] = await placeOrders(1);
    await publishOrderPlaced(broker, 'order.notify', order.event);

    // The email is at the SMTP server, which holds its "250 OK" for 2 s: the handler is mid-flight.
    await sink.waitForMessages(1);
    await broker.close();
    await closeBrokerConnections(vhostOf(testConfig.rabbitmqUrl), 'spec: connection dropped mid-handler');
    broker = await BrokerProbe.connect();

    await waitFor(
      'the email to be recorded as sent',
      async () =>
        (await pool.query('SELECT status FROM order_notifications WHERE order_id = $1', [order.orderId]))
          .rows[0]?.status === 'sent',
      { timeoutMs: 20_000 },
    );
    // The ack on the dead channel failed, so the broker redelivers. The redelivery may arrive while the
    // first handler still holds its claim (it is then retried a second later); either way it must end
    // as "already sent" and acked, with no second email.
    await waitFor('the redelivered message to be recognised as sent already', () =>
      /email already sent; duplicate message/.test(worker.output()),
    );
    await waitFor('the work and retry queues to be empty', async () => {
      const queues = [Queues.orderNotify, ...retryQueues];
      const counts = await Promise.all(queues.map((queue) => broker.messageCount(queue)));
      return counts.every((count) => count === 0);
    });
    expect(worker.isRunning()).toBe(true);
    expect((await fetch(`${worker.baseUrl}/health`)).status).toBe(200);
    expect(sink.messages).toHaveLength(1);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
  });

  it('on SIGTERM finishes every message it holds, also those waiting for an SMTP connection', async () => {
    // 6 messages held, 2 SMTP connections: 4 wait in nodemailer's queue when the signal comes. They
    // used to fail with "Connection pool was closed" (the mailer shut down before the messages were
    // finished) and to go to the retry queue.
    const sink = await startSink(300);
    const worker = await startWorker(sink, 6, { SMTP_POOL_SIZE: '2' });
    const orders = await placeOrders(6);
    for (const order of orders) await publishOrderPlaced(broker, 'order.notify', order.event);
    await sink.waitForMessages(1);

    const exit = await worker.stop('SIGTERM');
    expect(exit.ms).toBeLessThan(10_000);
    expect(exit.code).toBe(0);

    expect(sink.messages).toHaveLength(6);
    const { rows } = await pool.query(
      'SELECT status, count(*)::int AS n FROM order_notifications GROUP BY status',
    );
    expect(rows).toEqual([{ status: 'sent', n: 6 }]);
    expect(await broker.messageCount(Queues.orderNotify)).toBe(0);
    for (const queue of retryQueues) expect(await broker.messageCount(queue)).toBe(0);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
  });

  it('on SIGTERM stops consuming, finishes and acks the message in flight, and exits within 10 s', async () => {
    const sink = await startSink(1_500);
    const worker = await startWorker(sink, 5);
    const orders = await placeOrders(3);
    for (const order of orders) await publishOrderPlaced(broker, 'order.notify', order.event);
    await sink.waitForMessages(1);

    const exit = await worker.stop('SIGTERM');
    expect(exit.ms).toBeLessThan(10_000);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);

    // Whatever it had taken it finished: each email it sent is recorded and its message acked.
    const { rows } = await pool.query("SELECT order_id FROM order_notifications WHERE status = 'sent'");
    expect(rows.length).toBe(sink.messages.length);
    expect(await broker.messageCount(Queues.orderNotify)).toBe(3 - rows.length);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
  });
});
