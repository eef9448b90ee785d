import { Inject, Injectable } from '@nestjs/common';
import {
  Exchanges,
  MessageTypes,
  type OrderLifecycleV1Data,
  type PaymentRefundRequestedV1Data,
  type PaymentRequestedV1Data,
  RoutingKeys,
} from '@shop/contracts';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  inTransaction,
  isStatementError,
  type ItemResult,
  PG_POOL,
} from '@shop/db';
import { addToOutbox, OutboxRelay, type OutboxRecord } from '@shop/messaging';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
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
export type LifecycleResult = { outcome: 'unknown-order' } | (LifecycleDecision & { status: OrderStatus });

/** Most events one transaction applies. */
const MAX_EVENTS_PER_TRANSACTION = 500;
/**
 * How long an idle store lets the brokers' events (status steps, payment results, deadlines) gather
 * before it starts a transaction: nobody waits on them, and a flash sale's trickle of two or three per
 * order then shares transactions (a status shows this much later). Customers' requests start at once.
 */
const EVENT_LINGER_MS = 20;

/** An order's lifecycle columns as stored: what `decide` reads, and what a transition writes back. */
interface LifecycleRow {
  id: string;
  status: OrderStatus;
  pay_by: Date;
  payment_id: string | null;
  payment_pending: boolean;
  payment_failure: string | null;
  paid_payment_id: string | null;
  late_payment_id: string | null;
  paid_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  expired_at: Date | null;
  refunded_at: Date | null;
  cancel_requested_at: Date | null;
  stock_returned_at: Date | null;
  notified_at: Date | null;
  reported_at: Date | null;
  customer_email: string;
  customer_name: string;
  total_cents: number;
  currency: string;
  correlation_id: string;
}

const stateOf = (row: LifecycleRow): OrderLifecycleState => ({
  status: row.status,
  payBy: row.pay_by,
  paymentId: row.payment_id,
  paymentPending: row.payment_pending,
  paidPaymentId: row.paid_payment_id,
  latePaymentId: row.late_payment_id,
  cancelRequested: row.cancel_requested_at !== null,
  refunded: row.refunded_at !== null,
  notified: row.notified_at !== null,
  reported: row.reported_at !== null,
});

/** The row with a decision's changes written in (a column set once keeps its first value). */
function withChanges(row: LifecycleRow, changes: LifecycleChanges): LifecycleRow {
  const once = (current: Date | null, next: Date | undefined) => current ?? next ?? null;
  return {
    ...row,
    status: changes.status ?? row.status,
    payment_id: changes.paymentId ?? row.payment_id,
    payment_pending: changes.paymentPending ?? row.payment_pending,
    payment_failure: changes.paymentFailure === undefined ? row.payment_failure : changes.paymentFailure,
    paid_payment_id: changes.paidPaymentId ?? row.paid_payment_id,
    late_payment_id: changes.latePaymentId ?? row.late_payment_id,
    paid_at: once(row.paid_at, changes.paidAt),
    completed_at: once(row.completed_at, changes.completedAt),
    cancelled_at: once(row.cancelled_at, changes.cancelledAt),
    expired_at: once(row.expired_at, changes.expiredAt),
    refunded_at: once(row.refunded_at, changes.refundedAt),
    cancel_requested_at: once(row.cancel_requested_at, changes.cancelRequestedAt),
    stock_returned_at: once(row.stock_returned_at, changes.stockReturnedAt),
    notified_at: once(row.notified_at, changes.notifiedAt),
    reported_at: once(row.reported_at, changes.reportedAt),
  };
}

const EMAIL_ROUTES: Record<LifecycleEmail, { routingKey: string; type: string }> = {
  paid: { routingKey: RoutingKeys.orderPaid, type: MessageTypes.orderPaidV1 },
  expired: { routingKey: RoutingKeys.orderExpired, type: MessageTypes.orderExpiredV1 },
  cancelled: { routingKey: RoutingKeys.orderCancelled, type: MessageTypes.orderCancelledV1 },
  refunded: { routingKey: RoutingKeys.orderRefunded, type: MessageTypes.orderRefundedV1 },
};

