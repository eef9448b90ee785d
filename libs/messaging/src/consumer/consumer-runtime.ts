import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { TOPOLOGY } from '@shop/contracts';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MESSAGING_OPTIONS, type MessagingOptions } from '../messaging.options';

type ChannelWrapper = ReturnType<AmqpConnection['managedConnection']['createChannel']>;

/**
 * Hands one delivery to a consumer type, which settles it (ack or nack) on `channel`, the channel it
 * came on (a delivery tag is refused by any other), and then calls `settled` exactly once.
 */
export type OnDelivery = (message: ConsumeMessage, channel: ConfirmChannel, settled: () => void) => void;

export interface ConsumeOptions {
  /** Deliveries this consumer holds at once (default: the module's prefetchCount). */
  prefetch?: number;
  /** Runs at shutdown after the consumer is cancelled, before the wait for what it holds (e.g. write a batch now). */
  beforeDrain?: () => Promise<void>;
}

interface Consumer {
  queue: string;
  tag: string;
  prefetch: number;
  onDelivery: OnDelivery;
  beforeDrain?: () => Promise<void>;
  wrapper?: ChannelWrapper;
  /** The channel consuming now: shutdown cancels the consumer on it. */
  channel?: ConfirmChannel;
  reopening?: NodeJS.Timeout;
}

/** How long a stop waits for consumers still being set up (the broker may be down: then not long). */
const SETUP_WAIT_ON_STOP_MS = 5_000;
/**
 * How long a stop waits for the deliveries in hand to be settled. A stop must end: what is still in hand
 * then goes back to its queue when the channel closes, and its consumer's idempotency takes the copy.
 * Docker kills a container 10 s after SIGTERM, so a longer drain would be cut off there anyway.
 */
const DRAIN_WAIT_ON_STOP_MS = 10_000;
/** The wait before consuming again after the broker cancelled a consumer or refused its set-up. */
const REOPEN_DELAY_MS = 1_000;

/**
 * What every consumer type (WorkQueueSubscriber, RpcServer, BatchConsumer) shares:
 *
 * - Reconnection. Each consumer runs on a channel of its own with its own prefetch, set up again by
 *   amqp-connection-manager after every reconnect. When its queue goes away (deleted, or a classic
 *   queue whose node went down) the broker cancels the consumer (a null delivery) or refuses the
 *   consume (404, which closes the channel, and the wrapper only makes a new one after a reconnect,
 *   which never comes while the connection itself is fine): the channel is dropped and a new one
 *   tries again a second later. Nothing waits for the broker at start, so a service started while
 *   RabbitMQ is down still serves GET /health.
 * - Declaration. A service that declares the topology also declares the queue it consumes, with the
 *   contract's arguments (the topology is set up in parallel on a fresh broker, and a mere existence
 *   check loses that race: 404, channel closed). A least-privileged service only checks: its queue
 *   comes from the broker's definitions file.
 * - Metrics. `messages_in_progress{queue}`: deliveries received and not yet settled.
 * - Drain. On shutdown it stops consuming and waits for every delivery in hand in
 *   `beforeApplicationShutdown`, i.e. before any `onApplicationShutdown` closes what handlers use (the
 *   SMTP pool, the database pool, the connection). A delivery arriving between the stop and the
 *   cancel is handed straight back, untouched, for another consumer.
 */
