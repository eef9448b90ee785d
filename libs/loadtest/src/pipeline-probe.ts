import { deadLetterQueueOf, RETRY_DELAYS, retryQueueOf, WorkQueues } from '@shop/contracts';
import { connectToolToBroker } from '@shop/broker';
import type { Channel, ChannelModel } from 'amqplib';

/** Every work queue's dead-letter queue: the workers' and order-api's status feed's. */
export const DEAD_LETTER_QUEUES = WorkQueues.map(deadLetterQueueOf);
/** The queues the load test watches: work queues, their retry queues and dead-letter queues. */
export const WATCHED_QUEUES = [
  ...WorkQueues,
  ...WorkQueues.flatMap((queue) => RETRY_DELAYS.map(({ label }) => retryQueueOf(queue, label))),
  ...DEAD_LETTER_QUEUES,
];

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

export interface ProductSales {
  sku: string;
  stock: number;
  orders: number;
  unitsSold: number;
  notified: number;
  reported: number;
}

/** GET /products/:sku/sales: the database's count of the product's orders and how far they got. */
export async function readSales(apiUrl: string, sku: string): Promise<ProductSales> {
  const response = await fetch(new URL(`products/${encodeURIComponent(sku)}/sales`, withSlash(apiUrl)), {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET /products/${sku}/sales answered ${response.status}`);
  return (await response.json()) as ProductSales;
}

export const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);
