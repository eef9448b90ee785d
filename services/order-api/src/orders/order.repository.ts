import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import type { Pool } from 'pg';
import { ORDER_STATUSES } from '@shop/contracts';
import { z } from 'zod';

/** An order and its lines as order-api stores them (the rows, checked at run time). */
const OrderRecord = z.object({
  id: z.string(),
  idempotencyKey: z.string().nullable(),
  requestHash: z.string(),
  customerEmail: z.string(),
  customerName: z.string(),
  customerId: z.string().nullable(),
  status: z.enum(ORDER_STATUSES),
  totalCents: z.number().int(),
  currency: z.string(),
  createdAt: z.date(),
  notifiedAt: z.date().nullable(),
  reportedAt: z.date().nullable(),
  payBy: z.date(),
  paidAt: z.date().nullable(),
  completedAt: z.date().nullable(),
  cancelledAt: z.date().nullable(),
  expiredAt: z.date().nullable(),
  refundedAt: z.date().nullable(),
  cancelRequestedAt: z.date().nullable(),
  paymentId: z.string().nullable(),
  paymentPending: z.boolean(),
  paymentFailure: z.string().nullable(),
  paidPaymentId: z.string().nullable(),
  latePaymentId: z.string().nullable(),
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
 * Reads orders with their own SQL on the pg pool (placing them is OrderPlacementBatcher's). Plain pg
 * rather than Prisma on purpose: order-api then never loads Prisma's query compiler (about 40 MB).
 */
@Injectable()
export class OrderRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

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

  private async findOne(name: string, text: string, value: string): Promise<OrderRecord | undefined> {
    const { rows } = await queryKeepingConnection(this.pool, { name, text, values: [value] });
    return rows.length === 0 ? undefined : OrderRecord.parse(rows[0]);
  }
}
