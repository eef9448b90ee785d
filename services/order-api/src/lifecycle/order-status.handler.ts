import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MessageTypes, OrderStatusEventV1, OrderSteps, Queues } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { WorkQueueSubscriber } from '@shop/messaging';
import type { LifecycleEvent } from './order-lifecycle';
import { OrderLifecycleStore } from './order-lifecycle.store';

/**
 * order-api's subscription to `order_status` (order.notified.v1 and order.reported.v1 from the
 * workers): the fulfilment steps, which complete a paid order. The message is acked once its change is
 * committed; an event for an order that does not exist is parked in `order_status.dlq`
 * (ORDER_NOT_FOUND), anything else goes through the retries.
 */
@Injectable()
export class OrderStatusHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderStatusHandler.name);

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: OrderLifecycleStore,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderStatus, OrderStatusEventV1, (event) => this.apply(event));
  }

  private async apply(event: OrderStatusEventV1): Promise<void> {
    const step: LifecycleEvent =
      event.type === MessageTypes.orderNotifiedV1
        ? { type: 'notified', at: new Date(event.data.notifiedAt) }
        : { type: 'reported', at: new Date(event.data.reportedAt) };
    const result = await this.store.applyEvent({ orderId: event.data.orderId, event: step });
    if (result.outcome === 'changed') {
      const applied = `order ${event.data.orderId}: ${event.type} applied (status ${result.status})`;
      this.logger.log(logEntry(applied, { step: OrderSteps.statusApplied }));
    }
    if (result.outcome === 'unchanged') {
      this.logger.debug(
        `order ${event.data.orderId}: ${event.type} ${event.messageId} changed nothing (${result.why})`,
      );
    }
  }
}
