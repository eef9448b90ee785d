import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { LogRecordV1 } from '@shop/contracts';
import { BatchConsumer, type BatchOutcome } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConsumeMessage } from 'amqplib';
import { BatchedFileAppender } from './batched-file.appender';
import {
  LogFiles,
  logFilePath,
  readLogDelivery,
  rejectedLine,
  utcDateOf,
  type LogFileName,
} from './log-record';
import { LOGS_OPTIONS, type LogsOptions } from './logs.options';
import { RecentIds } from './recent-ids';

const logger = new Logger('LogQueueSubscriber');

/**
 * Consumes the log queues: each record is appended as one JSON line to `LOG_DIR/<date>/<file>` (date
 * of the record's time, UTC) through the shared BatchedFileAppender, and acked only once its batch is
 * fsynced. A delivery that is not a valid log.record.v1 is written to `rejected.jsonl` with the reason
 * and acked, so it never loops. When a write fails the record is nacked back to its queue after a pause.
 *
 * It is a BatchConsumer (messaging): a whole batch is acked with one frame and no promise is made per
 * record; reconnection, messages_in_progress and the drain at shutdown (the batch in hand is written
 * and acked before the connection closes) are the ones every consumer shares. The messaging module's
 * prefetch must be at least the batch size, or every batch waits for its timer.
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

  private readonly recordsWritten;

  constructor(
    private readonly consumer: BatchConsumer,
    private readonly appender: BatchedFileAppender,
    @Inject(LOGS_OPTIONS) private readonly options: LogsOptions,
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.recordsWritten = metrics?.counter(
      'log_records_written_total',
      'Deliveries written to their file, by queue and outcome: record (a valid log record) or rejected',
      ['queue', 'outcome'],
    );
  }

  /** Starts consuming without waiting for the broker (so /health answers while RabbitMQ is down). */
  subscribe(queue: string, file: LogFileName, onWritten: (record: LogRecordV1) => void): void {
    this.consumer.consume(queue, (message, settle) => this.receive(queue, file, message, onWritten, settle), {
      // At shutdown: the batch in hand is written now, and acked before the connection closes.
      beforeDrain: () => this.appender.flush(),
    });
  }

  /**
   * Per queue, since start: deliveries refused as not being a log.record.v1, and duplicates skipped;
   * and the deliveries in hand now (received, not yet acked or nacked: a batch being written).
   */
  counts(): { rejected: Record<string, number>; duplicates: Record<string, number>; inHand: number } {
    return {
      rejected: { ...this.rejected },
      duplicates: { ...this.duplicates },
      inHand: this.consumer.messagesInHand,
    };
  }

  private receive(
    queue: string,
    file: LogFileName,
    message: ConsumeMessage,
    onWritten: (record: LogRecordV1) => void,
    settle: (outcome: BatchOutcome) => void,
  ): void {
    const messageId = message.properties.messageId as string | undefined;
    const writtenId = messageId ? `${queue} ${messageId}` : undefined;
    // A copy already written, or being written in this same batch, makes this one a duplicate.
    if (writtenId && (this.written.has(writtenId) || this.writing.has(writtenId))) {
      this.duplicates[queue] = (this.duplicates[queue] ?? 0) + 1;
      settle('ack');
      return;
    }
    if (writtenId) this.writing.add(writtenId);
    const parsed = readLogDelivery(message);
    let path: string;
    let line: string;
    if (parsed.ok) {
      path = logFilePath(this.options.logDir, utcDateOf(parsed.record.time), file);
      line = parsed.line;
    } else {
      const now = new Date();
      path = logFilePath(this.options.logDir, utcDateOf(now), LogFiles.rejected);
      line = `${JSON.stringify(rejectedLine(queue, message, parsed.reason, now))}\n`;
    }
    this.appender.appendThen(path, line, (error) => {
      if (writtenId) this.writing.delete(writtenId);
      if (error) {
        // The appender logged why. Requeued, never dropped: the queue holds it until the disk is back.
        setTimeout(() => settle('requeue'), this.options.writeRetryDelayMs);
        return;
      }
      if (writtenId) this.written.add(writtenId);
      try {
        this.recordsWritten?.inc({ queue, outcome: parsed.ok ? 'record' : 'rejected' });
        if (parsed.ok) onWritten(parsed.record);
        else this.noteRejected(queue, parsed.reason);
      } finally {
        settle('ack');
      }
    });
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
