import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type GetMessage,
  type Options,
} from 'amqplib';
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

  async purge(...queues: string[]): Promise<void> {
    for (const queue of queues) await this.channel.purgeQueue(queue);
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
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
