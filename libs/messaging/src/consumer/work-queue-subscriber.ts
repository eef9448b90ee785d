import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { TOPOLOGY, type WorkQueueName } from '@shop/contracts';
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
 */
@Injectable()
export class WorkQueueSubscriber {
  private readonly logger = new Logger(WorkQueueSubscriber.name);

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
    this.amqp
      .createSubscriber<Buffer>(
        async (_body, message) => {
          await this.processor.process(queue, schema, message!, handle);
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
      )
      .then(
        () => this.logger.log(`consuming ${queue}`),
        (error: Error) => this.logger.error(`could not consume ${queue}: ${error.message}`),
      );
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
