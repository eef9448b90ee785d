import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';

/**
 * A reservation's deadline. order-api's outbox publishes it at placement into the delay queue of the
 * order's payment window (`order_payment_due.<window>`); it comes back on order_deadlines when the
 * window runs out, and the order expires then if it is still unpaid.
 */
export const OrderPaymentDueV1Data = z.object({
  orderId: z.uuid(),
  /** When the reservation ends: the order's `payBy`. */
  payBy: z.iso.datetime({ offset: true }),
});
export const OrderPaymentDueV1 = envelopeSchema(MessageTypes.orderPaymentDueV1, 1, OrderPaymentDueV1Data);
export type OrderPaymentDueV1 = z.infer<typeof OrderPaymentDueV1>;
export type OrderPaymentDueV1Data = z.infer<typeof OrderPaymentDueV1Data>;

/** Where an order ended up after a lifecycle transition (order-api's statuses). */
export const ORDER_STATUSES = ['placed', 'paid', 'completed', 'cancelled', 'expired', 'refunded'] as const;
export type OrderLifecycleStatus = (typeof ORDER_STATUSES)[number];

/**
 * What every lifecycle email needs: who to write to, which order, what happened and when. One event per
 * transition per order (its messageId is stable for the transition), so notify-worker sends one email
 * per (order, event type).
 */
export const OrderLifecycleV1Data = z.object({
  orderId: z.uuid(),
  /** The order's status after the transition. */
  status: z.enum(ORDER_STATUSES),
  /** When the transition happened. */
  at: z.iso.datetime({ offset: true }),
  customer: z.object({ email: z.email().max(254), name: z.string().min(1).max(200) }),
  totalCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
  /** order.refunded: the amount given back, and why (`late-payment`, `cancelled`, `provider`). */
  refund: z
    .object({
      amountCents: z.number().int().nonnegative(),
      reason: z.enum(['late-payment', 'cancelled', 'provider']),
    })
    .optional(),
});
export type OrderLifecycleV1Data = z.infer<typeof OrderLifecycleV1Data>;

export const OrderPaidV1 = envelopeSchema(MessageTypes.orderPaidV1, 1, OrderLifecycleV1Data);
export const OrderExpiredV1 = envelopeSchema(MessageTypes.orderExpiredV1, 1, OrderLifecycleV1Data);
export const OrderCancelledV1 = envelopeSchema(MessageTypes.orderCancelledV1, 1, OrderLifecycleV1Data);
export const OrderRefundedV1 = envelopeSchema(MessageTypes.orderRefundedV1, 1, OrderLifecycleV1Data);

/** Any lifecycle email event (order.paid / .expired / .cancelled / .refunded). */
export const OrderLifecycleEventV1 = z.discriminatedUnion('type', [
  OrderPaidV1,
  OrderExpiredV1,
  OrderCancelledV1,
  OrderRefundedV1,
]);
export type OrderLifecycleEventV1 = z.infer<typeof OrderLifecycleEventV1>;
