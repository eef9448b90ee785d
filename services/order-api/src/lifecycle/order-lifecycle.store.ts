import { Injectable } from '@nestjs/common';
import {
  Exchanges,
  MessageTypes,
  type OrderLifecycleV1Data,
  type PaymentRefundRequestedV1Data,
  type PaymentRequestedV1Data,
  RoutingKeys,
} from '@shop/contracts';
import { eachAloneIfBatchFails, GroupCommit, isStatementError, type ItemResult } from '@shop/db';
import { OutboxRelay, type OutboxRecord, PermanentFailure } from '@shop/messaging';
import { randomUUID } from 'node:crypto';
import { OrderRepository, type OrderLifecycleRecord } from '../orders/order.repository';
import {
  decide,
  type LifecycleChanges,
  type LifecycleDecision,
  type LifecycleEffect,
  type LifecycleEmail,
  type LifecycleEvent,
  type OrderLifecycleState,
  type OrderStatus,
} from './order-lifecycle';

/** One event for one order, as the store takes it. */
export interface LifecycleCommand {
  orderId: string;
  event: LifecycleEvent;
  /** `pay` only: the card the payment request carries (the sandbox provider's token). */
  card?: string;
}

/** What became of a command: the table's decision and the order's status after it. */
export type LifecycleResult = { outcome: 'unknown-order' } | AppliedToOrder;

/** What became of an event for an order that exists: the table's decision and the status after it. */
export type AppliedToOrder = LifecycleDecision & { status: OrderStatus };

/** Most events one transaction applies. */
const MAX_EVENTS_PER_TRANSACTION = 500;
/**
 * How long an idle store lets the brokers' events (status steps, payment results, deadlines) gather
 * before it starts a transaction: nobody waits on them, and a flash sale's trickle of two or three per
 * order then shares transactions (a status shows this much later). Customers' requests start at once.
 */
const EVENT_LINGER_MS = 20;

const stateOf = (order: OrderLifecycleRecord): OrderLifecycleState => ({
  status: order.status,
  payBy: order.payBy,
  paymentId: order.paymentId,
  paymentPending: order.paymentPending,
  paidPaymentId: order.paidPaymentId,
  latePaymentId: order.latePaymentId,
  cancelRequested: order.cancelRequestedAt !== null,
  refunded: order.refundedAt !== null,
  notified: order.notifiedAt !== null,
  reported: order.reportedAt !== null,
});

/** The order with a decision's changes written in (a time set once keeps its first value). */
function withChanges(order: OrderLifecycleRecord, changes: LifecycleChanges): OrderLifecycleRecord {
  const once = (current: Date | null, next: Date | undefined) => current ?? next ?? null;
  return {
    ...order,
    status: changes.status ?? order.status,
    paymentId: changes.paymentId ?? order.paymentId,
    paymentPending: changes.paymentPending ?? order.paymentPending,
    paymentFailure: changes.paymentFailure === undefined ? order.paymentFailure : changes.paymentFailure,
    paidPaymentId: changes.paidPaymentId ?? order.paidPaymentId,
    latePaymentId: changes.latePaymentId ?? order.latePaymentId,
    paidAt: once(order.paidAt, changes.paidAt),
    completedAt: once(order.completedAt, changes.completedAt),
    cancelledAt: once(order.cancelledAt, changes.cancelledAt),
    expiredAt: once(order.expiredAt, changes.expiredAt),
    refundedAt: once(order.refundedAt, changes.refundedAt),
    cancelRequestedAt: once(order.cancelRequestedAt, changes.cancelRequestedAt),
    stockReturnedAt: once(order.stockReturnedAt, changes.stockReturnedAt),
    notifiedAt: once(order.notifiedAt, changes.notifiedAt),
    reportedAt: once(order.reportedAt, changes.reportedAt),
  };
}

const EMAIL_ROUTES: Record<LifecycleEmail, { routingKey: string; type: string }> = {
  paid: { routingKey: RoutingKeys.orderPaid, type: MessageTypes.orderPaidV1 },
  expired: { routingKey: RoutingKeys.orderExpired, type: MessageTypes.orderExpiredV1 },
  cancelled: { routingKey: RoutingKeys.orderCancelled, type: MessageTypes.orderCancelledV1 },
  refunded: { routingKey: RoutingKeys.orderRefunded, type: MessageTypes.orderRefundedV1 },
};

/**
 * Applies lifecycle events to orders, in OrderRepository's lifecycle transactions. Every event goes
 * through `decide` (the transition table) while the order's row is locked, so concurrent events for one
 * order are decided one after the other on the state the previous one left. What a transition brings
 * along commits in the same transaction: the units back to stock, and the outbox rows of the payment or
 * refund request and the customer's email (published right after the commit, or by the sweep).
 *
 * The events in hand at once share one transaction (GroupCommit): a flash sale brings two status events
 * per order, a payment and a deadline. A batch PostgreSQL refuses is applied again one event at a time.
 */
@Injectable()
export class OrderLifecycleStore {
  /** Customers' payments and cancellations: someone waits for each, so no linger. */
  private readonly requests = this.batching(0);
  /** The three feeds' events: they gather for EVENT_LINGER_MS. */
  private readonly events = this.batching(EVENT_LINGER_MS);

