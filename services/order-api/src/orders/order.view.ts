import type { OrderLifecycleStatus, OrderPlacedV1Data } from '@shop/contracts';
import type { OrderRecord } from './order.repository';

/** Where the order's money stands: a charge under way, taken, refused, or given back. */
export type PaymentStatus = 'none' | 'pending' | 'succeeded' | 'failed' | 'refunding' | 'refunded';

/**
 * An order as the API returns it. Money is integer cents. `status` is the order's life (placed until
 * `payBy`, then paid, completed, cancelled, expired or refunded); each transition's time is given once
 * it happened; `notifiedAt` and `reportedAt` are the fulfilment steps.
 */
export interface OrderView {
  id: string;
  status: OrderLifecycleStatus;
  customer: { email: string; name: string };
  items: { sku: string; name: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
  totalCents: number;
  currency: string;
  createdAt: string;
  /** When the reservation ends unless the order is paid (POST /orders/:id/payment). */
  payBy: string;
  payment: { status: PaymentStatus; paymentId?: string; failure?: string };
  /** The signed-in customer the order belongs to; absent for a guest order. */
  customerId?: string;
  /** When the confirmation email was accepted by the mail server, once it was. */
  notifiedAt?: string;
  /** When the PDF report was written (GET /orders/:id/report serves it), once it was. */
  reportedAt?: string;
  paidAt?: string;
  completedAt?: string;
  /** A paid order's cancellation asked for: cancelled once its refund comes back. */
  cancelRequestedAt?: string;
  cancelledAt?: string;
  expiredAt?: string;
  refundedAt?: string;
}

export function orderLocation(orderId: string): string {
  return `/orders/${orderId}`;
}

function paymentOf(order: OrderRecord): OrderView['payment'] {
  const paymentId = order.latePaymentId ?? order.paidPaymentId ?? order.paymentId ?? undefined;
  const withId = (status: PaymentStatus) => ({ status, ...(paymentId && { paymentId }) });
  if (order.paymentPending) return withId('pending');
  if (order.refundedAt) return withId('refunded');
  if (order.latePaymentId || order.cancelRequestedAt) return withId('refunding');
  if (order.paidPaymentId) return withId('succeeded');
  if (order.paymentFailure) return { ...withId('failed'), failure: order.paymentFailure };
  return { status: 'none' };
}

const iso = (date: Date | null) => date?.toISOString();

export function toOrderView(order: OrderRecord): OrderView {
  const times = {
    customerId: order.customerId ?? undefined,
    notifiedAt: iso(order.notifiedAt),
    reportedAt: iso(order.reportedAt),
    paidAt: iso(order.paidAt),
    completedAt: iso(order.completedAt),
    cancelRequestedAt: iso(order.cancelRequestedAt),
    cancelledAt: iso(order.cancelledAt),
    expiredAt: iso(order.expiredAt),
    refundedAt: iso(order.refundedAt),
  };
  return {
    id: order.id,
    status: order.status,
    customer: { email: order.customerEmail, name: order.customerName },
    items: order.items.map((item) => ({
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitPriceCents: item.unitPriceCents,
      lineTotalCents: item.unitPriceCents * item.quantity,
    })),
    totalCents: order.totalCents,
    currency: order.currency,
    createdAt: order.createdAt.toISOString(),
    payBy: order.payBy.toISOString(),
    payment: paymentOf(order),
    // Only the steps and transitions that happened.
    ...Object.fromEntries(Object.entries(times).filter(([, value]) => value !== undefined)),
  };
}

/**
 * The order as its order.placed.v1 message carried it (what report-worker renders from): the same
 * fields, the same item order, `placedAt` = when it was created, so an on-demand PDF has the same bytes.
 */
export function toOrderPlacedData(order: OrderView): OrderPlacedV1Data {
  return {
    orderId: order.id,
    placedAt: order.createdAt,
    customer: order.customer,
    items: order.items.map(({ sku, name, quantity, unitPriceCents }) => ({
      sku,
      name,
      quantity,
      unitPriceCents,
    })),
    totalCents: order.totalCents,
    currency: order.currency,
    payBy: order.payBy,
  };
}
