import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { TOPOLOGY, type LogRecordV1 } from '@shop/contracts';
import { ServiceMetrics } from '@shop/service-kit';
import type { Channel, ConsumeMessage } from 'amqplib';
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

type Outcome = 'ack' | 'requeue';

interface Delivery {
  message: ConsumeMessage;
  outcome: Outcome | undefined;
}

/**
 * Settles the deliveries of one channel in the order they arrived: once a run of them at the front
 * is decided, the requeued ones are nacked one by one and the rest acked with a single "multiple"
 * ack (one frame for the whole batch instead of one per record). A delivery tag belongs to its
 * channel, so a channel that closed takes its unsettled deliveries with it: the broker redelivers them.
 */
class ChannelSettler {
  private readonly deliveries: Delivery[] = [];
  private head = 0;
  private scheduled = false;

  constructor(readonly channel: Channel) {}

  /** Deliveries received on this channel and not yet acked or nacked. */
  get unsettled(): number {
    return this.deliveries.length - this.head;
  }

  track(message: ConsumeMessage): Delivery {
    const delivery: Delivery = { message, outcome: undefined };
    this.deliveries.push(delivery);
    return delivery;
  }

  settle(delivery: Delivery, outcome: Outcome): void {
    delivery.outcome = outcome;
    if (this.scheduled) return;
    this.scheduled = true;
    // Every record of a batch is decided in the same turn: settle them with one ack.
    setImmediate(() => this.flush());
  }

  /** Sends what is decided at the front now; false when the channel is gone. */
  flush(): boolean {
    this.scheduled = false;
    let lastAcked: ConsumeMessage | undefined;
    try {
      while (this.head < this.deliveries.length) {
        const delivery = this.deliveries[this.head];
        if (delivery.outcome === undefined) break;
        if (delivery.outcome === 'requeue') this.channel.nack(delivery.message, false, true);
        else lastAcked = delivery.message;
        this.head += 1;
      }
      // Covers every delivery of this channel up to it: the requeued ones were nacked just before.
      if (lastAcked) this.channel.ack(lastAcked, true);
    } catch {
      // The channel closed (amqplib throws): its unsettled deliveries come back from the broker.
      return false;
    } finally {
      if (this.head > 1_024 && this.head * 2 > this.deliveries.length) {
        this.deliveries.splice(0, this.head);
        this.head = 0;
      }
    }
    return true;
  }
}

interface Subscription {
  queue: string;
  file: LogFileName;
  onWritten: (record: LogRecordV1) => void;
}

/**
 * Consumes the log queues: each record is appended as one JSON line to `LOG_DIR/<date>/<file>` (date
 * of the record's time, UTC) through the shared BatchedFileAppender, and acked only once its batch is
 * fsynced. A delivery that is not a valid log.record.v1 is written to `rejected.jsonl` with the reason
 * and acked, so it never loops. When a write fails the record is nacked back to its queue after a pause.
 *
 * It consumes on the messaging module's channel itself (set up after the topology, with its prefetch)
 * rather than through golevelup's per-message handler, so that a whole batch is acked with one frame
 * and no promise is made per record. Every consumer on that channel must be one of these (a multiple
 * ack covers the channel's earlier deliveries). Prefetch must be at least the batch size, or every
 * batch waits for its timer.
 *
 * Delivery is at least once (the publisher resends when a confirm is lost; a connection lost between
 * fsync and ack redelivers), so a record whose messageId was written lately is acked without being
 * written again.
 */
@Injectable()
export class LogQueueSubscriber implements BeforeApplicationShutdown {
  private readonly rejected: Record<string, number> = {};
  private readonly duplicates: Record<string, number> = {};
  /** Message ids whose write is in progress (a redelivered copy can arrive in the same batch). */
  private readonly writing = new Set<string>();
  private readonly written = new RecentIds(100_000);
  private lastRejectionLoggedAt = 0;
  private readonly subscriptions: Subscription[] = [];
  private settler: ChannelSettler | undefined;
  private consumers: { channel: Channel; consumerTag: string }[] = [];
  private stopping = false;

  private readonly recordsWritten;

  constructor(
    private readonly amqp: AmqpConnection,
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
    const subscription = { queue, file, onWritten };
    this.subscriptions.push(subscription);
    // Runs again on every new channel (after a lost connection), after the topology's own set-up.
    this.amqp.managedChannel
      .addSetup((channel: Channel) => this.consume(channel, subscription))
      .catch((error: Error) => logger.error(`could not consume ${queue}: ${error.message}`));
  }

  /**
   * Per queue, since start: deliveries refused as not being a log.record.v1, and duplicates skipped;
   * and the deliveries in hand now (received, not yet acked or nacked: a batch being written).
   */
  counts(): { rejected: Record<string, number>; duplicates: Record<string, number>; inHand: number } {
    return {
      rejected: { ...this.rejected },
      duplicates: { ...this.duplicates },
      inHand: this.settler?.unsettled ?? 0,
    };
  }

  /** Stops consuming, writes what it holds and acks it, before the connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const consumers = this.consumers.splice(0);
    await Promise.all(
      consumers.map(({ channel, consumerTag }) => channel.cancel(consumerTag).catch(() => undefined)),
    );
    await this.appender.flush().catch(() => undefined);
    this.settler?.flush();
  }

  private async consume(channel: Channel, { queue, file, onWritten }: Subscription): Promise<void> {
    if (this.stopping) return;
    // The topology is set up in parallel on a fresh broker, and a mere existence check can lose that
    // race (404, channel closed): a service that declares the topology declares its queue itself.
    const definition = TOPOLOGY.queues.find((candidate) => candidate.name === queue);
    if (this.options.declareQueues && definition) {
      await channel.assertQueue(queue, { durable: definition.durable, arguments: definition.arguments });
    } else {
      await channel.checkQueue(queue);
    }
    if (this.settler?.channel !== channel) this.settler = new ChannelSettler(channel);
    const settler = this.settler;
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message) this.receive(settler, queue, file, message, onWritten);
    });
    this.consumers = this.consumers.filter((consumer) => consumer.channel === channel);
    this.consumers.push({ channel, consumerTag });
    logger.log(`consuming ${queue} into ${file}`);
  }

  private receive(
    settler: ChannelSettler,
    queue: string,
    file: LogFileName,
    message: ConsumeMessage,
    onWritten: (record: LogRecordV1) => void,
  ): void {
    const delivery = settler.track(message);
    const messageId = message.properties.messageId as string | undefined;
    const writtenId = messageId ? `${queue} ${messageId}` : undefined;
    // A copy already written, or being written in this same batch, makes this one a duplicate.
    if (writtenId && (this.written.has(writtenId) || this.writing.has(writtenId))) {
      this.duplicates[queue] = (this.duplicates[queue] ?? 0) + 1;
      settler.settle(delivery, 'ack');
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
        setTimeout(() => settler.settle(delivery, 'requeue'), this.options.writeRetryDelayMs);
        return;
      }
      if (writtenId) this.written.add(writtenId);
      try {
        this.recordsWritten?.inc({ queue, outcome: parsed.ok ? 'record' : 'rejected' });
        if (parsed.ok) onWritten(parsed.record);
        else this.noteRejected(queue, parsed.reason);
      } finally {
        settler.settle(delivery, 'ack');
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
