import { z } from 'zod';

export type ValidationResult<T> = { ok: true; message: T } | { ok: false; reason: string };

/**
 * Checks a raw message body (Buffer, string or parsed JSON) against its contract.
 * Never throws: an invalid message is an expected input, and `reason` is what goes to the dead-letter queue.
 */
export function validateMessage<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
): ValidationResult<z.infer<Schema>> {
  let parsed = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      parsed = JSON.parse(body.toString());
    } catch (error) {
      return { ok: false, reason: `body is not valid JSON: ${(error as Error).message}` };
    }
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, message: result.data };
  const reason = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, reason: `body does not match the contract: ${reason}` };
}
