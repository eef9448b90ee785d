import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MessageTypes, OrderStatusEventV1, Queues } from '@shop/contracts';
import { PermanentFailure, WorkQueueSubscriber } from '@shop/messaging';
import { OrderStatusStore, type StatusChange } from './order-status.store';

/**
 * order-api's subscription to `order_status` (order.notified.v1 and order.reported.v1 from the
 * workers). The message is acked once its change is committed; an event for an order that does not
 * exist is parked in `order_status.dlq` (ORDER_NOT_FOUND), anything else goes through the retries.
 */
@Injectable()
export class OrderStatusHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderStatusHandler.name);

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: OrderStatusStore,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderStatus, OrderStatusEventV1, (event) => this.apply(event));
  }

  private async apply(event: OrderStatusEventV1): Promise<void> {
    const change: StatusChange =
      event.type === MessageTypes.orderNotifiedV1
        ? { orderId: event.data.orderId, notifiedAt: new Date(event.data.notifiedAt) }
        : { orderId: event.data.orderId, reportedAt: new Date(event.data.reportedAt) };
    const outcome = await this.store.apply(change);
    if (outcome === 'unknown-order') {
      throw new PermanentFailure(`order ${change.orderId} does not exist`, 'ORDER_NOT_FOUND');
    }
    if (outcome === 'unchanged') {
      this.logger.debug(
        `order ${change.orderId}: ${event.type} ${event.messageId} changed nothing (seen before)`,
      );
    }
  }
}
