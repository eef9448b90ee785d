import type { GetMessage } from 'amqplib';
import { envelopeOf, jsonMessageProperties, MessageTypes, type OrderPlacedV1 } from '@shop/contracts';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { BrokerProbe } from './broker-probe';
import { insertProduct } from './test-database';

export interface OrderFixture {
  orderId: string;
  /** The order.placed.v1 message the outbox would publish (its messageId is fresh per call). */
  event: OrderPlacedV1;
}

/**
 * Writes an order (and its products) straight into the database, as order-api would, and returns the
 * event a worker receives for it. Workers' specs use it so they need no running order-api.
 */
export async function createOrderFixture(
  pool: Pool,
  order: {
    customer: { email: string; name: string };
    items: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
  },
): Promise<OrderFixture> {
  const orderId = randomUUID();
  const totalCents = order.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
  for (const item of order.items) {
    await insertProduct(pool, {
      sku: item.sku,
      name: item.name,
      priceCents: item.unitPriceCents,
      stock: 1_000,
    });
  }
  // Reserved for order-api's default payment window, as place_orders would.
  const { rows } = await pool.query<{ created_at: Date; pay_by: Date }>(
    `INSERT INTO orders (id, request_hash, customer_email, customer_name, total_cents, correlation_id, pay_by)
     VALUES ($1, repeat('0', 64), $2, $3, $4, $5, now() + interval '15 minutes') RETURNING created_at, pay_by`,
    [orderId, order.customer.email, order.customer.name, totalCents, `fixture-${orderId}`],
  );
  for (const [index, item] of order.items.entries()) {
    await pool.query(
      `INSERT INTO order_items (order_id, line_no, product_id, sku, name, unit_price_cents, quantity)
       SELECT $1, $2, id, sku, name, price_cents, $3 FROM products WHERE sku = $4`,
      [orderId, index + 1, item.quantity, item.sku],
    );
  }
  const placedAt = rows[0].created_at;
  return {
    orderId,
    event: envelopeOf<OrderPlacedV1>({
      messageId: randomUUID(),
      type: MessageTypes.orderPlacedV1,
      occurredAt: placedAt,
      correlationId: `fixture-${orderId}`,
      data: {
        orderId,
        placedAt: placedAt.toISOString(),
        customer: order.customer,
        items: order.items,
        totalCents,
        currency: 'EUR',
        payBy: rows[0].pay_by.toISOString(),
      },
    }),
  };
}

/**
 * Publishes a message as the outbox relay does (persistent JSON with the full set of properties).
 * `waitForBinding`: retry until the exchange routes it (a service still declaring its topology).
 */
export async function publishOrderPlaced(
  broker: BrokerProbe,
  routingKey: 'order.notify' | 'order.report',
  event: OrderPlacedV1 | Record<string, unknown>,
  overrides: { body?: Buffer; messageId?: string; type?: string; waitForBinding?: boolean } = {},
): Promise<void> {
  const messageId =
    overrides.messageId ?? String((event as { messageId?: string }).messageId ?? randomUUID());
  const publish = overrides.waitForBinding
    ? broker.publishWhenRoutable.bind(broker)
    : broker.publishConfirmed.bind(broker);
  await publish(
    'order',
    routingKey,
    overrides.body ?? Buffer.from(JSON.stringify(event)),
    jsonMessageProperties({
      messageId,
      correlationId: String((event as { correlationId?: string }).correlationId ?? 'spec'),
      type: overrides.type ?? MessageTypes.orderPlacedV1,
      occurredAt: new Date(),
      appId: 'spec',
    }),
  );
}

/**
 * A status event (order.notified.v1 / order.reported.v1) taken from a queue, as one object a spec can
 * match: its routing key, the AMQP properties every message must carry, and the parsed body.
 */
export function describeStatusEvent(message: GetMessage) {
  const body = JSON.parse(message.content.toString()) as {
    messageId?: string;
    data?: Record<string, unknown>;
  };
  const { type, contentType, deliveryMode, correlationId, appId, messageId } = message.properties;
  return {
    routingKey: message.fields.routingKey,
    properties: { type, contentType, deliveryMode, correlationId, appId },
    sameMessageId: body.messageId === messageId,
    body,
  };
}
