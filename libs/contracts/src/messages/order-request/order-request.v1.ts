import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';
import { ORDER_PLACED_MAX_ITEMS, ORDER_PLACED_MAX_QUANTITY } from '../order-placed/order-placed.v1';

/**
 * A customer's order for a sale with queued admission, as order-api checked and queued it in
 * order_requests (the waiting room). order-api's own consumers place it in arrival order, with the same
 * rules as a direct order, and record the ticket's outcome.
 */
export const OrderRequestedV1Data = z.object({
  ticket: z.uuid(),
  /** Issued by the same order-api instance in this order: the ticket's place in the line there. */
  sequence: z.number().int().nonnegative(),
  /** The instance that issued it (its sequence counts from 0 at its start). */
  issuer: z.string().min(1).max(100),
  requestedAt: z.iso.datetime({ offset: true }),
  /** The signed-in customer (identity's token `sub`): sale orders are never a guest's. */
  customerId: z.uuid(),
  customer: z.object({ email: z.email().max(254), name: z.string().min(1).max(200) }),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1).max(64),
        quantity: z.number().int().positive().max(ORDER_PLACED_MAX_QUANTITY),
      }),
    )
    .min(1)
    .max(ORDER_PLACED_MAX_ITEMS),
  /** The Idempotency-Key as stored (already scoped to the customer); the ticket's own when the client sent none. */
  idempotencyKey: z.string().min(1).max(300),
  requestHash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type OrderRequestedV1Data = z.infer<typeof OrderRequestedV1Data>;

export const OrderRequestedV1 = envelopeSchema(MessageTypes.orderRequestedV1, 1, OrderRequestedV1Data);
export type OrderRequestedV1 = z.infer<typeof OrderRequestedV1>;
