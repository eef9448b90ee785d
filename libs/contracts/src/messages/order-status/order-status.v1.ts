import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';

/**
 * Published by notify-worker to `order.notified` once the order's confirmation email is accepted by
 * the SMTP server and recorded; again for a redelivered order.placed.v1 whose email was sent before
 * (at least once: order-api applies it idempotently).
 */
export const OrderNotifiedV1Data = z.object({
  orderId: z.uuid(),
  /** When the email was recorded as sent. */
  notifiedAt: z.iso.datetime({ offset: true }),
});
export const OrderNotifiedV1 = envelopeSchema(MessageTypes.orderNotifiedV1, 1, OrderNotifiedV1Data);
export type OrderNotifiedV1 = z.infer<typeof OrderNotifiedV1>;
export type OrderNotifiedV1Data = z.infer<typeof OrderNotifiedV1Data>;

/**
 * Published by report-worker to `order.reported` once the order's PDF is on disk and recorded; again
 * for a redelivered order.placed.v1 whose PDF was written before.
 */
export const OrderReportedV1Data = z.object({
  orderId: z.uuid(),
  /** When the PDF was recorded as written. */
  reportedAt: z.iso.datetime({ offset: true }),
});
export const OrderReportedV1 = envelopeSchema(MessageTypes.orderReportedV1, 1, OrderReportedV1Data);
export type OrderReportedV1 = z.infer<typeof OrderReportedV1>;
export type OrderReportedV1Data = z.infer<typeof OrderReportedV1Data>;

/** What order-api's `order_status` queue carries: either event. */
export const OrderStatusEventV1 = z.discriminatedUnion('type', [OrderNotifiedV1, OrderReportedV1]);
export type OrderStatusEventV1 = z.infer<typeof OrderStatusEventV1>;
