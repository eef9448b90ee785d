import { Exchanges, MessageTypes, paymentDueQueueOf, RoutingKeys } from '@shop/contracts';
import type { OutboxRow } from '@shop/messaging';
import type { QueryConfig } from 'pg';
import type { NormalisedOrder } from './create-order.request';

/** The currency `place_orders` writes on every order (products carry no currency of their own). */
export const ORDER_CURRENCY = 'EUR';

/** One order of a batch, with the ids chosen for it before the batch runs. */
export interface OrderToPlace {
  request: NormalisedOrder;
  /** Already scoped to its sender (see scopedIdempotencyKey). */
  idempotencyKey: string | undefined;
  /** The signed-in customer the order belongs to; undefined for a guest order. */
  customerId: string | undefined;
  correlationId: string;
  orderId: string;
  notifyMessageId: string;
  reportMessageId: string;
  /** The reservation's deadline message (order.payment-due.v1). */
  deadlineMessageId: string;
}

/** The outcomes `place_orders` decides, one per order (prisma/functions/place_orders.sql says what each means). */
export type PlaceOrdersOutcome =
  'placed' | 'replay' | 'unknown_sku' | 'out_of_stock' | 'too_big' | SaleRefusalOutcome;

/** A sale's rules refused the order (the skus are the lines at fault); nothing was taken. */
export type SaleRefusalOutcome = 'sale_not_open' | 'sale_closed' | 'sign_in_required' | 'limit_per_customer';

/** One row of `place_orders`: the order at position `ord` (1-based) of the batch. */
export interface PlaceOrdersRow {
  ord: number;
  outcome: PlaceOrdersOutcome;
  /** unknown_sku, out_of_stock and the sale refusals: the skus at fault. */
  skus: string[] | null;
  /** placed, out_of_stock: the stock each line's product has left after this order's turn. */
  units_left: number[] | null;
  created_at: Date | null;
  total_cents: number | null;
  items: { sku: string; name: string; quantity: number; unitPriceCents: number }[] | null;
  /** placed: when the reservation ends unless the order is paid. */
  pay_by: Date | null;
  /** placed: its three outbox rows as written (order.notify, order.report, the deadline's delay queue). */
  outbox: OutboxRow[] | null;
}

const OUTCOMES: ReadonlySet<string> = new Set<PlaceOrdersOutcome>([
  'placed',
  'replay',
  'unknown_sku',
  'out_of_stock',
  'too_big',
  'sale_not_open',
  'sale_closed',
  'sign_in_required',
  'limit_per_customer',
]);

const SALE_REFUSALS: readonly string[] = [
  'sale_not_open',
  'sale_closed',
  'sign_in_required',
  'limit_per_customer',
];

const PLACE_ORDERS_SQL = `SELECT * FROM place_orders($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
  $6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::uuid[], $11::int[], $12::text[], $13::int[], $14, $15, $16,
  $17, $18, $19, $20)`;

/**
 * The call that places a whole batch in one statement, hence one transaction and one commit flush. An
 * order reserves its stock for its sale's payment window, or `defaultPaymentWindowMs` outside a sale;
 * its deadline goes to that window's delay queue.
 */
export function placeOrdersQuery(
  batch: readonly OrderToPlace[],
  defaultPaymentWindowMs: number,
): QueryConfig {
  const lineSkus: string[] = [];
  const lineQuantities: number[] = [];
  for (const { request } of batch) {
    for (const line of request.lines) {
      lineSkus.push(line.sku);
      lineQuantities.push(line.quantity);
    }
  }
  return {
    // Named: prepared once per connection, so PostgreSQL skips parsing and planning after that.
    name: 'place-orders-v5',
    text: PLACE_ORDERS_SQL,
    values: [
      batch.map((order) => order.orderId),
      batch.map((order) => order.idempotencyKey ?? null),
      batch.map((order) => order.request.requestHash),
      batch.map((order) => order.request.customer.email),
      batch.map((order) => order.request.customer.name),
      batch.map((order) => order.customerId ?? null),
      batch.map((order) => order.correlationId),
      batch.map((order) => order.notifyMessageId),
      batch.map((order) => order.reportMessageId),
      batch.map((order) => order.deadlineMessageId),
      batch.map((order) => order.request.lines.length),
      lineSkus,
      lineQuantities,
      Exchanges.order,
      RoutingKeys.orderNotify,
      RoutingKeys.orderReport,
      MessageTypes.orderPlacedV1,
      defaultPaymentWindowMs,
      paymentDueQueueOf(defaultPaymentWindowMs),
      MessageTypes.orderPaymentDueV1,
    ],
  };
}

/**
 * The rows in batch order, checked: one per order, each with a known outcome and the fields that
 * outcome needs. A mismatch means the function and this code disagree, which must fail loudly.
 */
export function checkPlaceOrdersRows(rows: readonly PlaceOrdersRow[], batchSize: number): PlaceOrdersRow[] {
  if (rows.length !== batchSize) {
    throw new Error(`place_orders answered ${rows.length} rows for ${batchSize} orders`);
  }
  const ordered = [...rows].sort((a, b) => a.ord - b.ord);
  ordered.forEach((row, i) => {
    const complete =
      row.ord === i + 1 &&
      OUTCOMES.has(row.outcome) &&
      (row.outcome !== 'placed' ||
        (row.created_at !== null &&
          row.total_cents !== null &&
          row.items !== null &&
          row.units_left !== null &&
          row.pay_by !== null &&
          row.outbox?.length === 3)) &&
      (!['unknown_sku', ...SALE_REFUSALS].includes(row.outcome) || row.skus !== null) &&
      (row.outcome !== 'out_of_stock' || (row.skus !== null && row.units_left !== null));
    if (!complete) throw new Error(`place_orders answered an incomplete row for order ${i + 1}`);
  });
  return ordered;
}
