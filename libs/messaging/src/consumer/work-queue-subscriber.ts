import { AmqpConnection, Nack } from '@golevelup/nestjs-rabbitmq';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { TOPOLOGY, type WorkQueueName } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { MESSAGING_OPTIONS, type MessagingOptions } from '../messaging.options';
import { survivingErrorHandler } from './surviving-error-handler';
import { PARKED, WorkQueueProcessor, type Delivery } from './work-queue-processor';
import { TryLater } from './try-later';

/**
 * Subscribes a handler to a work queue through golevelup, with manual ack (after the handler
 * resolves), WorkQueueProcessor's validate → handle → retry/park, and the surviving error handler.
 *
 * Unlike `@RabbitSubscribe`, it does not hold up start-up until the broker answers: golevelup's
 * decorator waits for the consumer to exist, so a worker started while RabbitMQ is down would never
 * serve GET /health. The consumer is set up on every (re)connect either way.
 *
 * On shutdown it stops consuming and finishes every message it holds in `beforeApplicationShutdown`,
 * i.e. before any `onApplicationShutdown` closes what handlers use (the SMTP pool, the database pool,
 * the channels). golevelup waits for handlers only in its own onApplicationShutdown, after some of
 * those may be closed already: messages waiting for an SMTP connection failed and went to retry.
 */
/** How long a stop waits for consumers still being set up (the broker may be down: then not long). */
const SETUP_WAIT_ON_STOP_MS = 5_000;

@Injectable()
export class WorkQueueSubscriber implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkQueueSubscriber.name);
  private readonly consumerTags: string[] = [];
  /** Consumers still being set up (their consume call in flight); a stop waits for them, within bounds. */
  private readonly settingUp = new Set<Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly processor: WorkQueueProcessor,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  subscribe<Schema extends z.ZodType>(
    queue: WorkQueueName,
    schema: Schema,
    handle: (body: z.infer<Schema>, delivery: Delivery) => Promise<void>,
  ): void {
    this.consume(queue, async (message) => {
      await this.processor.process(queue, schema, message, handle);
      return undefined;
    });
  }

  /**
   * A queue whose order matters (the waiting room): validated and checked like a work queue, but a
   * message that cannot be handled now (`TryLater`) goes back where it was, at the head of the line,
   * after `pauseMs`, instead of round a retry queue that would put it behind later ones. Any other error
   * parks it (`permanent-failure`): a message that can never succeed must not block the line.
   * With `ownMessagesOnly`, only what this service's own RabbitMQ user published is taken (a queue a
   * service feeds itself); anything else is parked with FORBIDDEN_PUBLISHER.
   */
  subscribeInOrder<Schema extends z.ZodType>(
    queue: string,
    schema: Schema,
    handle: (body: z.infer<Schema>) => Promise<void>,
    options: { ownMessagesOnly?: boolean } = {},
  ): void {
    this.consume(queue, async (message) => {
      const attempt = (message.fields.redelivered ? 2 : 1) as number;
      const body = await this.processor.admit(queue, schema, message, attempt, options);
      if (body === PARKED) return undefined;
      try {
        await handle(body);
        return undefined;
      } catch (error) {
        if (error instanceof TryLater) {
          this.logger.warn(`${queue}: ${error.message}; back in line in ${error.pauseMs} ms`);
          await sleep(error.pauseMs);
          return new Nack(true);
        }
        await this.processor.park(queue, message, 'permanent-failure', (error as Error).message, attempt);
        return undefined;
      }
    });
  }

  /** One consumer with manual ack: `onMessage` settles each delivery (undefined acks it). */
  private consume(queue: string, onMessage: (message: ConsumeMessage) => Promise<Nack | undefined>): void {
    // Our own tag, kept across reconnects (golevelup re-registers the consumer under it), so shutdown
    // can cancel exactly this consumer.
    const consumerTag = `${this.options.appId}.${queue}.${randomUUID().slice(0, 8)}`;
    this.consumerTags.push(consumerTag);
    const setUp = this.amqp
      .createSubscriber<Buffer>(
        async (_body, message) => {
          // Delivered in the moment between the shutdown starting and the cancel reaching the broker:
          // handed straight back, untouched, for another worker or this one after its restart.
          if (this.stopping) return new Nack(true);
          const handling = onMessage(message!);
          this.inFlight.add(handling);
          try {
            return await handling;
          } finally {
            this.inFlight.delete(handling);
          }
        },
        {
          queue,
          ...this.queueDeclaration(queue),
          // The processor parses and validates the raw body; golevelup would throw on bad JSON.
          allowNonJsonMessages: true,
          deserializer: (body: Buffer) => body,
          errorHandler: survivingErrorHandler,
        },
        `${queue} handler`,
        { consumerTag },
      )
      .then(
        () => this.logger.log(`consuming ${queue}`),
        (error: Error) => this.logger.error(`could not consume ${queue}: ${error.message}`),
      )
      .finally(() => this.settingUp.delete(setUp));
    this.settingUp.add(setUp);
  }

  /** Deliveries being handled right now (validated, handled, retried or parked, not yet settled). */
  get messagesInHand(): number {
    return this.inFlight.size;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // A stop right after the start: the consume calls still in flight finish first (at most a few
    // seconds), so closing the channel does not cut them off mid-call.
    if (this.settingUp.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.settingUp]),
        // Unreferenced: a timer left over must not hold the stopping process open.
        sleep(SETUP_WAIT_ON_STOP_MS, undefined, { ref: false }),
      ]);
    }
    // Fails harmlessly when the connection is down: nothing is delivered then anyway.
    await Promise.all(this.consumerTags.map((tag) => this.amqp.cancelConsumer(tag).catch(() => undefined)));
    if (this.inFlight.size === 0) return;
    this.logger.log(`stopping: finishing ${this.inFlight.size} message(s) in hand`);
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * A service that declares the topology also declares the queue it consumes, with the contract's
   * arguments: golevelup sets consumers up in parallel with the topology on each channel, and a mere
   * existence check loses that race on a fresh broker (404, channel closed, again on every retry).
   * A least-privileged service only checks: its queue comes from the broker's definitions file.
   */
  private queueDeclaration(queue: string) {
    const definition = TOPOLOGY.queues.find((candidate) => candidate.name === queue);
    if (!this.options.declareTopology || !definition) return { createQueueIfNotExists: false };
    return {
      createQueueIfNotExists: true,
      queueOptions: { durable: definition.durable, arguments: definition.arguments },
    };
  }
}
