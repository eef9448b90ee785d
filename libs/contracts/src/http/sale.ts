/**
 * order-api's sales (`PUT /sales/:id`, `GET /sales/:id`) and queued order requests
 * (`GET /orders/requests/:ticket`): the shapes the load test and the dashboard read.
 */

/** How a sale's orders are admitted: answered at once (`direct`), or through the waiting room (`queued`). */
export const SALE_ADMISSIONS = ['direct', 'queued'] as const;
export type SaleAdmission = (typeof SALE_ADMISSIONS)[number];

/** A sale's id: lower-case letters, digits and dashes, as it appears in its URL. */
export const SALE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Where a sale is in its window, now. */
export type SaleState = 'scheduled' | 'open' | 'closed';

export interface SaleView {
  id: string;
  sku: string;
  opensAt: string;
  closesAt: string;
  /** Units one customer may hold of this product (orders cancelled or expired give theirs back). */
  limitPerCustomer: number;
  /** How long an order of this sale keeps its units unpaid. */
  paymentWindowMs: number;
  admission: SaleAdmission;
  state: SaleState;
  /** Queued sales: how many requests wait in order_requests now (every queued sale shares the room). */
  waitingRoom: { depth: number; size: number } | null;
}

/** The codes an order of a sale can be refused with, beside OUT_OF_STOCK. */
export const SaleRefusalCodes = {
  signInRequired: 'SIGN_IN_REQUIRED',
  notOpen: 'SALE_NOT_OPEN',
  closed: 'SALE_CLOSED',
  limitPerCustomer: 'LIMIT_PER_CUSTOMER',
  waitingRoomFull: 'WAITING_ROOM_FULL',
} as const;

/** A queued order request, as its owner polls it (or receives it over SSE). */
export type TicketView =
  | { ticket: string; status: 'waiting'; position: number }
  | { ticket: string; status: 'placed'; orderId: string; order?: unknown }
  | { ticket: string; status: 'refused'; code: string; message: string };