/**
 * Applies lifecycle events to orders: the one writer of an order after its placement. Every event goes
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
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * A customer's request (pay, cancel), applied at once. Its transaction and the events' may run side by
   * side: each locks its orders in id order, then their products in id order, so they cannot deadlock.
   */
  apply(command: LifecycleCommand): Promise<LifecycleResult> {
    return this.requests.submit(command);
  }

  /** An event from the broker (a status step, a payment result, a deadline), batched with its peers. */
  applyEvent(command: LifecycleCommand): Promise<LifecycleResult> {
    return this.events.submit(command);
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
    const { results, outbox } = await inTransaction(this.pool, async (client) => {
      const rows = await this.lockOrders(client, commands);
      const touched = new Set<string>();
      const stockBack: string[] = [];
      const outbox: OutboxRecord[] = [];
      const results = commands.map((command): ItemResult<LifecycleResult> => {
        const key = command.orderId.toLowerCase();
        const row = rows.get(key);
        if (!row) return { ok: true, value: { outcome: 'unknown-order' } };
        const decision = decide(stateOf(row), command.event, now);
        if (decision.outcome !== 'changed') return { ok: true, value: { ...decision, status: row.status } };
        const next = withChanges(row, decision.changes);
        rows.set(key, next);
        touched.add(key);
        for (const effect of decision.effects) {
          if (effect.type === 'return-stock') stockBack.push(next.id);
          else outbox.push(this.outboxRecordOf(effect, next, command, now));
        }
        return { ok: true, value: { ...decision, status: next.status } };
      });
      await this.writeOrders(
        client,
        [...touched].map((key) => rows.get(key) as LifecycleRow),
      );
      if (stockBack.length > 0) await this.returnStock(client, stockBack);
      await addToOutbox(client, outbox);
      return { results, outbox };
    });
    if (outbox.length > 0) this.relay.relayCommitted(outbox);
    return results;
  }

  /** The orders named by the batch, locked in id order so concurrent transactions cannot deadlock. */
  private async lockOrders(
    client: PoolClient,
    commands: LifecycleCommand[],
  ): Promise<Map<string, LifecycleRow>> {
    const { rows } = await client.query<LifecycleRow>({
      name: 'lock-order-lifecycle-v1',
      text: `SELECT o.id::text AS id, o.status::text AS status, o.pay_by, o.payment_id::text AS payment_id,
                    o.payment_pending, o.payment_failure, o.paid_payment_id::text AS paid_payment_id,
                    o.late_payment_id::text AS late_payment_id, o.paid_at, o.completed_at, o.cancelled_at,
                    o.expired_at, o.refunded_at, o.cancel_requested_at, o.stock_returned_at, o.notified_at,
                    o.reported_at, o.customer_email, o.customer_name, o.total_cents,
                    trim(o.currency) AS currency, o.correlation_id
               FROM orders o
              WHERE o.id = ANY($1::uuid[])
              ORDER BY o.id
                FOR UPDATE`,
      values: [[...new Set(commands.map((command) => command.orderId.toLowerCase()))]],
    });
    return new Map(rows.map((row) => [row.id, row]));
  }

  private async writeOrders(client: PoolClient, rows: LifecycleRow[]): Promise<void> {
    if (rows.length === 0) return;
    const column = <K extends keyof LifecycleRow>(name: K) => rows.map((row) => row[name]);
    await client.query({
      name: 'write-order-lifecycle-v1',
      text: `UPDATE orders o
                SET status = u.status::order_status, payment_id = u.payment_id,
                    payment_pending = u.payment_pending, payment_failure = u.payment_failure,
                    paid_payment_id = u.paid_payment_id, late_payment_id = u.late_payment_id,
                    paid_at = u.paid_at, completed_at = u.completed_at, cancelled_at = u.cancelled_at,
                    expired_at = u.expired_at, refunded_at = u.refunded_at,
                    cancel_requested_at = u.cancel_requested_at, stock_returned_at = u.stock_returned_at,
                    notified_at = u.notified_at, reported_at = u.reported_at, updated_at = now()
               FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::boolean[], $5::text[], $6::uuid[], $7::uuid[],
                           $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[],
                           $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[],
                           $16::timestamptz[])
                    AS u(id, status, payment_id, payment_pending, payment_failure, paid_payment_id,
                         late_payment_id, paid_at, completed_at, cancelled_at, expired_at, refunded_at,
                         cancel_requested_at, stock_returned_at, notified_at, reported_at)
              WHERE o.id = u.id`,
      values: [
        column('id'),
        column('status'),
        column('payment_id'),
        column('payment_pending'),
        column('payment_failure'),
        column('paid_payment_id'),
        column('late_payment_id'),
        column('paid_at'),
        column('completed_at'),
        column('cancelled_at'),
        column('expired_at'),
        column('refunded_at'),
        column('cancel_requested_at'),
        column('stock_returned_at'),
        column('notified_at'),
        column('reported_at'),
      ],
    });
  }

  /**
   * The ended reservations' units back to their products, in the transaction that ended them. Products
   * are locked in id order, as place_orders locks them; the update raises the stock-replenished
   * notification, so every instance's sold-out markers forget those products.
   */
  private async returnStock(client: PoolClient, orderIds: string[]): Promise<void> {
    await client.query({
      name: 'return-reserved-stock-v1',
      text: `WITH returned AS (
               SELECT i.product_id, sum(i.quantity)::int AS units
                 FROM order_items i
                WHERE i.order_id = ANY($1::uuid[])
                GROUP BY i.product_id
             ),
             locked AS (
               SELECT p.id FROM products p JOIN returned r ON r.product_id = p.id ORDER BY p.id FOR UPDATE OF p
             )
             UPDATE products p
                SET stock = p.stock + r.units, updated_at = now()
               FROM returned r
              WHERE p.id = r.product_id AND p.id IN (SELECT id FROM locked)`,
      values: [orderIds],
    });
  }

  /** The message an effect sends, as an outbox row. */
  private outboxRecordOf(
    effect: Exclude<LifecycleEffect, { type: 'return-stock' }>,
    order: LifecycleRow,
    command: LifecycleCommand,
    now: Date,
  ): OutboxRecord {
    const money = { amountCents: order.total_cents, currency: order.currency };
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
      headers: { correlationId: order.correlation_id, 'order-id': order.id },
      createdAt: now,
    };
  }
}

/** What a lifecycle email tells: the order after the transition, and the refund when money went back. */
function lifecycleEmailData(email: LifecycleEmail, order: LifecycleRow, now: Date): OrderLifecycleV1Data {
  const refundReason =
    email === 'refunded'
      ? order.late_payment_id !== null && order.status !== 'refunded'
        ? ('late-payment' as const)
        : ('provider' as const)
      : email === 'cancelled' && order.refunded_at !== null
        ? ('cancelled' as const)
        : undefined;
  return {
    orderId: order.id,
    status: order.status,
    at: now.toISOString(),
    customer: { email: order.customer_email, name: order.customer_name },
    totalCents: order.total_cents,
    currency: order.currency,
    ...(refundReason && { refund: { amountCents: order.total_cents, reason: refundReason } }),
  };
}
