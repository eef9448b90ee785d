import { createHmac } from 'node:crypto';

/**
 * An order's access token: base64url(HMAC-SHA256(ORDER_TOKEN_SECRET, 'order-access/v1/' + orderId)).
 * Nothing is stored: the same order always gets the same token (so an idempotent replay answers it
 * again), and changing the secret withdraws every token at once.
 */
export function orderAccessTokenOf(secret: string, orderId: string): string {
  return createHmac('sha256', secret).update(`order-access/v1/${orderId}`, 'utf8').digest('base64url');
}
