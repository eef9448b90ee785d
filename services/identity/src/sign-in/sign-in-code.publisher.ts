import { Injectable } from '@nestjs/common';
import {
  CustomerSignInCodeV1,
  type CustomerSignInCodeV1Data,
  Exchanges,
  MessageTypes,
  RoutingKeys,
} from '@shop/contracts';
import { currentCorrelationId } from '@shop/logging';
import { ConfirmedPublisher } from '@shop/messaging';
import { randomUUID } from 'node:crypto';

/**
 * Sends a code to notify-worker: customer.sign-in-code.v1 on exchange `customer`, persistent, with a
 * publisher confirm, and an AMQP expiration equal to what is left of the code's validity, so a message
 * the worker could not take in time dies with its code instead of mailing a dead one.
 */
@Injectable()
export class SignInCodePublisher {
  constructor(private readonly publisher: ConfirmedPublisher) {}

  async publish(data: CustomerSignInCodeV1Data): Promise<void> {
    const messageId = randomUUID();
    const occurredAt = new Date();
    const correlationId = currentCorrelationId() ?? messageId;
    await this.publisher.publishEvent({
      exchange: Exchanges.customer,
      routingKey: RoutingKeys.customerSignInCode,
      messageId,
      correlationId,
      type: MessageTypes.customerSignInCodeV1,
      occurredAt,
      data,
      // Checked against the contract before it leaves, as a consumer will check it.
      schema: CustomerSignInCodeV1,
      expirationMs: Date.parse(data.expiresAt) - occurredAt.getTime(),
    });
  }
}
