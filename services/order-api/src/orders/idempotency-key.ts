import { createHash } from 'node:crypto';

/**
 * The Idempotency-Key as stored: `<first 32 hex digits of sha256(scope)>:<key>`, the scope being the
 * signed-in customer's id or the guest's lower-cased email. Two clients that pick the same key never
 * meet: neither replays nor blocks the other's order, and a refusal never names the other's order.
 */
export function scopedIdempotencyKey(
  owner: { customerId: string } | { guestEmail: string },
  key: string,
): string {
  const scope =
    'customerId' in owner ? `customer:${owner.customerId}` : `guest:${owner.guestEmail.toLowerCase()}`;
  return `${createHash('sha256').update(scope, 'utf8').digest('hex').slice(0, 32)}:${key}`;
}
