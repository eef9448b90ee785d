import { Inject, Injectable, Logger } from '@nestjs/common';
import { ORDER_STATUSES } from '@shop/contracts';
import { inTransaction, PG_POOL, queryKeepingConnection } from '@shop/db';
import { addToOutbox, outboxRecordFromRow, type OutboxRecord } from '@shop/messaging';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import {
  checkPlaceOrdersRows,
  ORDER_CURRENCY,
  placeOrdersQuery,
  type OrderToPlace,
  type PlaceOrdersRow,
  type SaleRefusalOutcome,
} from './place-orders.sql';

/** What became of one order of a batch. `placed` is only ever answered after the batch committed. */
export type Placement =
  | {
      kind: 'placed';
      createdAt: Date;
      /** When the reservation ends unless the order is paid. */
      payBy: Date;
      totalCents: number;
      currency: string;
      items: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
    }
  | { kind: 'replay' }
  | { kind: 'unknown-sku'; skus: string[] }
  | { kind: 'out-of-stock'; skus: string[] }
  | { kind: 'too-big' }
  /** A sale's rule refused it (`refusal`: which), for the products `skus`; nothing was taken. */
  | { kind: 'sale-refusal'; refusal: SaleRefusalOutcome; skus: string[] }
  /** Too many orders already wait for a batch: nothing was tried. */
  | { kind: 'too-many-waiting' };

/** One order of a committed batch: its placement, what its products have left, and its outbox rows. */
export interface PlacedInBatch {
  placement: Placement;
  /** placed, out-of-stock: the stock each line's product has left after this order's turn. */
  unitsLeft: number[] | undefined;
  /** placed: the rows the batch wrote to the outbox for it, to publish right after the commit. */
  outbox: OutboxRecord[];
}

/** The columns an order's lifecycle moves (the transition table's state, and when each step happened). */
const lifecycleFields = {
  status: z.enum(ORDER_STATUSES),
  payBy: z.date(),
  paymentId: z.string().nullable(),
  paymentPending: z.boolean(),
  paymentFailure: z.string().nullable(),
  paidPaymentId: z.string().nullable(),
  latePaymentId: z.string().nullable(),
  paidAt: z.date().nullable(),
  completedAt: z.date().nullable(),
  cancelledAt: z.date().nullable(),
  expiredAt: z.date().nullable(),
  refundedAt: z.date().nullable(),
  cancelRequestedAt: z.date().nullable(),
  notifiedAt: z.date().nullable(),
  reportedAt: z.date().nullable(),
};

/** An order and its lines as order-api stores them (the rows, checked at run time). */
const OrderRecord = z.object({
  id: z.string(),
  idempotencyKey: z.string().nullable(),
  requestHash: z.string(),
  customerEmail: z.string(),
  customerName: z.string(),
  customerId: z.string().nullable(),
  totalCents: z.number().int(),
  currency: z.string(),
  createdAt: z.date(),
  ...lifecycleFields,
  items: z.array(
    z.object({
      lineNo: z.number().int(),
      sku: z.string(),
      name: z.string(),
      unitPriceCents: z.number().int(),
      quantity: z.number().int(),
    }),
  ),
});
export type OrderRecord = z.infer<typeof OrderRecord>;

/** What a transition reads of an order under its row lock, and what it writes back (checked at run time). */
const OrderLifecycleRecord = z.object({
  id: z.string(),
  ...lifecycleFields,
  stockReturnedAt: z.date().nullable(),
  customerEmail: z.string(),
  customerName: z.string(),
  totalCents: z.number().int(),
  currency: z.string(),
  correlationId: z.string(),
});
export type OrderLifecycleRecord = z.infer<typeof OrderLifecycleRecord>;

/** What one lifecycle transaction writes: the orders it changed, and what their transitions bring along. */
export interface LifecycleWrites<Result> {
  changed: OrderLifecycleRecord[];
  /** Orders whose reservation ended: their units go back to stock. */
  stockBackOf: string[];
  outbox: OutboxRecord[];
  /** The caller's own answer, handed back after COMMIT. */
  result: Result;
}

