import type { OrderPlacedV1Data } from '@shop/contracts';
import type { OrderRecord } from './order.repository';

/** An order as the API returns it. Money is integer cents; `status` follows the order through the pipeline. */
export interface OrderView {
  id: string;
  status: string;
  customer: { email: string; name: string };
  items: { sku: string; name: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
  totalCents: number;
  currency: string;
  createdAt: string;
  /** The signed-in customer the order belongs to; absent for a guest order. */
  customerId?: string;
  /** When the confirmation email was accepted by the mail server, once it was. */
  notifiedAt?: string;
  /** When the PDF report was written (GET /orders/:id/report serves it), once it was. */
  reportedAt?: string;
}

export function orderLocation(orderId: string): string {
  return `/orders/${orderId}`;
}

export function toOrderView(order: OrderRecord): OrderView {
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
    ...(order.customerId && { customerId: order.customerId }),
    ...(order.notifiedAt && { notifiedAt: order.notifiedAt.toISOString() }),
    ...(order.reportedAt && { reportedAt: order.reportedAt.toISOString() }),
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
  };
}
