import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { OrderPaymentDueV1, OrderSteps, Queues } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { WorkQueueSubscriber } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import type { Counter } from 'prom-client';
import { OrderLifecycleStore } from './order-lifecycle.store';

/**
 * order-api's subscription to `order_deadlines`: each reservation's deadline, back from its window's
 * delay queue when the TTL ran out. An order still unpaid expires and its stock comes back; for any other
 * the deadline is acked and does nothing. Late (the broker was down) is fine; twice is harmless.
 */
@Injectable()
export class OrderDeadlineHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderDeadlineHandler.name);
  private readonly deadlines: Counter<string> | undefined;

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: OrderLifecycleStore,
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.deadlines = metrics?.counter(
      'order_deadlines_total',
      'Reservation deadlines that fell due, by what they did: expired (the order was unpaid) or unchanged',
      ['outcome'],
    );
  }

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderDeadlines, OrderPaymentDueV1, (deadline) => this.apply(deadline));
  }

  private async apply(deadline: OrderPaymentDueV1): Promise<void> {
    const { orderId } = deadline.data;
    const result = await this.store.applyEvent({ orderId, event: { type: 'deadline' } });
    const expired = result.outcome === 'changed';
    this.deadlines?.inc({ outcome: expired ? 'expired' : 'unchanged' });
    const what = expired ? 'expired unpaid; its stock is back' : `nothing to do (status ${result.status})`;
    this.logger.log(logEntry(`order ${orderId}: deadline fell due, ${what}`, { step: OrderSteps.deadline }));
  }
}
