import { createHash } from 'node:crypto';
import { z } from 'zod';
import { storableText } from '../common/zod-validation';

export const MAX_LINES_PER_ORDER = 100;
export const MAX_QUANTITY_PER_LINE = 1_000;

/** The body of POST /orders. Unknown fields are refused, so a typo never passes silently. */
export const CreateOrderRequest = z
  .object({
    customer: z
      .object({
        email: z.email({ message: 'must be an email address' }).max(254),
        name: storableText(z.string().trim().min(1, 'must not be empty').max(200)),
      })
      .strict(),
    items: z
      .array(
        z
          .object({
            sku: z
              .string()
              .min(1)
              .max(64)
              .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, dot, dash or underscore'),
            quantity: z
              .number({ message: 'must be a number' })
              .int('must be a whole number')
              .min(1, 'must be at least 1')
              .max(MAX_QUANTITY_PER_LINE, `must be at most ${MAX_QUANTITY_PER_LINE}`),
          })
          .strict(),
      )
      .min(1, 'must hold at least one item')
      .max(MAX_LINES_PER_ORDER, `must hold at most ${MAX_LINES_PER_ORDER} items`),
  })
  .strict();

export type CreateOrderRequest = z.infer<typeof CreateOrderRequest>;

/** An order request in the one shape the database statement takes: one line per sku, e-mail lower-cased. */
export interface NormalisedOrder {
  customer: { email: string; name: string };
  lines: { sku: string; quantity: number }[];
  /** SHA-256 of the normalised request: tells an idempotent replay from a reused key. */
  requestHash: string;
}

export function normaliseOrder(request: CreateOrderRequest): NormalisedOrder {
  const quantities = new Map<string, number>();
  for (const { sku, quantity } of request.items) quantities.set(sku, (quantities.get(sku) ?? 0) + quantity);
  const lines = [...quantities].map(([sku, quantity]) => ({ sku, quantity }));
  const customer = { email: request.customer.email.toLowerCase(), name: request.customer.name };
  let requestHash: string | undefined;
  return {
    customer,
    lines,
    // Computed on first use: a request refused from memory never needs it.
    get requestHash() {
      return (requestHash ??= createHash('sha256').update(JSON.stringify({ customer, lines })).digest('hex'));
    },
  };
}

/** Idempotency-Key header: optional, 1-200 visible ASCII characters. */
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7E]+$/, 'must be 1-200 visible ASCII characters')
  .optional();
