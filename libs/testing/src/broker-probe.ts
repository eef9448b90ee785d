import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type GetMessage,
  type Options,
} from 'amqplib';
import { deadLetterQueueOf, queuesOf, type WorkQueueName } from '@shop/contracts';
import { testConfig } from './test-config';
import { waitFor } from './wait-for';

/** A plain amqplib connection for specs: purge queues and read what landed on them. */
export class BrokerProbe {
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: Channel,
    private readonly confirmChannel: ConfirmChannel,
  ) {}

  static async connect(url = testConfig.rabbitmqUrl): Promise<BrokerProbe> {
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    const confirmChannel = await connection.createConfirmChannel();
    return new BrokerProbe(connection, channel, confirmChannel);
  }

  /** Publishes and waits for the broker's confirm. */
  async publishConfirmed(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    this.confirmChannel.publish(exchange, routingKey, body, options);
    await this.confirmChannel.waitForConfirms();
  }

  /** Publishes every message back to back (a burst), then waits for the broker to confirm them all. */
  async publishBurstConfirmed(
    messages: ReadonlyArray<{ exchange: string; routingKey: string; body: Buffer; options: Options.Publish }>,
  ): Promise<void> {
    for (const { exchange, routingKey, body, options } of messages) {
      this.confirmChannel.publish(exchange, routingKey, body, options);
    }
    await this.confirmChannel.waitForConfirms();
  }

  /**
   * Publishes once a binding routes the message: for a service that declares its topology in the
   * background (a fresh vhost), where its consumer can be up before its bindings are. Each attempt
   * uses a confirm channel of its own with `mandatory`, so a missing exchange (404, which closes the
   * channel) or a message returned as unroutable only means "try again".
   */
  async publishWhenRoutable(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
    timeoutMs = 15_000,
  ): Promise<void> {
    await waitFor(
      `a binding on ${exchange} for ${routingKey}`,
      async () => {
        const channel = await this.connection.createConfirmChannel();
        channel.on('error', () => undefined);
        let returned = false;
        channel.on('return', () => (returned = true));
        try {
          channel.publish(exchange, routingKey, body, { ...options, mandatory: true });
          // The broker sends basic.return before the confirm of an unroutable mandatory message.
          await channel.waitForConfirms();
          return !returned;
        } catch {
          return false;
        } finally {
          await channel.close().catch(() => undefined);
        }
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async purge(...queues: string[]): Promise<void> {
    for (const queue of queues) await this.channel.purgeQueue(queue);
  }

  /**
   * Until a worker holds none of the queue's messages and the queue and its retry queues are empty:
   * every copy handled, retried ones included. With `discard` (the default) it purges them and the
   * dead-letter queue meanwhile, so what one spec left in hand cannot land in the next one's queues or rows.
   */
  async settle(
    queue: WorkQueueName,
    messagesInHand: () => number,
    { discard = true, timeoutMs = 15_000 }: { discard?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    const pipeline = queuesOf(queue).filter((name) => name !== deadLetterQueueOf(queue));
    await waitFor(
      `the worker to hold nothing from ${queue} and its queues to be empty`,
      async () => {
        if (discard) await this.purge(...pipeline, deadLetterQueueOf(queue));
        if (messagesInHand() > 0) return false;
        const counts = await Promise.all(pipeline.map((q) => this.messageCount(q)));
        return counts.every((count) => count === 0);
      },
      { timeoutMs },
    );
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /**
   * Waits until someone consumes the queue: a service started with `wait: false` sets its topology
   * and consumers up in the background, so the queue may not even exist yet. Each probe uses its own
   * channel, because a check of a missing queue closes the channel it ran on.
   */
  async waitForConsumer(queue: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(
      `a consumer on ${queue}`,
      async () => {
        const channel = await this.connection.createChannel();
        channel.on('error', () => undefined);
        try {
          return (await channel.checkQueue(queue)).consumerCount > 0;
        } finally {
          await channel.close().catch(() => undefined);
        }
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Takes every message currently on the queue (acking them). */
  async drain(queue: string): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: false });
      if (message === false) return messages;
      this.channel.ack(message);
      messages.push(message);
    }
  }

  /** Waits until at least `count` messages arrived on the queue, then drains it. */
  async waitForMessages(queue: string, count: number, timeoutMs = 10_000): Promise<GetMessage[]> {
    const taken: GetMessage[] = [];
    await waitFor(
      `${count} message(s) on ${queue}`,
      async () => {
        taken.push(...(await this.drain(queue)));
        return taken.length >= count;
      },
      { timeoutMs },
    );
    return taken;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/** BrokerProbe.waitForConsumer on a connection of its own: for harnesses that hold no probe. */
export async function waitForConsumer(queue: string, timeoutMs?: number): Promise<void> {
  const broker = await BrokerProbe.connect();
  try {
    await broker.waitForConsumer(queue, timeoutMs);
  } finally {
    await broker.close();
  }
}
