import { AmqpConnection, Nack, type MessageErrorHandler } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { LogRecordV1 } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedFileAppender } from './batched-file.appender';
import {
  LogFiles,
  logFilePath,
  parseLogDelivery,
  rejectedLine,
  utcDateOf,
  type LogFileName,
} from './log-record';
import { LOGS_OPTIONS, type LogsOptions } from './logs.options';
import { RecentIds } from './recent-ids';

const logger = new Logger('LogQueueSubscriber');

/**
 * A log queue must not lose records, and the handler below never throws, so this runs only when an
 * ack or nack itself failed. On a closed channel (the connection dropped) there is nothing to do: the
 * broker redelivers every unacked message of that channel. Otherwise the message goes back to its queue.
 */
const requeueOnError: MessageErrorHandler = (channel, message, error) => {
  for (const m of Array.isArray(message) ? message : [message]) {
    try {
      channel.nack(m, false, true);
      logger.warn(`message ${m.properties.messageId ?? '?'} requeued: ${(error as Error)?.message ?? error}`);
    } catch {
      // Channel closed: redelivered by the broker.
    }
  }
};

/**
 * Consumes one log queue: each record is appended as one JSON line to `LOG_DIR/<date>/<file>` (date
 * of the record's time, UTC) through the shared BatchedFileAppender, and acked only once its batch is
 * fsynced. A delivery that is not a valid log.record.v1 is written to `rejected.jsonl` with the reason
 * and acked, so it never loops. When a write fails the record is nacked back to its queue after a pause.
 *
 * Each delivery is settled exactly once, by golevelup, after this handler resolves. Prefetch (set on
 * the connection) must be at least the batch size, or every batch waits for its timer.
 *
 * Delivery is at least once (the publisher resends when a confirm is lost; a connection lost between
 * fsync and ack redelivers), so a record whose messageId was written lately is acked without being
 * written again.
 */
@Injectable()
export class LogQueueSubscriber {
  private readonly rejected: Record<string, number> = {};
  private readonly duplicates: Record<string, number> = {};
  /** Message ids whose write is in progress (a redelivered copy can arrive in the same batch). */
  private readonly writing = new Set<string>();
  private readonly written = new RecentIds(100_000);
  private lastRejectionLoggedAt = 0;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly appender: BatchedFileAppender,
    @Inject(LOGS_OPTIONS) private readonly options: LogsOptions,
  ) {}

  /** Starts consuming without waiting for the broker (so /health answers while RabbitMQ is down). */
  subscribe(queue: string, file: LogFileName, onWritten: (record: LogRecordV1) => void): void {
    this.amqp
      .createSubscriber<Buffer>(
        (_body, message) => this.handle(queue, file, message!, onWritten),
        {
          queue,
          // Declared with the topology (or by the broker's definitions file): only check it exists.
          createQueueIfNotExists: false,
          // The raw body is validated here; golevelup would throw on bad JSON.
          allowNonJsonMessages: true,
          deserializer: (body: Buffer) => body,
          errorHandler: requeueOnError,
        },
        `${queue} handler`,
      )
      .then(
        () => logger.log(`consuming ${queue} into ${file}`),
        (error: Error) => logger.error(`could not consume ${queue}: ${error.message}`),
      );
  }

  /** Per queue, since start: deliveries refused as not being a log.record.v1, and duplicates skipped. */
  counts(): { rejected: Record<string, number>; duplicates: Record<string, number> } {
    return { rejected: { ...this.rejected }, duplicates: { ...this.duplicates } };
  }

  private async handle(
    queue: string,
    file: LogFileName,
    message: ConsumeMessage,
    onWritten: (record: LogRecordV1) => void,
  ): Promise<Nack | undefined> {
    const messageId = message.properties.messageId as string | undefined;
    const writtenId = messageId ? `${queue} ${messageId}` : undefined;
    // A copy already written, or being written in this same batch, makes this one a duplicate.
    if (writtenId && (this.written.has(writtenId) || this.writing.has(writtenId))) {
      this.duplicates[queue] = (this.duplicates[queue] ?? 0) + 1;
      return undefined;
    }
    if (writtenId) this.writing.add(writtenId);
    try {
      return await this.write(queue, file, message, writtenId, onWritten);
    } finally {
      if (writtenId) this.writing.delete(writtenId);
    }
  }

  private async write(
    queue: string,
    file: LogFileName,
    message: ConsumeMessage,
    writtenId: string | undefined,
    onWritten: (record: LogRecordV1) => void,
  ): Promise<Nack | undefined> {
    const parsed = parseLogDelivery(message);
    const now = new Date();
    const [path, line] = parsed.ok
      ? [logFilePath(this.options.logDir, utcDateOf(parsed.message.time), file), parsed.message]
      : [
          logFilePath(this.options.logDir, utcDateOf(now), LogFiles.rejected),
          rejectedLine(queue, message, parsed.reason, now),
        ];
    try {
      await this.appender.append(path, `${JSON.stringify(line)}\n`);
    } catch {
      // The appender logged why. Requeued, never dropped: the queue holds it until the disk is back.
      await sleep(this.options.writeRetryDelayMs);
      return new Nack(true);
    }
    if (writtenId) this.written.add(writtenId);
    if (parsed.ok) onWritten(parsed.message);
    else this.noteRejected(queue, parsed.reason);
    return undefined;
  }

  private noteRejected(queue: string, reason: string): void {
    this.rejected[queue] = (this.rejected[queue] ?? 0) + 1;
    // At most one line per 10 s: a publisher sending garbage must not flood the logs it feeds.
    if (Date.now() - this.lastRejectionLoggedAt < 10_000) return;
    this.lastRejectionLoggedAt = Date.now();
    logger.warn(
      `${queue}: ${this.rejected[queue]} delivery(ies) rejected to ${LogFiles.rejected} since start; latest: ${reason}`,
    );
  }
}
