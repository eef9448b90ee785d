import { Injectable } from '@nestjs/common';
import {
  Exchanges,
  MessageTypes,
  PaymentFailedV1,
  type PaymentFailureCode,
  PaymentRefundedV1,
  PaymentSucceededV1,
  RoutingKeys,
} from '@shop/contracts';
import { ConfirmedPublisher } from '@shop/messaging';
import { createHash } from 'node:crypto';
import type { Payment } from './payment.repository';

/** What payment.failed says for each recorded failure; the same words every time it is published. */
const FAILURES: Record<
  'declined' | 'timed_out' | 'already_paid',
  { code: PaymentFailureCode; message: string }
> = {
  declined: { code: 'CARD_DECLINED', message: 'The card was declined; nothing was charged.' },
  timed_out: {
    code: 'PROVIDER_TIMEOUT',
    message: 'The payment provider did not answer in time; nothing was charged.',
  },
  already_paid: {
    code: 'ALREADY_PAID',
    message: 'The order is paid already (another payment); this one was not charged.',
  },
};

/**
 * Publishes the payment service's results to order-api: payment.succeeded, payment.failed and
 * payment.refunded on exchange `payment`, persistent and mandatory, with a publisher confirm, the
 * request's correlation id, the header `order-id`, and the user `payment` (order-api believes a payment
 * only from it). Built from the recorded payment alone, so publishing a payment's result again (a
 * redelivered request) sends the same message: same data, same times, same message id.
 */
@Injectable()
export class PaymentResultPublisher {
  constructor(private readonly publisher: ConfirmedPublisher) {}

  /** The charge's recorded result: payment.succeeded (also once refunded since) or payment.failed. */
  async publishChargeResult(payment: Payment, correlationId: string): Promise<void> {
    const settledAt = payment.settledAt;
    if (!settledAt || payment.status === 'charging') {
      throw new Error(`payment ${payment.paymentId} has no result yet (${payment.status})`);
    }
    if (payment.status === 'succeeded' || payment.status === 'refunded') {
      await this.publish(
        RoutingKeys.paymentSucceeded,
        MessageTypes.paymentSucceededV1,
        PaymentSucceededV1,
        payment,
        settledAt,
        correlationId,
        {
          orderId: payment.orderId,
          paymentId: payment.paymentId,
          amountCents: payment.amountCents,
          currency: payment.currency,
          providerReference: payment.providerReference,
          chargedAt: settledAt.toISOString(),
        },
      );
      return;
    }
    const failure = FAILURES[payment.status];
    await this.publish(
      RoutingKeys.paymentFailed,
      MessageTypes.paymentFailedV1,
      PaymentFailedV1,
      payment,
      settledAt,
      correlationId,
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        code: failure.code,
        message: failure.message,
        failedAt: settledAt.toISOString(),
      },
    );
  }

  /** payment.refunded of a refunded payment, with the first refund's time and reason. */
  async publishRefunded(payment: Payment, correlationId: string): Promise<void> {
    if (payment.status !== 'refunded' || !payment.refundedAt || !payment.refundReason) {
      throw new Error(`payment ${payment.paymentId} is not refunded (${payment.status})`);
    }
    await this.publish(
      RoutingKeys.paymentRefunded,
      MessageTypes.paymentRefundedV1,
      PaymentRefundedV1,
      payment,
      payment.refundedAt,
      correlationId,
      {
        orderId: payment.orderId,
        paymentId: payment.paymentId,
        amountCents: payment.amountCents,
        currency: payment.currency,
        reason: payment.refundReason,
        refundedAt: payment.refundedAt.toISOString(),
      },
    );
  }

  private async publish(
    routingKey: string,
    type: string,
    schema: { parse(envelope: unknown): unknown },
    payment: Payment,
    occurredAt: Date,
    correlationId: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.publisher.publishEvent({
      exchange: Exchanges.payment,
      routingKey,
      messageId: resultMessageId(payment.paymentId, type),
      correlationId,
      type,
      occurredAt,
      data,
      // Checked against the contract before it leaves, as order-api will check it.
      schema,
      headers: { 'order-id': payment.orderId },
    });
  }
}

/**
 * The message id of a payment's result of one type: a UUID (version 8, name-based) derived from the
 * payment id and the type, so every publication of the same result carries the same id.
 */
export function resultMessageId(paymentId: string, type: string): string {
  const bytes = createHash('sha256').update(`${paymentId}\u0000${type}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
