import { Injectable, Logger, Optional } from '@nestjs/common';
import {
  Exchanges,
  FailureHeaders,
  FORBIDDEN_PUBLISHER,
  forbiddenPublisher,
  orderIdOf,
  publisherOf,
  RETRY_DELAYS,
  retryExchangeOf,
  validateMessage,
  type DeadLetterReason,
  type WorkQueueName,
} from '@shop/contracts';
import { maskEmails, runWithLogContext, setLogOrderId } from '@shop/logging';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConsumeMessage } from 'amqplib';
import type { z } from 'zod';
import { ConfirmedPublisher } from '../confirmed-publisher';
import { PermanentFailure } from './permanent-failure';

export interface Delivery {
  messageId: string;
  /** 1 on the first try, 2 after the first retry ... */
  attempt: number;
  /** The broker's flag: this exact delivery was handed out before (a hint, never proof). */
  redelivered: boolean;
}

export type ProcessOutcome = 'handled' | 'retrying' | 'parked';

/**
 * The life of one work-queue message, the same for every worker:
 *
 * 1. Validate against the contract. Invalid → parked in `<queue>.dlq` at once, with the reason. An
 *    event from a user EVENT_PUBLISHERS does not name for it (its `user_id`) → parked at once,
 *    FORBIDDEN_PUBLISHER, the handler never sees it.
 * 2. Run the handler. It must be idempotent: a message can arrive more than once.
 * 3. A PermanentFailure → parked at once. Any other error is taken as transient → published to
 *    `<queue>.retry` with the next delay (1 s, 5 s, 30 s), whose TTL sends it back to the queue; once
 *    the delays are used up → parked with reason `retries-exhausted` and the attempt count.
 *
 * Retry and parking copies are published with confirms before this returns, and golevelup acks the
 * original only after that, so a message is never lost between queues and never blocks its queue.
 * All of it runs with the message's correlation id in the logging context (its messageId without one).
 */
@Injectable()
export class WorkQueueProcessor {
  private readonly logger = new Logger(WorkQueueProcessor.name);

  private readonly processed;
  private readonly duration;

  constructor(
    private readonly publisher: ConfirmedPublisher,
    // Absent in an app without MetricsModule (some specs): then nothing is counted.
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.processed = metrics?.counter(
      'messages_processed_total',
      'Work-queue messages settled, by queue and outcome (handled, retrying, parked)',
      ['queue', 'outcome'],
    );
    this.duration = metrics?.histogram(
      'message_processing_seconds',
      'From delivery to settled (handled, sent to a retry queue or parked), by queue',
      ['queue'],
    );
  }

  async process<Schema extends z.ZodType>(
    queue: WorkQueueName,
    schema: Schema,
    message: ConsumeMessage,
    handle: (body: z.infer<Schema>, delivery: Delivery) => Promise<void>,
  ): Promise<ProcessOutcome> {
    const correlationId = message.properties.correlationId ?? message.properties.messageId;
    const run = () => this.processInContext(queue, schema, message, handle);
    const stopTimer = this.duration?.startTimer({ queue });
    // messages_in_progress is the ConsumerRuntime's: it holds the delivery from receipt to settlement.
    // Every record logged for this message names where it came through (and, once read, its order).
    const logContext = {
      ...(correlationId && { correlationId: String(correlationId) }),
      exchange: message.fields.exchange,
      routingKey: message.fields.routingKey,
      queue,
    };
    const outcome = await runWithLogContext(logContext, run);
    stopTimer?.();
    this.processed?.inc({ queue, outcome });
    return outcome;
  }

