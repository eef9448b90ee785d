import { z } from 'zod';
import { OrderPlacedV1Data } from '../order-placed/order-placed.v1';

/**
 * report-worker's RPC, queue `report_rpc` (published to through the default exchange), any AMQP client
 * can call it: the request carries `reply_to` (its own exclusive queue, or direct reply-to) and
 * `correlation_id`, AMQP `type` report.request.v1, `content_type` application/json, and `expiration`
 * = the caller's deadline in ms (the broker drops it once that passed; so does the server).
 *
 * The body names the order and may carry its order.placed.v1 data, so the server can render an order
 * whose `order_report` message it has not consumed yet.
 */
export const ReportRequestV1 = z.object({
  orderId: z.uuid(),
  order: OrderPlacedV1Data.optional(),
});
export type ReportRequestV1 = z.infer<typeof ReportRequestV1>;

/** Why a report request failed: the reply's `code` (type report.error.v1, application/json). */
export const ReportErrorCodes = {
  orderNotFound: 'ORDER_NOT_FOUND',
  invalidRequest: 'INVALID_REQUEST',
  renderFailed: 'RENDER_FAILED',
} as const;
export type ReportErrorCode = (typeof ReportErrorCodes)[keyof typeof ReportErrorCodes];

/** The most characters of a report.error.v1 `message`; the server cuts longer ones. */
export const REPORT_ERROR_MESSAGE_MAX = 1_000;

export const ReportErrorV1 = z.object({
  code: z.enum([
    ReportErrorCodes.orderNotFound,
    ReportErrorCodes.invalidRequest,
    ReportErrorCodes.renderFailed,
  ]),
  message: z.string().max(REPORT_ERROR_MESSAGE_MAX),
});
export type ReportErrorV1 = z.infer<typeof ReportErrorV1>;

/**
 * Optional request header: the deadline as epoch milliseconds. `expiration` is relative to when the
 * broker got the request; with this header the server can tell how much of it is left when it starts.
 */
export const REPORT_DEADLINE_HEADER = 'x-deadline-at';
