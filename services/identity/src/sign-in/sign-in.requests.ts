import { HttpStatus } from '@nestjs/common';
import { ApiError, type FieldError } from '@shop/service-kit';
import { z } from 'zod';

/** An address as identity keeps it: valid, at most 254 characters, lower-cased (one customer per mailbox). */
export const customerEmail = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase());

export const SignInRequest = z.strictObject({ email: customerEmail });
export type SignInRequest = z.infer<typeof SignInRequest>;

export const TokenRequest = z.strictObject({
  email: customerEmail,
  code: z.string().regex(/^[0-9]{6}$/, 'must be the six digits of the emailed code'),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** The most emails one POST /ops/customers/tokens mints tokens for. */
export const MAX_BULK_EMAILS = 1_000;

export const BulkTokensRequest = z.strictObject({
  emails: z.array(customerEmail).min(1).max(MAX_BULK_EMAILS),
});
export type BulkTokensRequest = z.infer<typeof BulkTokensRequest>;

/** The body as `schema` reads it, or 400 VALIDATION_FAILED with one `{ field, code, message }` per problem. */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(root)',
    code: issue.code,
    message: issue.message,
  }));
  throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', 'The request body is invalid.', { errors });
}
