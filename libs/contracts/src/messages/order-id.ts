/**
 * The order a message concerns: its envelope's `data.orderId` (every order, payment and status event
 * has one), or undefined. Consumers put it in their log context, so each record about the message can
 * be followed by order (header `order-id` on `logs.follow`).
 */
export function orderIdOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const data = (body as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const orderId = (data as { orderId?: unknown }).orderId;
  return typeof orderId === 'string' && orderId !== '' ? orderId : undefined;
}
