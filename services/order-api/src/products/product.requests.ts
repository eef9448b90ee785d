import { z } from 'zod';
import { storableText } from '../common/zod-validation';

export const Sku = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dot, dash or underscore');

/** PUT /products/:sku — create the product or replace its name, price and stock. */
export const PutProductRequest = z
  .object({
    name: storableText(z.string().trim().min(1).max(200)),
    priceCents: z.number().int().min(0).max(100_000_000),
    stock: z.number().int().min(0).max(1_000_000_000),
  })
  .strict();

/** POST /products/:sku/restock — add units to the stock (atomically, safe during a sale). */
export const RestockRequest = z.object({ quantity: z.number().int().min(1).max(1_000_000_000) }).strict();

export type PutProductRequest = z.infer<typeof PutProductRequest>;
