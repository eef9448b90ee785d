import { Queues, queuesOf } from '@shop/contracts';
import { WorkQueueSubscriber } from '@shop/messaging';
import {
  purgeQueues,
  SmtpSink,
  waitForConsumer,
  startHttpApp,
  testConfig,
  testRabbitmqUrlAs,
  type HttpAppHarness,
} from '@shop/testing';
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
