import { Injectable, Logger } from '@nestjs/common';
import type { WorkQueueName } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { ConsumerRuntime } from './consumer-runtime';
import { survivingErrorHandler } from './surviving-error-handler';
import { PARKED, WorkQueueProcessor, type Delivery } from './work-queue-processor';
import { TryLater } from './try-later';

/**
 * Subscribes a handler to a work queue through the ConsumerRuntime (a channel of its own, reconnection,
 * drain at shutdown), with manual ack after the handler resolves, WorkQueueProcessor's validate →
 * handle → retry/park, and the surviving error handler for whatever escapes that.
 */
@Injectable()
export class WorkQueueSubscriber {
  private readonly logger = new Logger(WorkQueueSubscriber.name);
  private readonly queues = new Set<string>();

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly processor: WorkQueueProcessor,
  ) {}

  subscribe<Schema extends z.ZodType>(
    queue: WorkQueueName,
    schema: Schema,
    handle: (body: z.infer<Schema>, delivery: Delivery) => Promise<void>,
  ): void {
    this.consume(queue, async (message) => {
      await this.processor.process(queue, schema, message, handle);
      return 'ack';
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
      if (body === PARKED) return 'ack';
      try {
        await handle(body);
        return 'ack';
      } catch (error) {
        if (error instanceof TryLater) {
          this.logger.warn(`${queue}: ${error.message}; back in line in ${error.pauseMs} ms`);
          await sleep(error.pauseMs);
          return 'requeue';
        }
        await this.processor.park(queue, message, 'permanent-failure', (error as Error).message, attempt);
        return 'ack';
      }
    });
  }

  /** One consumer with manual ack: `onMessage` decides how each delivery is settled. */
  private consume(queue: string, onMessage: (message: ConsumeMessage) => Promise<'ack' | 'requeue'>): void {
    this.queues.add(queue);
    this.runtime.consume(queue, (message, channel, settled) => {
      onMessage(message)
        .then((outcome) =>
          outcome === 'requeue' ? channel.nack(message, false, true) : channel.ack(message),
        )
        // A handler that threw, or an ack whose channel is gone: never acked, never looping.
        .catch((error: unknown) => survivingErrorHandler(channel, message, error))
        .finally(settled);
    });
  }

  /** Deliveries being handled right now (validated, handled, retried or parked, not yet settled). */
  get messagesInHand(): number {
    return this.runtime.messagesInHand(this.queues);
  }
}
