import { Queues, queuesOf } from '@shop/contracts';
import { WorkQueueSubscriber } from '@shop/messaging';
import {
  purgeQueues,
  startHttpApp,
  testConfig,
  testRabbitmqUrlAs,
  waitForConsumer,
  type HttpAppHarness,
} from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadPaymentConfig } from '../config/payment.config';
import { PAYMENT_PROVIDER } from '../provider/payment-provider';
import type { SandboxPaymentProvider } from '../provider/sandbox-payment.provider';

export interface PaymentHarness {
  service: HttpAppHarness;
  /** The service's sandbox provider: what it was asked to charge and refund. */
  sandbox: SandboxPaymentProvider;
  /** Requests the service is handling right now (for BrokerProbe.settle). */
  messagesInHand(): number;
  close(): Promise<void>;
}

/**
 * The real payment service in this process, against the test database and vhost, as its own RabbitMQ
 * user (order-api believes a payment result only from `payment`), starting from an empty
 * payment_requests; returns once it consumes it. `env` overrides configuration variables (a short
 * PAYMENT_PROVIDER_TIMEOUT_MS, say).
 */
export async function startPayment(env: Record<string, string> = {}): Promise<PaymentHarness> {
  // What an earlier spec file left in payment_requests would otherwise be charged first.
  await purgeQueues(testConfig.rabbitmqUrl, queuesOf(Queues.paymentRequests));
  const config = loadPaymentConfig({
    DATABASE_URL: testConfig.databaseUrlOf('payment'),
    RABBITMQ_URL: testRabbitmqUrlAs('payment'),
    ...env,
  });
  const service = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  await waitForConsumer(Queues.paymentRequests);
  const subscriber = service.app.get(WorkQueueSubscriber, { strict: false });
  return {
    service,
    sandbox: service.app.get<SandboxPaymentProvider>(PAYMENT_PROVIDER, { strict: false }),
    messagesInHand: () => subscriber.messagesInHand,
    close: () => service.close(),
  };
}