  constructor(
    private readonly orders: OrderRepository,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * A customer's request (pay, cancel), applied at once. Its transaction and the events' may run side by
   * side: each locks its orders in id order, then their products in id order, so they cannot deadlock.
   */
  apply(command: LifecycleCommand): Promise<LifecycleResult> {
    return this.requests.submit(command);
  }

  /**
   * An event from the broker (a status step, a payment result, a deadline), batched with its peers. Every
   * such event names an order this service wrote, so one for an order it does not have is parked
   * (PermanentFailure ORDER_NOT_FOUND), never retried.
   */
  async applyEvent(command: LifecycleCommand): Promise<AppliedToOrder> {
    const result = await this.events.submit(command);
    if (result.outcome === 'unknown-order') {
      throw new PermanentFailure(`order ${command.orderId} does not exist`, 'ORDER_NOT_FOUND');
    }
    return result;
  }

  private batching(lingerMs: number): GroupCommit<LifecycleCommand, LifecycleResult> {
    return new GroupCommit<LifecycleCommand, LifecycleResult>(
      eachAloneIfBatchFails((commands) => this.applyBatch(commands), isStatementError),
      // No waiting bound: the consumers' prefetch and the HTTP server's connections bound the waiting.
      { maxBatchSize: MAX_EVENTS_PER_TRANSACTION, maxWaiting: Number.POSITIVE_INFINITY, lingerMs },
    );
  }

  private async applyBatch(commands: LifecycleCommand[]): Promise<ItemResult<LifecycleResult>[]> {
    const now = new Date();
    const { result, outbox } = await this.orders.changeLifecycles(
      commands.map((command) => command.orderId),
      (orders) => {
        const changed = new Set<string>();
        const stockBackOf: string[] = [];
        const outbox: OutboxRecord[] = [];
        const result = commands.map((command): ItemResult<LifecycleResult> => {
          const key = command.orderId.toLowerCase();
          const order = orders.get(key);
          if (!order) return { ok: true, value: { outcome: 'unknown-order' } };
          const decision = decide(stateOf(order), command.event, now);
          if (decision.outcome !== 'changed')
            return { ok: true, value: { ...decision, status: order.status } };
          const next = withChanges(order, decision.changes);
          orders.set(key, next);
          changed.add(key);
          for (const effect of decision.effects) {
            if (effect.type === 'return-stock') stockBackOf.push(next.id);
            else outbox.push(this.outboxRecordOf(effect, next, command, now));
          }
          return { ok: true, value: { ...decision, status: next.status } };
        });
        return {
          changed: [...changed].map((key) => orders.get(key) as OrderLifecycleRecord),
          stockBackOf,
          outbox,
          result,
        };
      },
    );
    if (outbox.length > 0) this.relay.relayCommitted(outbox);
    return result;
  }

  /** The message an effect sends, as an outbox row. */
  private outboxRecordOf(
    effect: Exclude<LifecycleEffect, { type: 'return-stock' }>,
    order: OrderLifecycleRecord,
    command: LifecycleCommand,
    now: Date,
  ): OutboxRecord {
    const money = { amountCents: order.totalCents, currency: order.currency };
    let exchange: string;
    let routingKey: string;
    let type: string;
    let data: PaymentRequestedV1Data | PaymentRefundRequestedV1Data | OrderLifecycleV1Data;
    switch (effect.type) {
      case 'request-payment':
        exchange = Exchanges.payment;
        routingKey = RoutingKeys.paymentRequested;
        type = MessageTypes.paymentRequestedV1;
        data = { orderId: order.id, paymentId: effect.paymentId, ...money, card: command.card as string };
        break;
      case 'request-refund':
        exchange = Exchanges.payment;
        routingKey = RoutingKeys.paymentRefundRequested;
        type = MessageTypes.paymentRefundRequestedV1;
        data = { orderId: order.id, paymentId: effect.paymentId, ...money, reason: effect.reason };
        break;
      case 'email':
        exchange = Exchanges.order;
        ({ routingKey, type } = EMAIL_ROUTES[effect.email]);
        data = lifecycleEmailData(effect.email, order, now);
        break;
    }
    return {
      id: randomUUID(),
      exchange,
      routingKey,
      messageType: type,
      data,
      headers: { correlationId: order.correlationId, 'order-id': order.id },
      createdAt: now,
    };
  }
}

/** What a lifecycle email tells: the order after the transition, and the refund when money went back. */
function lifecycleEmailData(
  email: LifecycleEmail,
  order: OrderLifecycleRecord,
  now: Date,
): OrderLifecycleV1Data {
  const refundReason =
    email === 'refunded'
      ? order.latePaymentId !== null && order.status !== 'refunded'
        ? ('late-payment' as const)
        : ('provider' as const)
      : email === 'cancelled' && order.refundedAt !== null
        ? ('cancelled' as const)
        : undefined;
  return {
    orderId: order.id,
    status: order.status,
    at: now.toISOString(),
    customer: { email: order.customerEmail, name: order.customerName },
    totalCents: order.totalCents,
    currency: order.currency,
    ...(refundReason && { refund: { amountCents: order.totalCents, reason: refundReason } }),
  };
}