  private async processInContext<Schema extends z.ZodType>(
    queue: WorkQueueName,
    schema: Schema,
    message: ConsumeMessage,
    handle: (body: z.infer<Schema>, delivery: Delivery) => Promise<void>,
  ): Promise<ProcessOutcome> {
    const retryCount = Number(message.properties.headers?.[FailureHeaders.retryCount] ?? 0) || 0;
    const delivery: Delivery = {
      messageId: String(message.properties.messageId ?? ''),
      attempt: retryCount + 1,
      redelivered: message.fields.redelivered,
    };

    const body = await this.admit(queue, schema, message, delivery.attempt);
    if (body === PARKED) return 'parked';
    setLogOrderId(orderIdOf(body));

    try {
      await handle(body, delivery);
      return 'handled';
    } catch (error) {
      const reason = (error as Error)?.message ?? String(error);
      if (error instanceof PermanentFailure) {
        await this.park(queue, message, 'permanent-failure', `${error.code}: ${reason}`, delivery.attempt);
        return 'parked';
      }
      if (retryCount < RETRY_DELAYS.length) {
        const delay = RETRY_DELAYS[retryCount];
        await this.publisher.forward(retryExchangeOf(queue), delay.label, message, {
          [FailureHeaders.retryCount]: retryCount + 1,
          [FailureHeaders.lastError]: truncate(reason),
        });
        this.logger.warn(
          `${queue}: message ${delivery.messageId} failed on attempt ${delivery.attempt} (${truncate(reason)}); retrying in ${delay.label}`,
        );
        return 'retrying';
      }
      await this.park(queue, message, 'retries-exhausted', reason, delivery.attempt);
      return 'parked';
    }
  }

  /**
   * The body when the message may be handled: valid against the contract, and from the user
   * EVENT_PUBLISHERS names for its type. Otherwise it is parked in `<queue>.dlq` with the reason, and
   * PARKED is returned (the caller acknowledges the delivery).
   */
  async admit<Schema extends z.ZodType>(
    queue: string,
    schema: Schema,
    message: ConsumeMessage,
    attempt: number,
    { ownMessagesOnly = false }: { ownMessagesOnly?: boolean } = {},
  ): Promise<z.infer<Schema> | typeof PARKED> {
    const validation = validateMessage(schema, message.content);
    if (!validation.ok) {
      await this.park(queue, message, 'invalid-message', validation.reason, attempt);
      return PARKED;
    }
    const publisher = publisherOf(message.properties, this.publisher.userId);
    const forbidden = ownMessagesOnly
      ? publisher === this.publisher.userId
        ? undefined
        : `${queue} takes messages from ${this.publisher.userId} only (this service), not from ${publisher ?? 'a message without user_id'}`
      : forbiddenPublisher(
          [typeOf(validation.message), message.properties.type as string | undefined],
          publisher,
        );
    if (forbidden) {
      await this.park(queue, message, 'permanent-failure', `${FORBIDDEN_PUBLISHER}: ${forbidden}`, attempt);
      return PARKED;
    }
    return validation.message;
  }

  /** Publishes the message to `<queue>.dlq` (through order.dlx) with why, confirmed, and logs it. */
  async park(
    queue: string,
    message: ConsumeMessage,
    reason: DeadLetterReason,
    detail: string,
    attempts: number,
  ): Promise<void> {
    // order.dlx routes by the work queue's name to <queue>.dlq (the same path the broker's own dead-lettering takes).
    await this.publisher.forward(Exchanges.orderDeadLetter, queue, message, {
      [FailureHeaders.deadLetterReason]: reason,
      [FailureHeaders.lastError]: truncate(detail),
      [FailureHeaders.attempts]: attempts,
      [FailureHeaders.failedAt]: new Date().toISOString(),
      [FailureHeaders.originalQueue]: queue,
    });
    this.logger.error(
      `${queue}: message ${message.properties.messageId ?? '?'} parked in ${queue}.dlq after ${attempts} attempt(s): ${reason}: ${detail}`,
    );
  }
}

/** WorkQueueProcessor.admit's answer for a message it parked. */
export const PARKED = Symbol('parked');

/** The envelope's `type`, when the message has one. */
const typeOf = (body: unknown): string | undefined =>
  typeof body === 'object' && body !== null && typeof (body as { type?: unknown }).type === 'string'
    ? (body as { type: string }).type
    : undefined;

/**
 * x-last-error as it may travel and be shown (the dashboard's dead-letter view, `npm run dlq -- list`):
 * email addresses masked as the logs mask them (an SMTP error names its recipient), at most 1,000 characters.
 */
const truncate = (text: string) => {
  const masked = maskEmails(text);
  return masked.length > 1000 ? `${masked.slice(0, 997)}...` : masked;
};
