import { Injectable } from '@nestjs/common';
import { Exchanges, MessageTypes, RoutingKeys } from '@shop/contracts';
import { randomUUID } from 'node:crypto';
import { ConfirmedPublisher } from './confirmed-publisher';

/**
 * The workers' status events (`order.notified.v1`, `order.reported.v1`) to exchange `order`, persistent
 * and confirmed: a worker publishes after its side effect is durable and acks its own message only
 * after the broker confirmed the event, so a crash in between redelivers the message, finds the work
 * done and publishes the event again (at least once; order-api applies it idempotently).
 */
@Injectable()
export class OrderStatusPublisher {
  constructor(private readonly publisher: ConfirmedPublisher) {}

  notified(orderId: string, notifiedAt: Date, correlationId: string): Promise<void> {
    return this.publish(MessageTypes.orderNotifiedV1, RoutingKeys.orderNotified, correlationId, {
      orderId,
      notifiedAt: notifiedAt.toISOString(),
    });
  }

  reported(orderId: string, reportedAt: Date, correlationId: string): Promise<void> {
    return this.publish(MessageTypes.orderReportedV1, RoutingKeys.orderReported, correlationId, {
      orderId,
      reportedAt: reportedAt.toISOString(),
    });
  }

  private publish(type: string, routingKey: string, correlationId: string, data: object): Promise<void> {
    return this.publisher.publishEvent({
      exchange: Exchanges.order,
      routingKey,
      messageId: randomUUID(),
      correlationId,
      type,
      occurredAt: new Date(),
      data,
    });
  }
}
