import { AmqpConnection, Nack } from '@golevelup/nestjs-rabbitmq';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { TOPOLOGY, type WorkQueueName } from '@shop/contracts';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { MESSAGING_OPTIONS, type MessagingOptions } from '../messaging.options';
import { survivingErrorHandler } from './surviving-error-handler';
import { WorkQueueProcessor, type Delivery } from './work-queue-processor';

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
@Injectable()
export class WorkQueueSubscriber implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkQueueSubscriber.name);
  private readonly consumerTags: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
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
    // Our own tag, kept across reconnects (golevelup re-registers the consumer under it), so shutdown
    // can cancel exactly this consumer.
    const consumerTag = `${this.options.appId}.${queue}.${randomUUID().slice(0, 8)}`;
    this.consumerTags.push(consumerTag);
    this.amqp
      .createSubscriber<Buffer>(
        async (_body, message) => {
          // Delivered in the moment between the shutdown starting and the cancel reaching the broker:
          // handed straight back, untouched, for another worker or this one after its restart.
          if (this.stopping) return new Nack(true);
          const handling = this.processor.process(queue, schema, message!, handle).then(() => undefined);
          this.inFlight.add(handling);
          try {
            await handling;
          } finally {
            this.inFlight.delete(handling);
          }
        },
        {
          queue,
          ...this.queueDeclaration(queue),
          // WorkQueueProcessor parses and validates the raw body; golevelup would throw on bad JSON.
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
      );
  }

  /** Deliveries being handled right now (validated, handled, retried or parked, not yet settled). */
  get messagesInHand(): number {
    return this.inFlight.size;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
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
  private queueDeclaration(queue: WorkQueueName) {
    const definition = TOPOLOGY.queues.find((candidate) => candidate.name === queue);
    if (!this.options.declareTopology || !definition) return { createQueueIfNotExists: false };
    return {
      createQueueIfNotExists: true,
      queueOptions: { durable: definition.durable, arguments: definition.arguments },
    };
  }
}