// One round trip: the order and its lines, in line order (the lines read only for the rows returned, so
// a page of orders never aggregates more than its own).
const ORDER_WITH_ITEMS = `
  SELECT o.id::text AS "id", o.idempotency_key AS "idempotencyKey", o.request_hash AS "requestHash",
         o.customer_email AS "customerEmail", o.customer_name AS "customerName",
         o.customer_id::text AS "customerId", o.status::text AS "status",
         o.total_cents AS "totalCents", trim(o.currency) AS "currency", o.created_at AS "createdAt",
         o.notified_at AS "notifiedAt", o.reported_at AS "reportedAt", o.pay_by AS "payBy",
         o.paid_at AS "paidAt", o.completed_at AS "completedAt", o.cancelled_at AS "cancelledAt",
         o.expired_at AS "expiredAt", o.refunded_at AS "refundedAt", o.cancel_requested_at AS "cancelRequestedAt",
         o.payment_id::text AS "paymentId", o.payment_pending AS "paymentPending",
         o.payment_failure AS "paymentFailure", o.paid_payment_id::text AS "paidPaymentId",
         o.late_payment_id::text AS "latePaymentId",
         coalesce((SELECT json_agg(json_build_object('lineNo', i.line_no, 'sku', i.sku, 'name', i.name,
                                                     'unitPriceCents', i.unit_price_cents, 'quantity', i.quantity)
                                   ORDER BY i.line_no)
                     FROM order_items i WHERE i.order_id = o.id), '[]') AS "items"
    FROM orders o`;

/**
 * The one owner of orders' SQL in order-api, on the pg pool: placing a batch (`place_orders`), the
 * reads, the order-key lookups of sold-out products, and the lifecycle transactions (status changes,
 * payments, cancellations, deadlines) whose decisions OrderLifecycleStore takes. Rows come back checked
 * and typed; statement errors reach the caller unchanged, for the group commits to split on
 * (isStatementError). Plain pg rather than Prisma on purpose: order-api then never loads Prisma's query
 * compiler.
 */
