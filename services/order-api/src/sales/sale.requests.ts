import { PAYMENT_WINDOW_LIMITS, SALE_ADMISSIONS, SALE_ID_PATTERN } from '@shop/contracts';
import { z } from 'zod';
import { Sku } from '../products/product.requests';

export const SaleId = z.string().regex(SALE_ID_PATTERN, 'must be 1-64 lower-case letters, digits or dashes');

const instant = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 date and time with its offset',
});

/** PUT /sales/:id: create the sale or replace it. */
export const PutSaleRequest = z
  .object({
    sku: Sku,
    opensAt: instant,
    closesAt: instant,
    limitPerCustomer: z.number().int().min(1).max(1_000).default(1),
    /** Defaults to order-api's PAYMENT_WINDOW_MS. */
    paymentWindowMs: z
      .number()
      .int()
      .min(PAYMENT_WINDOW_LIMITS.minMs, `must be at least ${PAYMENT_WINDOW_LIMITS.minMs} (1 s)`)
      .max(PAYMENT_WINDOW_LIMITS.maxMs, `must be at most ${PAYMENT_WINDOW_LIMITS.maxMs} (7 days)`)
      .optional(),
    admission: z.enum(SALE_ADMISSIONS).default('direct'),
  })
  .strict()
  .refine((sale) => Date.parse(sale.closesAt) > Date.parse(sale.opensAt), {
    path: ['closesAt'],
    message: 'must be after opensAt',
  });
export type PutSaleRequest = z.infer<typeof PutSaleRequest>;
