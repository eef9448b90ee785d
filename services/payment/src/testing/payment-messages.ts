import {
  envelopeOf,
  Exchanges,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  RoutingKeys,
  type PaymentRefundRequestedV1,
  type PaymentRequestedV1,
  type RefundReason,
} from '@shop/contracts';
import { BrokerProbe, waitFor } from '@shop/testing';
import type { GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';

/** A payment.requested.v1 as order-api sends it: a new order and payment id unless given. */
export function paymentRequested(
  data: Partial<PaymentRequestedV1['data']> = {},
  correlationId = `spec-payment-${randomUUID().slice(0, 8)}`,
): PaymentRequestedV1 {
  return envelopeOf<PaymentRequestedV1>({
    messageId: randomUUID(),
    occurredAt: new Date(),
    correlationId,
    type: MessageTypes.paymentRequestedV1,
    data: {
      orderId: randomUUID(),
      paymentId: randomUUID(),
      amountCents: 4_998,
      currency: 'EUR',
      card: '4242424242424242',
      ...data,
    },
  });
}

/** The refund order-api asks for when `charge` must be given back. */
export function refundRequested(
  charge: PaymentRequestedV1,
  reason: RefundReason = 'cancelled',
): PaymentRefundRequestedV1 {
  const { orderId, paymentId, amountCents, currency } = charge.data;
  return envelopeOf<PaymentRefundRequestedV1>({
    messageId: randomUUID(),
    occurredAt: new Date(),
    correlationId: charge.correlationId,
    type: MessageTypes.paymentRefundRequestedV1,
    data: { orderId, paymentId, amountCents, currency, reason },
  });
}

/** A result as the probe read it: its parsed body and AMQP properties. */
export interface PublishedResult {
  body: { messageId: string; type: string; correlationId: string; data: Record<string, unknown> };
  properties: GetMessage['properties'];
  routingKey: string;
}

/**
 * The spec's side of exchange `payment`: publishes requests as order-api does, and reads every result
 * the service publishes from a probe queue of its own (bound like order_payments, deleted with the
 * connection), so order_payments' own consumers are not disturbed.
 */
export class PaymentExchangeProbe {
  private readonly results: PublishedResult[] = [];

  private constructor(
    readonly broker: BrokerProbe,
    private readonly queue: string,
  ) {}

  static async connect(): Promise<PaymentExchangeProbe> {
    const broker = await BrokerProbe.connect();
    const { queue } = await broker.channel.assertQueue('', { exclusive: true, autoDelete: true });
    for (const key of [
      RoutingKeys.paymentSucceeded,
      RoutingKeys.paymentFailed,
      RoutingKeys.paymentRefunded,
    ]) {
      await broker.channel.bindQueue(queue, Exchanges.payment, key);
    }
    return new PaymentExchangeProbe(broker, queue);
  }

  async request(message: PaymentRequestedV1 | PaymentRefundRequestedV1): Promise<void> {
    await this.publishRaw(
      message.type === MessageTypes.paymentRequestedV1
        ? RoutingKeys.paymentRequested
        : RoutingKeys.paymentRefundRequested,
      Buffer.from(JSON.stringify(message)),
      message.messageId,
      message.correlationId,
      message.type,
    );
  }

  async publishRaw(
    routingKey: string,
    body: Buffer,
    messageId: string,
    correlationId: string,
    type: string,
  ): Promise<void> {
    await this.broker.publishConfirmed(
      Exchanges.payment,
      routingKey,
      body,
      jsonMessageProperties({ messageId, correlationId, type, occurredAt: new Date(), appId: 'spec' }),
    );
  }

  /** Waits until `count` results for `paymentId` arrived, in arrival order. */
  async resultsFor(paymentId: string, count: number, timeoutMs = 10_000): Promise<PublishedResult[]> {
    return waitFor(
      `${count} result(s) for payment ${paymentId}`,
      async () => {
        await this.take();
        const found = this.results.filter((result) => result.body.data.paymentId === paymentId);
        return found.length >= count ? found : false;
      },
      { timeoutMs },
    );
  }

  /** Every result read so far, in arrival order. */
  async arrived(): Promise<PublishedResult[]> {
    await this.take();
    return [...this.results];
  }

  /** Closes the probe, and empties order_payments: the results went there too, and no order-api read them. */
  async close(): Promise<void> {
    await this.broker.purge(Queues.orderPayments).catch(() => undefined);
    await this.broker.close();
  }

  private async take(): Promise<void> {
    for (const message of await this.broker.drain(this.queue)) {
      this.results.push({
        body: JSON.parse(message.content.toString('utf8')) as PublishedResult['body'],
        properties: message.properties,
        routingKey: message.fields.routingKey,
      });
    }
  }
}
