import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { MessageTypes, OrderLifecycleEventV1, OrderPlacedV1, Queues } from '@shop/contracts';
import { WorkQueueSubscriber } from '@shop/messaging';
import { z } from 'zod';
import { OrderLifecycleNotifyHandler } from './order-lifecycle.handler';
import { OrderPlacedNotifyHandler } from './order-placed.handler';

/**
 * Every message order_notify carries: the placement (order.placed.v1 on order.notify) and order-api's
 * lifecycle events. One contract for the queue, so a message of any other type is parked with the
 * reason the validation gives ("type: Invalid discriminator value ...").
 */
export const OrderNotifyMessage = z.discriminatedUnion('type', [OrderPlacedV1, OrderLifecycleEventV1]);

/** notify-worker's one subscription to order_notify, handing each message to its type's handler. */
@Injectable()
export class OrderNotifySubscription implements OnApplicationBootstrap {
  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly placed: OrderPlacedNotifyHandler,
    private readonly lifecycle: OrderLifecycleNotifyHandler,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderNotify, OrderNotifyMessage, (event, delivery) =>
      event.type === MessageTypes.orderPlacedV1
        ? this.placed.handle(event, delivery)
        : this.lifecycle.handle(event, delivery),
    );
  }
}
