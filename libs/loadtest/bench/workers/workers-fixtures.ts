import {
  envelopeOf,
  Exchanges,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  TOPOLOGY,
  type OrderPlacedV1,
} from '@shop/contracts';
import { declareTopology } from '@shop/testing';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { BENCH_VHOST, emptyBusinessTables, prepareToolDatabase } from '../support/tool-environment';

/** The workers bench's fixtures: a small pool on the bench database, fixture orders and their messages, the broker. */

/** Creates (if missing), migrates and empties the bench database; returns a small pool on it. */
export async function prepareBenchDatabase(databaseUrl: string, log: (line: string) => void): Promise<Pool> {
  await prepareToolDatabase(databaseUrl, log);
  return new Pool({ connectionString: databaseUrl, max: 3, application_name: 'workers-bench' });
}

/** Empties every business table of the bench database. */
export function emptyTables(pool: Pool): Promise<void> {
  return emptyBusinessTables(pool);
}

/** Transactions committed in the bench database so far (pg_stat_database; flushed about once a second). */
export async function committedTransactions(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0].n);
}

/** A representative order: three lines, names in Chinese, Korean and Latin script (the PDF embeds them). */
const PRODUCTS = [
  { sku: 'BENCH-TEA-LONGJING', name: '龙井茶 Longjing green tea, 100 g', unitPriceCents: 1299 },
  { sku: 'BENCH-KIMCHI-500G', name: '배추김치 Napa cabbage kimchi, 500 g', unitPriceCents: 749 },
  { sku: 'BENCH-MUG-350ML', name: 'Ceramic mug, 350 ml', unitPriceCents: 1590 },
];
const CUSTOMER_NAMES = ['王小明', '김민준', 'Aoife Ní Bhriain'];

export const BENCH_PRODUCTS = PRODUCTS;

/**
 * Writes `count` orders straight into the database, as createOrderFixture does (products, orders, items),
 * but in three statements, and returns the order.placed.v1 event a worker receives for each.
 */
export async function insertOrders(pool: Pool, count: number): Promise<OrderPlacedV1[]> {
  for (const product of PRODUCTS) {
    await pool.query(
      `INSERT INTO products (id, sku, name, price_cents, stock) VALUES (gen_random_uuid(), $1, $2, $3, 10000000)
       ON CONFLICT (sku) DO NOTHING`,
      [product.sku, product.name, product.unitPriceCents],
    );
  }
  const orders = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    customer: { email: `bench+${i}@example.com`, name: CUSTOMER_NAMES[i % CUSTOMER_NAMES.length] },
    items: PRODUCTS.map((product, line) => ({ ...product, quantity: 1 + ((i + line) % 3) })),
  }));
  const totalOf = (order: (typeof orders)[number]) =>
    order.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
  const { rows } = await pool.query<{ id: string; created_at: Date }>(
    `INSERT INTO orders (id, request_hash, customer_email, customer_name, total_cents, correlation_id)
     SELECT id, repeat('0', 64), email, name, total, 'bench-' || id
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS input(id, email, name, total)
     RETURNING id, created_at`,
    [
      orders.map((o) => o.id),
      orders.map((o) => o.customer.email),
      orders.map((o) => o.customer.name),
      orders.map(totalOf),
    ],
  );
  await pool.query(
    `INSERT INTO order_items (order_id, line_no, product_id, sku, name, unit_price_cents, quantity)
     SELECT input.order_id, input.line_no, p.id, p.sku, p.name, p.price_cents, input.quantity
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[]) AS input(order_id, line_no, sku, quantity)
       JOIN products p ON p.sku = input.sku`,
    [
      orders.flatMap((o) => o.items.map(() => o.id)),
      orders.flatMap((o) => o.items.map((_, line) => line + 1)),
      orders.flatMap((o) => o.items.map((item) => item.sku)),
      orders.flatMap((o) => o.items.map((item) => item.quantity)),
    ],
  );
  const placedAt = new Map(rows.map((row) => [row.id, row.created_at]));
  return orders.map((order) =>
    envelopeOf<OrderPlacedV1>({
      messageId: randomUUID(),
      type: MessageTypes.orderPlacedV1,
      occurredAt: placedAt.get(order.id)!,
      correlationId: `bench-${order.id}`,
      data: {
        orderId: order.id,
        placedAt: placedAt.get(order.id)!.toISOString(),
        customer: order.customer,
        items: order.items,
        totalCents: totalOf(order),
        currency: 'EUR',
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Broker

/**
 * The log queues of the bench vhost. Services publish their log records to the `logs` exchange and no
 * log-aggregator consumes them here, so the bench empties them with the worker queues.
 */
export const LOG_QUEUES: string[] = [Queues.logArchive, Queues.logAlerts];

export { queuesOf } from '@shop/contracts';

/** One amqplib connection of the bench itself: topology, purges, depths, publishing with confirms. */
export class BenchBroker {
  private constructor(
    readonly url: string,
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly confirmChannel: ConfirmChannel,
  ) {}

  static async connect(url: string): Promise<BenchBroker> {
    if (decodeURIComponent(new URL(url).pathname.slice(1)) !== BENCH_VHOST) {
      throw new Error(`Refusing to use ${url}: the bench uses vhost ${BENCH_VHOST}.`);
    }
    const connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    return new BenchBroker(
      url,
      connection,
      await connection.createChannel(),
      await connection.createConfirmChannel(),
    );
  }

  /** Declares the contract's topology (as the services do at start), so messages published first are routed. */
  async declareTopology(): Promise<void> {
    await declareTopology(this.channel, TOPOLOGY);
  }

  /** Empties the given queues; returns what each held. */
  async purge(queues: string[]): Promise<Record<string, number>> {
    const purged: Record<string, number> = {};
    for (const queue of queues) purged[queue] = (await this.channel.purgeQueue(queue)).messageCount;
    return purged;
  }

  /** Ready messages and consumers of a queue (unacked messages are not counted by the broker here). */
  async depth(queue: string): Promise<{ messages: number; consumers: number }> {
    const { messageCount, consumerCount } = await this.channel.checkQueue(queue);
    return { messages: messageCount, consumers: consumerCount };
  }

  /**
   * Publishes the events as the outbox relay does (persistent JSON, full set of properties), many in
   * flight at once, and resolves when the broker confirmed them all.
   */
  async publishOrderPlaced(routingKey: string, events: OrderPlacedV1[]): Promise<void> {
    for (const event of events) {
      const accepted = this.confirmChannel.publish(
        Exchanges.order,
        routingKey,
        Buffer.from(JSON.stringify(event)),
        jsonMessageProperties({
          messageId: event.messageId,
          correlationId: event.correlationId,
          type: MessageTypes.orderPlacedV1,
          occurredAt: new Date(),
          appId: 'workers-bench',
        }),
      );
      if (!accepted) await new Promise((resolve) => this.confirmChannel.once('drain', resolve));
    }
    await this.confirmChannel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
