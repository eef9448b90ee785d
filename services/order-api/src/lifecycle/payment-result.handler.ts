import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { MessageTypes, OrderSteps, PaymentResultV1, Queues } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { WorkQueueSubscriber } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import type { Counter } from 'prom-client';
import type { LifecycleEvent } from './order-lifecycle';
import { OrderLifecycleStore } from './order-lifecycle.store';

/**
 * order-api's subscription to `order_payments`: the payment service's answers (payment.succeeded,
 * payment.failed, payment.refunded), accepted from the RabbitMQ user `payment` only (the subscriber
 * parks any other publisher FORBIDDEN_PUBLISHER). Acked once the transition is committed.
 */
@Injectable()
export class PaymentResultHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(PaymentResultHandler.name);
  private readonly applied: Counter<string> | undefined;

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: OrderLifecycleStore,
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.applied = metrics?.counter(
      'order_payment_results_total',
      "The payment service's answers order-api applied, by type and what they did (changed, unchanged)",
      ['type', 'outcome'],
    );
  }

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderPayments, PaymentResultV1, (result) => this.apply(result));
  }

  private async apply(result: PaymentResultV1): Promise<void> {
    const { orderId, paymentId } = result.data;
    const event: LifecycleEvent =
      result.type === MessageTypes.paymentSucceededV1
        ? { type: 'payment-succeeded', paymentId }
        : result.type === MessageTypes.paymentFailedV1
          ? { type: 'payment-failed', paymentId, code: result.data.code }
          : { type: 'payment-refunded', paymentId };
    const outcome = await this.store.applyEvent({ orderId, event });
    this.applied?.inc({ type: result.type, outcome: outcome.outcome });
    if (outcome.outcome !== 'changed') {
      this.logger.debug(`order ${orderId}: ${result.type} ${result.messageId} changed nothing`);
    } else {
      const applied = `order ${orderId}: ${result.type} applied (status ${outcome.status})`;
      this.logger.log(logEntry(applied, { step: OrderSteps.paymentApplied }));
    }
  }
}