@Injectable()
export class OrderRepository {
  private readonly logger = new Logger(OrderRepository.name);
  private readonly poolSize: number;
  private readonly paymentWindowMs: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ORDER_API_CONFIG) config: OrderApiConfig,
  ) {
    this.poolSize = config.DATABASE_POOL_SIZE;
    this.paymentWindowMs = config.PAYMENT_WINDOW_MS;
  }

  /**
   * Places a batch in one statement (one transaction, one commit flush), each order with its own
   * outcome, in batch order. A statement error means nothing of the batch was written.
   */
  async placeBatch(batch: readonly OrderToPlace[]): Promise<PlacedInBatch[]> {
    const { rows } = await queryKeepingConnection<PlaceOrdersRow>(
      this.pool,
      placeOrdersQuery(batch, this.paymentWindowMs),
    );
    return checkPlaceOrdersRows(rows, batch.length).map((row) => ({
      placement: placementOf(row),
      unitsLeft: row.units_left ?? undefined,
      outbox: (row.outbox ?? []).map((outbox) => outboxRecordFromRow(outbox, row.created_at as Date)),
    }));
  }

  /**
   * Opens every pool connection and runs an empty batch on each, so the first flash sale after a start
   * does not pay for new backends, the statement's preparation and the function's first planning while
   * thousands of requests wait. A database that is down only delays nothing: the warm-up gives up.
   */
  async warmUp(): Promise<void> {
    const clients = await Promise.all(
      Array.from({ length: this.poolSize }, () => this.pool.connect().catch(() => undefined)),
    );
    await Promise.all(
      clients.map((client) =>
        client
          ?.query(placeOrdersQuery([], this.paymentWindowMs))
          .then(() => client.release())
          .catch((error: Error) => client.release(error)),
      ),
    );
    const warmed = clients.filter(Boolean).length;
    if (warmed < this.poolSize) this.logger.warn(`warmed ${warmed} of ${this.poolSize} database connections`);
  }

  /**
   * One transaction of lifecycle changes: locks the orders (in id order, then their products in id order
   * as place_orders does, so concurrent transactions cannot deadlock), lets `change` decide on them under
   * the locks (it must not do I/O), then writes the changed orders, the ended reservations' units back to
   * stock and the outbox rows, and commits. A statement error means none of it was written.
   */
  async changeLifecycles<Result>(
    orderIds: readonly string[],
    change: (orders: Map<string, OrderLifecycleRecord>) => LifecycleWrites<Result>,
  ): Promise<LifecycleWrites<Result>> {
    return inTransaction(this.pool, async (client) => {
      const writes = change(await this.lockLifecycles(client, orderIds));
      await this.writeLifecycles(client, writes.changed);
      if (writes.stockBackOf.length > 0) await this.returnReservedStock(client, writes.stockBackOf);
      await addToOutbox(client, writes.outbox);
      return writes;
    });
  }

  /** Whether a key has an order, for a request the sold-out markers refuse and cannot decide alone. */
  async orderExistsFor(idempotencyKey: string): Promise<boolean> {
    const { rowCount } = await queryKeepingConnection(this.pool, {
      name: 'order-exists-for-key-v1',
      text: 'SELECT 1 FROM orders WHERE idempotency_key = $1',
      values: [idempotencyKey],
    });
    return (rowCount ?? 0) > 0;
  }

  /** The idempotency keys of the orders of a product, or undefined when it has more than `max` of them. */
  async keysOfOrdersFor(sku: string, max: number): Promise<string[] | undefined> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'keys-of-orders-for-sku-v1',
      text: `SELECT o.idempotency_key
               FROM order_items i JOIN orders o ON o.id = i.order_id
              WHERE i.product_id = (SELECT id FROM products WHERE sku = $1) AND o.idempotency_key IS NOT NULL
              LIMIT $2`,
      values: [sku, max + 1],
    });
    if (rows.length > max) return undefined;
    return rows.map((row) => z.string().parse(row.idempotency_key));
  }

  async findById(orderId: string): Promise<OrderRecord | undefined> {
    return this.findOne('order-by-id-v2', `${ORDER_WITH_ITEMS} WHERE o.id = $1::uuid`, orderId);
  }

  /**
   * One page of orders, newest first (ties by id), after `after` (the last order of the previous page):
   * one customer's when `customerId` is set, else everyone's. Keyset paging, so a page costs the same
   * however deep it is and an order placed meanwhile never shifts the pages.
   */
  async findPage(query: {
    customerId?: string;
    limit: number;
    after?: { createdAt: Date; id: string };
  }): Promise<OrderRecord[]> {
    const values: unknown[] = [];
    const conditions: string[] = [];
    if (query.customerId !== undefined) {
      values.push(query.customerId);
      conditions.push(`o.customer_id = $${values.length}::uuid`);
    }
    if (query.after) {
      values.push(query.after.createdAt, query.after.id);
      conditions.push(`(o.created_at, o.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(query.limit);
    const { rows } = await queryKeepingConnection(this.pool, {
      // One prepared statement per shape, so each keeps a plan that uses its index.
      name: `orders-page-${query.customerId === undefined ? 'all' : 'customer'}-${query.after ? 'next' : 'first'}-v2`,
      text: `${ORDER_WITH_ITEMS}
              ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
              ORDER BY o.created_at DESC, o.id DESC
              LIMIT $${values.length}`,
      values,
    });
    return rows.map((row) => OrderRecord.parse(row));
  }

  async findByIdempotencyKey(idempotencyKey: string): Promise<OrderRecord | undefined> {
    return this.findOne(
      'order-by-idempotency-key-v2',
      `${ORDER_WITH_ITEMS} WHERE o.idempotency_key = $1`,
      idempotencyKey,
    );
  }

  /** By lower-case id. */
  private async lockLifecycles(
    client: PoolClient,
    orderIds: readonly string[],
  ): Promise<Map<string, OrderLifecycleRecord>> {
    const { rows } = await client.query({
      name: 'lock-order-lifecycle-v1',
      text: `SELECT o.id::text AS "id", o.status::text AS "status", o.pay_by AS "payBy",
                    o.payment_id::text AS "paymentId", o.payment_pending AS "paymentPending",
                    o.payment_failure AS "paymentFailure", o.paid_payment_id::text AS "paidPaymentId",
                    o.late_payment_id::text AS "latePaymentId", o.paid_at AS "paidAt",
                    o.completed_at AS "completedAt", o.cancelled_at AS "cancelledAt",
                    o.expired_at AS "expiredAt", o.refunded_at AS "refundedAt",
                    o.cancel_requested_at AS "cancelRequestedAt", o.stock_returned_at AS "stockReturnedAt",
                    o.notified_at AS "notifiedAt", o.reported_at AS "reportedAt",
                    o.customer_email AS "customerEmail", o.customer_name AS "customerName",
                    o.total_cents AS "totalCents", trim(o.currency) AS "currency",
                    o.correlation_id AS "correlationId"
               FROM orders o
              WHERE o.id = ANY($1::uuid[])
              ORDER BY o.id
                FOR UPDATE`,
      values: [[...new Set(orderIds.map((id) => id.toLowerCase()))]],
    });
    return new Map(
      rows.map((row) => {
        const order = OrderLifecycleRecord.parse(row);
        return [order.id, order];
      }),
    );
  }

  private async writeLifecycles(client: PoolClient, orders: OrderLifecycleRecord[]): Promise<void> {
    if (orders.length === 0) return;
    const column = <K extends keyof OrderLifecycleRecord>(name: K) => orders.map((order) => order[name]);
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
        column('paymentId'),
        column('paymentPending'),
        column('paymentFailure'),
        column('paidPaymentId'),
        column('latePaymentId'),
        column('paidAt'),
        column('completedAt'),
        column('cancelledAt'),
        column('expiredAt'),
        column('refundedAt'),
        column('cancelRequestedAt'),
        column('stockReturnedAt'),
        column('notifiedAt'),
        column('reportedAt'),
      ],
    });
  }

  /**
   * The ended reservations' units back to their products, in the transaction that ended them. Products
   * are locked in id order, as place_orders locks them; the update raises the stock-replenished
   * notification, so every instance's sold-out markers forget those products.
   */
  private async returnReservedStock(client: PoolClient, orderIds: string[]): Promise<void> {
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

  private async findOne(name: string, text: string, value: string): Promise<OrderRecord | undefined> {
    const { rows } = await queryKeepingConnection(this.pool, { name, text, values: [value] });
    return rows.length === 0 ? undefined : OrderRecord.parse(rows[0]);
  }
}

function placementOf(row: PlaceOrdersRow): Placement {
  switch (row.outcome) {
    case 'placed':
      return {
        kind: 'placed',
        createdAt: row.created_at as Date,
        payBy: row.pay_by as Date,
        totalCents: row.total_cents as number,
        currency: ORDER_CURRENCY,
        items: row.items ?? [],
      };
    case 'replay':
      return { kind: 'replay' };
    case 'unknown_sku':
      return { kind: 'unknown-sku', skus: row.skus ?? [] };
    case 'out_of_stock':
      return { kind: 'out-of-stock', skus: row.skus ?? [] };
    case 'too_big':
      return { kind: 'too-big' };
    case 'sale_not_open':
    case 'sale_closed':
    case 'sign_in_required':
    case 'limit_per_customer':
      return { kind: 'sale-refusal', refusal: row.outcome, skus: row.skus ?? [] };
  }
}
