import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';

/** Most lines an order may have: order-api's request limit (MAX_LINES_PER_ORDER) is the same. */
export const ORDER_PLACED_MAX_ITEMS = 100;
/** Most units of one line. */
export const ORDER_PLACED_MAX_QUANTITY = 1_000;

/**
 * Published once per accepted order to each of `order.notify` and `order.report`
 * (two outbox rows, two message ids). Prices are integer cents.
 */
export const OrderPlacedV1Data = z.object({
  orderId: z.uuid(),
  placedAt: z.iso.datetime({ offset: true }),
  customer: z.object({ email: z.email().max(254), name: z.string().min(1).max(200) }),
  items: z
    .array(
      z.object({
        sku: z.string().min(1).max(64),
        name: z.string().min(1).max(200),
        quantity: z.number().int().positive().max(ORDER_PLACED_MAX_QUANTITY),
        unitPriceCents: z.number().int().nonnegative(),
      }),
    )
    .min(1)
    .max(ORDER_PLACED_MAX_ITEMS),
  totalCents: z.number().int().nonnegative(),
  currency: z.string().length(3),
  /**
   * When the reservation ends unless the order is paid (placed + its payment window). Absent on orders
   * placed before orders had to be paid.
   */
  payBy: z.iso.datetime({ offset: true }).optional(),
});

export const OrderPlacedV1 = envelopeSchema(MessageTypes.orderPlacedV1, 1, OrderPlacedV1Data);

export type OrderPlacedV1 = z.infer<typeof OrderPlacedV1>;
export type OrderPlacedV1Data = z.infer<typeof OrderPlacedV1Data>;