@Injectable()
export class ConsumerRuntime implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsumerRuntime.name);
  private readonly consumers: Consumer[] = [];
  /** Channel set-ups in flight; a stop waits for them, within bounds, so a close does not cut one off. */
  private readonly settingUp = new Set<Promise<unknown>>();
  private readonly inHandByQueue = new Map<string, number>();
  private inHand = 0;
  private whenIdle: (() => void) | undefined;
  private stopping = false;

  constructor(
    private readonly amqp: AmqpConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    // Absent in an app without MetricsModule (some specs): then nothing is counted.
    @Optional() metrics?: ServiceMetrics,
  ) {
    // Read when scraped: a delivery costs two integer updates, not two gauge calls.
    metrics?.gaugesReadOnScrape(
      'messages_in_progress',
      'Messages delivered to this process and not yet acked or rejected, by queue',
      'queue',
      async () => Object.fromEntries(this.inHandByQueue),
    );
  }

  /** Starts consuming `queue` (without waiting for the broker) and again after every reconnect. */
  consume(queue: string, onDelivery: OnDelivery, { prefetch, beforeDrain }: ConsumeOptions = {}): void {
    const consumer: Consumer = {
      queue,
      // Our own tag, kept across reconnects, so shutdown cancels exactly this consumer.
      tag: `${this.options.appId}.${queue}.${randomUUID().slice(0, 8)}`,
      prefetch: prefetch ?? this.options.prefetchCount ?? 10,
      onDelivery,
      beforeDrain,
    };
    this.consumers.push(consumer);
    if (!this.inHandByQueue.has(queue)) this.inHandByQueue.set(queue, 0);
    this.open(consumer);
  }

  /** Deliveries in hand now (received, not yet settled), on `queues` or on every queue. */
  messagesInHand(queues?: Iterable<string>): number {
    if (!queues) return this.inHand;
    let count = 0;
    for (const queue of queues) count += this.inHandByQueue.get(queue) ?? 0;
    return count;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const consumer of this.consumers) clearTimeout(consumer.reopening);
    // A stop right after the start: the set-ups still in flight finish first (at most a few
    // seconds), so closing the channel does not cut them off mid-call.
    if (this.settingUp.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.settingUp]),
        // Unreferenced: a timer left over must not hold the stopping process open.
        sleep(SETUP_WAIT_ON_STOP_MS, undefined, { ref: false }),
      ]);
    }
    // Fails harmlessly when the channel is gone: nothing is delivered on it then anyway.
    await Promise.all(
      this.consumers.map(({ channel, tag }) =>
        Promise.resolve()
          .then(() => channel?.cancel(tag))
          .catch(() => undefined),
      ),
    );
    for (const consumer of this.consumers) await consumer.beforeDrain?.().catch(() => undefined);
    if (this.inHand > 0) {
      this.logger.log(`stopping: finishing ${this.inHand} message(s) in hand`);
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => (this.whenIdle = () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(resolve, DRAIN_WAIT_ON_STOP_MS, false).unref()),
      ]);
      if (!drained) {
        const byQueue = [...this.inHandByQueue].filter(([, count]) => count > 0);
        this.logger.warn(
          `stopping: ${this.inHand} message(s) still in hand after ${DRAIN_WAIT_ON_STOP_MS} ms ` +
            `(${byQueue.map(([queue, count]) => `${queue} ${count}`).join(', ')}); ` +
            'closing their channels, and the broker delivers them again',
        );
      }
    }
    await Promise.all(this.consumers.map(({ wrapper }) => wrapper?.close().catch(() => undefined)));
  }

  private open(consumer: Consumer): void {
    if (this.stopping) return;
    const wrapper: ChannelWrapper = this.amqp.managedConnection.createChannel({
      name: consumer.queue,
      setup: (channel: ConfirmChannel) => {
        const setUp = this.setUp(consumer, wrapper, channel);
        this.settingUp.add(setUp);
        return setUp.finally(() => this.settingUp.delete(setUp));
      },
    });
    // A set-up that failed (the queue is missing, or refused): the channel is closed by then.
    wrapper.on('error', (error: Error) => this.reopen(consumer, wrapper, error.message));
    consumer.wrapper = wrapper;
  }

  private async setUp(consumer: Consumer, wrapper: ChannelWrapper, channel: ConfirmChannel): Promise<void> {
    if (this.stopping) return;
    const { queue } = consumer;
    const definition = TOPOLOGY.queues.find((candidate) => candidate.name === queue);
    if (this.options.declareTopology && definition) {
      await channel.assertQueue(queue, { durable: definition.durable, arguments: definition.arguments });
    } else {
      await channel.checkQueue(queue);
    }
    await channel.prefetch(consumer.prefetch);
    consumer.channel = channel;
    await channel.consume(
      queue,
      (message) => {
        if (!message) {
          this.reopen(consumer, wrapper, 'the broker cancelled the consumer (its queue went away)');
          return;
        }
        if (this.stopping) {
          // Delivered between the stop and the cancel reaching the broker: back to the queue, untouched.
          try {
            channel.nack(message, false, true);
          } catch {
            // The channel closed meanwhile: the broker hands it out again anyway.
          }
          return;
        }
        this.received(queue);
        let settled = false;
        consumer.onDelivery(message, channel, () => {
          if (settled) return;
          settled = true;
          this.settled(queue);
        });
      },
      { consumerTag: consumer.tag },
    );
    this.logger.log(`consuming ${queue} (prefetch ${consumer.prefetch})`);
  }

  private reopen(consumer: Consumer, wrapper: ChannelWrapper, why: string): void {
    if (this.stopping || consumer.wrapper !== wrapper) return; // once per channel
    this.logger.warn(`${consumer.queue}: ${why}; consuming again in ${REOPEN_DELAY_MS} ms`);
    consumer.wrapper = undefined;
    consumer.channel = undefined;
    void wrapper.close().catch(() => undefined);
    consumer.reopening = setTimeout(() => this.open(consumer), REOPEN_DELAY_MS);
  }

  private received(queue: string): void {
    this.inHand++;
    this.inHandByQueue.set(queue, (this.inHandByQueue.get(queue) ?? 0) + 1);
  }

  private settled(queue: string): void {
    this.inHand--;
    this.inHandByQueue.set(queue, (this.inHandByQueue.get(queue) ?? 1) - 1);
    if (this.inHand === 0) this.whenIdle?.();
  }
}
