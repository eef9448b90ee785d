import { Queues, queuesOf } from '@shop/contracts';
import { WorkQueueSubscriber } from '@shop/messaging';
import {
  BrokerProbe,
  createTestPool,
  purgeQueues,
  SmtpSink,
  waitForConsumer,
  startHttpApp,
  testConfig,
  testRabbitmqUrlAs,
  type HttpAppHarness,
} from '@shop/testing';
import type { Pool } from 'pg';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadNotifyWorkerConfig } from '../config/notify-worker.config';

export interface NotifyWorkerHarness {
  worker: HttpAppHarness;
  smtp: SmtpSink;
  /** Deliveries the worker is handling right now, of either queue (for BrokerProbe.settle). */
  messagesInHand(): number;
  close(): Promise<void>;
}

/**
 * The real notify-worker in this process, against the test database and vhost and an in-process SMTP
 * sink, starting from empty order_notify and customer_notify queues; returns once it consumes both (on
 * a fresh vhost it declares the queues first).
 */
export async function startNotifyWorker(env: Record<string, string> = {}): Promise<NotifyWorkerHarness> {
  // What an earlier spec file left in order_notify would otherwise be the new worker's first email.
  // (Missing queues are skipped: on a new vhost the worker declares them.)
  await purgeQueues(testConfig.rabbitmqUrl, [
    ...queuesOf(Queues.orderNotify),
    ...queuesOf(Queues.customerNotify),
  ]);
  const smtp = new SmtpSink();
  await smtp.start();
  const config = loadNotifyWorkerConfig({
    DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
    // Its own RabbitMQ user: order-api accepts order.notified only from notify-worker.
    RABBITMQ_URL: testRabbitmqUrlAs('notify-worker'),
    SMTP_URL: smtp.url,
    ...env,
  });
  const worker = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  await waitForConsumer(Queues.orderNotify);
  await waitForConsumer(Queues.customerNotify);
  const subscriber = worker.app.get(WorkQueueSubscriber, { strict: false });
  return {
    worker,
    smtp,
    messagesInHand: () => subscriber.messagesInHand,
    close: async () => {
      await worker.close();
      await smtp.stop();
    },
  };
}

export interface NotifyWorkerSuite {
  /** A pool on the test database, to read and reset rows. */
  readonly pool: Pool;
  readonly broker: BrokerProbe;
  readonly notify: NotifyWorkerHarness;
}

/**
 * The notify-worker, a test pool and a broker probe of a describe block: started in its beforeAll, closed
 * in its afterAll. Read the fields inside specs and hooks only (they are set once beforeAll ran).
 */
export function useNotifyWorkerSuite(): NotifyWorkerSuite {
  const suite = {} as { pool: Pool; broker: BrokerProbe; notify: NotifyWorkerHarness };
  beforeAll(async () => {
    suite.pool = createTestPool();
    suite.broker = await BrokerProbe.connect();
    suite.notify = await startNotifyWorker();
  });
  afterAll(async () => {
    await suite.notify?.close();
    await suite.broker?.close();
    await suite.pool?.end();
  });
  return suite;
}
