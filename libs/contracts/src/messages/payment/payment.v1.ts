import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';

/**
 * The payment saga's messages on the `payment` exchange. A payment id names one charge attempt of one
 * order; every result names the attempt it answers, so order-api can tell a late or duplicated result
 * from the current one.
 */
const money = {
  amountCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
};

/**
 * A card as the sandbox provider takes it: its number stands for the token a real provider's browser
 * library would hand over (a real integration never sees a card number). 12 to 19 digits.
 */
export const CARD_TOKEN_PATTERN = /^[0-9]{12,19}$/;

/** order-api → payment (`payment.requested`): charge this order once. */
export const PaymentRequestedV1Data = z.object({
  orderId: z.uuid(),
  paymentId: z.uuid(),
  ...money,
  card: z.string().regex(CARD_TOKEN_PATTERN),
});
export const PaymentRequestedV1 = envelopeSchema(MessageTypes.paymentRequestedV1, 1, PaymentRequestedV1Data);
export type PaymentRequestedV1 = z.infer<typeof PaymentRequestedV1>;
export type PaymentRequestedV1Data = z.infer<typeof PaymentRequestedV1Data>;

/** Why order-api gives a payment back. */
export const REFUND_REASONS = ['late-payment', 'cancelled'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** order-api → payment (`payment.refund-requested`): give this payment back (compensation). */
export const PaymentRefundRequestedV1Data = z.object({
  orderId: z.uuid(),
  paymentId: z.uuid(),
  ...money,
  reason: z.enum(REFUND_REASONS),
});
export const PaymentRefundRequestedV1 = envelopeSchema(
  MessageTypes.paymentRefundRequestedV1,
  1,
  PaymentRefundRequestedV1Data,
);
export type PaymentRefundRequestedV1 = z.infer<typeof PaymentRefundRequestedV1>;
export type PaymentRefundRequestedV1Data = z.infer<typeof PaymentRefundRequestedV1Data>;

/** What payment_requests carries: either request. */
export const PaymentRequestV1 = z.discriminatedUnion('type', [PaymentRequestedV1, PaymentRefundRequestedV1]);
export type PaymentRequestV1 = z.infer<typeof PaymentRequestV1>;

/** payment → order-api (`payment.succeeded`): the order's money was taken. */
export const PaymentSucceededV1Data = z.object({
  orderId: z.uuid(),
  paymentId: z.uuid(),
  ...money,
  /** The provider's reference of the charge. */
  providerReference: z.string().min(1).max(100),
  chargedAt: z.iso.datetime({ offset: true }),
});
export const PaymentSucceededV1 = envelopeSchema(MessageTypes.paymentSucceededV1, 1, PaymentSucceededV1Data);
export type PaymentSucceededV1 = z.infer<typeof PaymentSucceededV1>;

/**
 * Why a charge failed: the card was declined, the provider did not answer in time (nothing was taken:
 * the sandbox never charges a card it did not answer for), or the order was paid already (a second
 * charge is refused, never taken).
 */
export const PAYMENT_FAILURE_CODES = ['CARD_DECLINED', 'PROVIDER_TIMEOUT', 'ALREADY_PAID'] as const;
export type PaymentFailureCode = (typeof PAYMENT_FAILURE_CODES)[number];

/** payment → order-api (`payment.failed`): nothing was taken. */
export const PaymentFailedV1Data = z.object({
  orderId: z.uuid(),
  paymentId: z.uuid(),
  code: z.enum(PAYMENT_FAILURE_CODES),
  message: z.string().min(1).max(500),
  failedAt: z.iso.datetime({ offset: true }),
});
export const PaymentFailedV1 = envelopeSchema(MessageTypes.paymentFailedV1, 1, PaymentFailedV1Data);
export type PaymentFailedV1 = z.infer<typeof PaymentFailedV1>;

/** payment → order-api (`payment.refunded`): the payment was given back. */
export const PaymentRefundedV1Data = z.object({
  orderId: z.uuid(),
  paymentId: z.uuid(),
  ...money,
  reason: z.enum(REFUND_REASONS),
  refundedAt: z.iso.datetime({ offset: true }),
});
export const PaymentRefundedV1 = envelopeSchema(MessageTypes.paymentRefundedV1, 1, PaymentRefundedV1Data);
export type PaymentRefundedV1 = z.infer<typeof PaymentRefundedV1>;

/** What order_payments carries: any result. */
export const PaymentResultV1 = z.discriminatedUnion('type', [
  PaymentSucceededV1,
  PaymentFailedV1,
  PaymentRefundedV1,
]);
export type PaymentResultV1 = z.infer<typeof PaymentResultV1>;

/**
 * The sandbox provider's documented test cards (services/payment). Any other well-formed number is
 * charged like the success card.
 */
export const SANDBOX_CARDS = {
  succeeds: '4242424242424242',
  declined: '4000000000000002',
  /** The provider never answers: the payment service gives up after its timeout (PROVIDER_TIMEOUT). */
  timesOut: '4000000000000119',
  /** Succeeds after SANDBOX_LATE_SUCCESS_MS: after the deadline of a short payment window. */
  succeedsLate: '4000000000003063',
} as const;

/** How long the sandbox takes to charge SANDBOX_CARDS.succeedsLate. */
export const SANDBOX_LATE_SUCCESS_MS = 10_000;
