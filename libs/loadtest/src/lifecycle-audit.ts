import { Client } from 'pg';
import type { OrderStatus } from './flash-sale.results';

/** One order of the sale's product as order-api's table holds it. */
export interface AuditedOrder {
  id: string;
  status: OrderStatus;
  /** Units of the sale's product in the order. */
  quantity: number;
  createdAt: string;
  /** When the reservation ends. */
  payBy: string;
  paidAt: string | null;
  expiredAt: string | null;
  cancelledAt: string | null;
  refundedAt: string | null;
  completedAt: string | null;
  cancelRequestedAt: string | null;
  /** When its units went back to stock: set once, by the transition that ended the reservation. */
  stockReturnedAt: string | null;
  paymentPending: boolean;
  /** A charge that succeeded after the order had ended (it must be refunded). */
  latePaymentId: string | null;
  notifiedAt: string | null;
  reportedAt: string | null;
}

/** One charge of the payment service for an order of the sale. */
export interface AuditedPayment {
  orderId: string;
  paymentId: string;
  /**
   * The payment service's status of the charge: `charging` (the provider is being asked), then
   * `succeeded`, `declined`, `timed_out`, `already_paid` (refused), or `refunded` (taken, then given back).
   */
  status: string;
  refundedAt: string | null;
}

/** What the audit reads after the sale: the product's stock, its orders and their charges. */
export interface LifecycleAudit {
  productStock: number;
  /** Units added to the product after it was created; the sale's product is never restocked: 0. */
  restockedUnits: number;
  orders: AuditedOrder[];
  payments: AuditedPayment[];
}

/** A charge whose money was taken (and possibly given back since). */
export const isTaken = (payment: AuditedPayment) =>
  payment.status === 'succeeded' || payment.status === 'refunded';

/**
 * Whether the whole sale has settled: every order (see isSettled), no charge still being taken, and
 * every payment id order-api accepted (`acceptedPaymentIds`, from its 202s) decided by the payment
 * service: an order that expires while its payment request still waits clears its pending payment, and
 * only the payment's row tells that a late charge is still to come.
 */
export function isAuditSettled(
  audit: LifecycleAudit,
  {
    awaitExpiry = true,
    acceptedPaymentIds = [],
  }: { awaitExpiry?: boolean; acceptedPaymentIds?: readonly string[] } = {},
): boolean {
  const decided = new Set(audit.payments.filter((p) => p.status !== 'charging').map((p) => p.paymentId));
  return (
    audit.orders.every((order) => isSettled(order, awaitExpiry)) &&
    audit.payments.every((payment) => payment.status !== 'charging') &&
    acceptedPaymentIds.every((paymentId) => decided.has(paymentId))
  );
}

const FINAL_STATUSES: readonly OrderStatus[] = ['completed', 'cancelled', 'expired', 'refunded'];

/**
 * Whether an order has nothing left to happen: a final status with both fulfilment steps done, no
 * charge waiting for its result, no cancel waiting for its refund, and a late charge given back. With
 * `awaitExpiry` false an unpaid order may still be `placed`: its reservation runs on (a sale whose
 * customers do not act, measured before the window ends).
 */
export function isSettled(order: AuditedOrder, awaitExpiry = true): boolean {
  return (
    (FINAL_STATUSES.includes(order.status) || (!awaitExpiry && order.status === 'placed')) &&
    order.notifiedAt !== null &&
    order.reportedAt !== null &&
    !order.paymentPending &&
    (order.cancelRequestedAt === null || order.status === 'cancelled') &&
    (order.latePaymentId === null || order.refundedAt !== null)
  );
}

const ORDERS_OF_PRODUCT = `
  SELECT o.id, o.status::text AS status, sum(i.quantity)::int AS quantity, o.created_at, o.pay_by, o.paid_at,
         o.expired_at, o.cancelled_at, o.refunded_at, o.completed_at, o.cancel_requested_at,
         o.stock_returned_at, o.payment_pending, o.late_payment_id, o.notified_at, o.reported_at
    FROM order_api.orders o
    JOIN order_api.order_items i ON i.order_id = o.id
   WHERE i.sku = $1
   GROUP BY o.id`;

const CHARGES_OF_ORDERS = `
  SELECT order_id, payment_id, status, refunded_at
    FROM payment.payments
   WHERE order_id = ANY($1::uuid[])`;

const iso = (value: Date | null) => (value ? value.toISOString() : null);

/**
 * Reads the sale's product, every order that holds it and the payment service's charges for them,
 * with the admin role (the audit is a tool, not a service: it reads both services' schemas).
 */
export class LifecycleAuditor {
  private constructor(private readonly client: Client) {}

  static async connect(databaseUrl: string): Promise<LifecycleAuditor> {
    const client = new Client({ connectionString: databaseUrl, application_name: 'flash-sale-audit' });
    client.on('error', () => undefined);
    await client.connect();
    return new LifecycleAuditor(client);
  }

  async orders(sku: string): Promise<AuditedOrder[]> {
    const { rows } = await this.client.query<Record<string, unknown>>(ORDERS_OF_PRODUCT, [sku]);
    return rows.map((row) => ({
      id: row.id as string,
      status: row.status as OrderStatus,
      quantity: row.quantity as number,
      createdAt: iso(row.created_at as Date)!,
      payBy: iso(row.pay_by as Date)!,
      paidAt: iso(row.paid_at as Date | null),
      expiredAt: iso(row.expired_at as Date | null),
      cancelledAt: iso(row.cancelled_at as Date | null),
      refundedAt: iso(row.refunded_at as Date | null),
      completedAt: iso(row.completed_at as Date | null),
      cancelRequestedAt: iso(row.cancel_requested_at as Date | null),
      stockReturnedAt: iso(row.stock_returned_at as Date | null),
      paymentPending: row.payment_pending as boolean,
      latePaymentId: (row.late_payment_id as string | null) ?? null,
      notifiedAt: iso(row.notified_at as Date | null),
      reportedAt: iso(row.reported_at as Date | null),
    }));
  }

  /** When order-api decided each of these waiting-room tickets (epoch ms), by ticket id. */
  async ticketDecisions(ticketIds: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.client.query<{ ticket: string; decided_at: Date }>(
      'SELECT ticket, decided_at FROM order_api.order_request_outcomes WHERE ticket = ANY($1::uuid[])',
      [ticketIds],
    );
    return new Map(rows.map((row) => [row.ticket, row.decided_at.getTime()]));
  }

  async audit(sku: string): Promise<LifecycleAudit> {
    const orders = await this.orders(sku);
    const { rows: products } = await this.client.query<{ stock: number }>(
      'SELECT stock FROM order_api.products WHERE sku = $1',
      [sku],
    );
    const { rows: charges } = await this.client.query<Record<string, unknown>>(CHARGES_OF_ORDERS, [
      orders.map((order) => order.id),
    ]);
    return {
      productStock: products[0]?.stock ?? Number.NaN,
      restockedUnits: 0,
      orders,
      payments: charges.map((row) => ({
        orderId: row.order_id as string,
        paymentId: row.payment_id as string,
        status: String(row.status),
        refundedAt: iso(row.refunded_at as Date | null),
      })),
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
