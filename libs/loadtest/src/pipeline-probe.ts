import { deadLetterQueueOf, orderIdOf, retryQueuesOf, WorkQueues, type ProductSales } from '@shop/contracts';
import { connectToolToBroker } from '@shop/broker';
import { listParked, resolveParkingSource } from '@shop/messaging/dead-letters';
import type { Channel, ChannelModel } from 'amqplib';

/** Every work queue's dead-letter queue: the workers' and order-api's status feed's. */
export const DEAD_LETTER_QUEUES = WorkQueues.map(deadLetterQueueOf);
/** The queues the load test watches: work queues, their retry queues and dead-letter queues. */
export const WATCHED_QUEUES = [...WorkQueues, ...WorkQueues.flatMap(retryQueuesOf), ...DEAD_LETTER_QUEUES];

/**
 * Reads queue depths with passive declares (they need no permissions and create nothing). A queue that
 * does not exist closes the channel, so each read gets a fresh channel when the last one died.
 */
export class QueueDepthReader {
  private channel: Channel | undefined;

  private constructor(private readonly connection: ChannelModel) {}

  /** undefined when the broker cannot be reached: depths are then simply not shown. */
  static async open(amqpUrl: string): Promise<QueueDepthReader | undefined> {
    try {
      const { connection } = await connectToolToBroker(amqpUrl, 'flash-sale-loadtest', { timeoutMs: 5_000 });
      return new QueueDepthReader(connection);
    } catch {
      return undefined;
    }
  }

  /** Messages ready for delivery per queue (AMQP reports no unacknowledged count); missing queues are left out. */
  async depths(queues: readonly string[] = WATCHED_QUEUES): Promise<Record<string, number>> {
    const depths: Record<string, number> = {};
    for (const queue of queues) {
      try {
        this.channel ??= await this.openChannel();
        const { messageCount } = await this.channel.checkQueue(queue);
        depths[queue] = messageCount;
      } catch {
        this.channel = undefined;
      }
    }
    return depths;
  }

  /**
   * The order id of every message parked in each of `queues` (undefined for a body without one), read
   * without removing anything (`npm run dlq -- list`'s listParked), on a channel of its own. A queue
   * that cannot be read is left out.
   */
  async parkedOrderIds(
    queues: readonly string[],
    limit = 100_000,
  ): Promise<Record<string, (string | undefined)[]>> {
    const parked: Record<string, (string | undefined)[]> = {};
    for (const queue of queues) {
      const channel = await this.connection.createChannel().catch(() => undefined);
      if (!channel) continue;
      channel.on('error', () => undefined);
      try {
        const messages = await listParked(channel, resolveParkingSource(queue), limit);
        parked[queue] = messages.map((message) => orderIdOf(jsonOf(message.body)));
      } catch {
        // A missing queue closed the channel: it is left out, and the checker says so.
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
    return parked;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }

  private async openChannel(): Promise<Channel> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    return channel;
  }
}

/** A parked body as JSON, or undefined when it is not (it was parked for that, maybe). */
function jsonOf(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export type { ProductSales };

/** GET /products/:sku/sales: the database's count of the product's orders and how far they got. */
export async function readSales(apiUrl: string, sku: string): Promise<ProductSales> {
  const response = await fetch(new URL(`products/${encodeURIComponent(sku)}/sales`, withSlash(apiUrl)), {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET /products/${sku}/sales answered ${response.status}`);
  return (await response.json()) as ProductSales;
}

export const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
