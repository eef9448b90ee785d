import {
  boundedLogRecord,
  Exchanges,
  jsonMessageProperties,
  LogHeaders,
  logRoutingKeyOf,
  MAX_MESSAGE_BYTES,
  MessageTypes,
} from '@shop/contracts';
import { brokerUserOf, connectToBroker, isNack, NackStreak } from '@shop/broker';
import type { ChannelWrapper, AmqpConnectionManager } from 'amqp-connection-manager';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { correlationContext } from './correlation-context';
import type { JsonLogger, LogRecord, LogSink } from './json-logger';
import { LogBuffer } from './log-buffer';

export interface LogPublisherOptions {
  /** amqp:// URL, vhost included, or a cluster's nodes separated by commas: the service's RABBITMQ_URL. */
  url: string;
  /** AMQP appId of every record and the name of the connection in the management UI. */
  service: string;
  /** Declare the `logs` exchange on connect (needs configure rights); otherwise only check it exists. */
  declareExchange?: boolean;
  /** Records held while the broker is unreachable, in flight included (default 10,000). */
  bufferSize?: number;
  /** Records published before waiting for their confirms (default 500). */
  batchSize?: number;
  /** Wait between two connection attempts, each to the next node (default 1 s, as the services' own). */
  reconnectDelayMs?: number;
  /** How long `close()` may spend publishing what is left (default 3 s). */
  closeTimeoutMs?: number;
  /**
   * How the publisher reports its own trouble (broker lost, records dropped). attachLogPublisher sends
   * it through the logger; without it the publisher builds and queues the record itself.
   */
  notify?: (message: string) => void;
}

/** At most one warning about refused records per this long: the warning is a record too. */
const REFUSAL_REPORT_INTERVAL_MS = 10_000;

interface QueuedRecord {
  record: LogRecord;
  json: string;
  /** Fixed when queued, so a record sent twice (after a lost confirm) can be recognised. */
  messageId: string;
}

/**
 * Publishes log records to the `logs` topic exchange (key `<service>.<level>`) in the background, on
 * its own connection and confirm channel: logging works before Nest's messaging module exists and
 * never competes with business publishes. `publish()` only queues (bounded, see LogBuffer), so a
 * caller never waits; batches go out with many records in flight and are settled by their confirms.
 * The connection is @shop/broker's, as everything else's: it fails over between a cluster's nodes and
 * reconnects by itself; a record whose confirm a lost connection swallowed goes again on the next.
 * Once back, it sends what waited, then one warning with the number of records dropped meanwhile.
 * Delivery is at least once. Every record carries the connection's user as `user_id`; its free text is
 * cut to LOG_RECORD_LIMITS first, so it is always a valid log.record.v1. A record the broker refuses (a
 * log queue at its length limit nacks it) or one still above MAX_MESSAGE_BYTES is dropped and counted
 * (`stats.refused`), and reported at most every 10 s. Its headers (logHeadersOf) are what the headers
 * exchange `logs.follow` routes on, so a follower can take one order's records from every service.
 */
export class LogPublisher implements LogSink {
  private readonly buffer: LogBuffer<QueuedRecord>;
  private readonly batchSize: number;
  private manager!: AmqpConnectionManager;
  private channel!: ChannelWrapper;
  /** The current channel's confirms: one nacked long enough is replaced (see NackStreak). */
  private nacks = new NackStreak();
  /** The channel is set up (exchange checked) on a live connection. */
  private ready = false;
  private setupRetry: NodeJS.Timeout | undefined;
  private outageReported = false;
  private pumping = false;
  private pumpScheduled = false;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private publishedCount = 0;
  private renewalCount = 0;
  private refusedCount = 0;
  private refusedSinceReport = 0;
  private lastRefusalReport = 0;
  private readonly userId: string;

  constructor(private readonly options: LogPublisherOptions) {
    this.userId = brokerUserOf(options.url);
    this.buffer = new LogBuffer(options.bufferSize ?? 10_000);
    this.batchSize = options.batchSize ?? 500;
    this.outsideAnyRequest(() => this.connect());
  }

  private connect(): void {
    const reconnectDelayMs = this.options.reconnectDelayMs ?? 1_000;
    this.manager = connectToBroker(this.options.url, `${this.options.service} logs`, {
      reconnectTimeInSeconds: reconnectDelayMs / 1000,
    });
    this.manager.on('connectFailed', ({ err }: { err: Error }) => this.reportOutage(err));
    this.manager.on('disconnect', ({ err }: { err?: Error }) => {
      this.ready = false;
      if (!this.stopped) this.reportOutage(err ?? new Error('connection closed'));
    });
    this.channel = this.openChannel(reconnectDelayMs);
  }

  private openChannel(reconnectDelayMs: number): ChannelWrapper {
    this.nacks = new NackStreak();
    const channel = this.manager.createChannel({
      confirm: true,
      json: false,
      setup: (confirmChannel: ConfirmChannel) => this.setUp(confirmChannel),
    });
    channel.on('connect', () => {
      this.ready = true;
      this.outageReported = false;
      this.schedulePump();
    });
    // The set-up failed (the exchange is missing): the channel stays down until the next connection,
    // so make one after the usual wait.
    channel.on('error', (error: Error) => {
      this.ready = false;
      if (this.stopped) return;
      this.reportOutage(error);
      clearTimeout(this.setupRetry);
      this.setupRetry = setTimeout(() => {
        if (!this.stopped && !this.ready) this.manager.reconnect();
      }, reconnectDelayMs);
      this.setupRetry.unref();
    });
    return channel;
  }

  /** A channel the broker has nacked everything on for a while is replaced by a new one (see NackStreak). */
  private renewChannel(): void {
    const old = this.channel;
    this.ready = false; // until the new channel is set up
    this.channel = this.openChannel(this.options.reconnectDelayMs ?? 1_000);
    this.renewalCount += 1;
    void old.close().catch(() => undefined);
    this.notify(
      'the broker nacked every log record on this channel for a while; publishing on a new channel',
    );
  }

  private async setUp(channel: ConfirmChannel): Promise<void> {
    if (this.options.declareExchange) {
      await channel.assertExchange(Exchanges.logs, 'topic', { durable: true });
    } else {
      // Passive: needs no configure right, and avoids publishing into a 404 that closes the channel.
      await channel.checkExchange(Exchanges.logs);
    }
  }

  /** Queues one record; returns at once. `json` is the body (the logger's stdout line). */
  publish(record: LogRecord, json: string = JSON.stringify(record)): void {
    if (this.stopped) return;
    const bounded = boundedLogRecord(record);
    const body = bounded === record ? json : JSON.stringify(bounded);
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      this.refuse(1);
      return;
    }
    if (this.buffer.push({ record: bounded, json: body, messageId: randomUUID() })) this.schedulePump();
  }

  /** Records dropped for good: refused by the broker, or too large to send. */
  private refuse(count: number): void {
    this.refusedCount += count;
    this.refusedSinceReport += count;
  }

  /** For health pages and tests. */
  get stats(): {
    connected: boolean;
    waiting: number;
    dropped: number;
    refused: number;
    published: number;
    channelRenewals: number;
  } {
    return {
      connected: this.ready,
      waiting: this.buffer.size,
      dropped: this.buffer.dropped,
      refused: this.refusedCount,
      published: this.publishedCount,
      channelRenewals: this.renewalCount,
    };
  }

  /**
   * Publishes what is still queued (giving up after `timeoutMs`), then closes the connection. Records
   * logged afterwards go to stdout only.
   */
  close(timeoutMs = this.options.closeTimeoutMs ?? 3_000): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const idle = () => this.buffer.size === 0 && this.buffer.dropped === 0 && !this.pumping;
    while (!idle() && Date.now() < deadline) {
      this.schedulePump();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.stopped = true;
    this.ready = false;
    clearTimeout(this.setupRetry);
    // Bounded too: a broker that blocked this connection (memory alarm) may never answer the close.
    await Promise.race([
      this.channel
        .close()
        .catch(() => undefined)
        .then(() => this.manager.close())
        .catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
    if (!idle()) {
      const left = this.buffer.size;
      const dropped = this.buffer.dropped;
      // The records themselves are on stdout; say what the archive will miss.
      process.stderr.write(
        `[${this.options.service}] log publisher closed with ${left} record(s) unpublished and ${dropped} dropped (broker unreachable)\n`,
      );
    }
  }

  private reportOutage(error: Error): void {
    if (this.outageReported) return;
    this.outageReported = true;
    this.notify(
      `broker unreachable for log records (${error.message}); up to ${this.buffer.capacity} wait in memory, newer ones are dropped and counted`,
    );
  }

  private notify(message: string): void {
    if (this.options.notify) {
      this.options.notify(message);
      return;
    }
    const record: LogRecord = {
      time: new Date().toISOString(),
      service: this.options.service,
      level: 'warn',
      context: LogPublisher.name,
      message,
    };
    this.buffer.pushBeyondCapacity({ record, json: JSON.stringify(record), messageId: randomUUID() });
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.pumping || !this.ready) return;
    this.pumpScheduled = true;
    // setImmediate: one batch for everything logged in this turn of the event loop.
    this.outsideAnyRequest(() =>
      setImmediate(() => {
        this.pumpScheduled = false;
        void this.pump();
      }),
    );
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (!this.ready || this.stopped) return;
        if (this.buffer.waiting === 0) {
          const dropped = this.buffer.takeDropped();
          if (dropped === 0) return;
          this.notify(`${dropped} log records were dropped while the broker was unreachable`);
          continue;
        }
        const batch = this.buffer.take(this.batchSize);
        const connection = this.manager.connection;
        const refused = await this.send(batch, connection && socketOf(connection));
        // The broker refused them (nack: a log queue is full): sending them again would only be refused
        // again and hold up newer records, so they are dropped and counted.
        this.buffer.settle(batch.length);
        this.publishedCount += batch.length - refused.length;
        this.refuse(refused.length);
        this.reportRefusals();
      }
    } finally {
      this.pumping = false;
    }
  }

  private reportRefusals(): void {
    const now = Date.now();
    if (this.refusedSinceReport === 0 || now - this.lastRefusalReport < REFUSAL_REPORT_INTERVAL_MS) return;
    const count = this.refusedSinceReport;
    this.refusedSinceReport = 0;
    this.lastRefusalReport = now;
    this.notify(
      `${count} log record(s) dropped: refused by the broker (a log queue at its length limit) or larger than ${MAX_MESSAGE_BYTES} bytes`,
    );
  }

  /**
   * Publishes a batch and resolves, once every record is confirmed or nacked, with the nacked ones.
   * A record in flight when the connection drops stays with the channel wrapper, which sends it again
   * on the next connection, so this may wait out an outage.
   */
  private async send(batch: QueuedRecord[], socket?: Corkable): Promise<QueuedRecord[]> {
    // amqplib writes each message to the socket on its own, from a setImmediate that the publishes
    // schedule through a nextTick; corked until the immediate after it, the batch leaves in one write.
    socket?.cork();
    const confirms = batch.map((queued) =>
      this.channel.publish(
        Exchanges.logs,
        logRoutingKeyOf(queued.record.service, queued.record.level),
        Buffer.from(queued.json),
        this.propertiesOf(queued),
      ),
    );
    process.nextTick(() => setImmediate(() => socket?.uncork()));
    const outcomes = await Promise.allSettled(confirms);
    const nacks = this.nacks;
    let renew = false;
    for (const outcome of outcomes) {
      // A timeout or a lost channel says nothing about the broker's answers: only acks and nacks count.
      if (outcome.status === 'fulfilled') nacks.record('ack');
      else if (isNack(outcome.reason)) renew = nacks.record('nack') || renew;
    }
    if (renew && nacks === this.nacks && !this.stopped) this.renewChannel();
    return batch.filter((_, i) => outcomes[i].status === 'rejected');
  }

  private propertiesOf({ record, messageId }: QueuedRecord): Options.Publish {
    return jsonMessageProperties({
      messageId,
      correlationId: record.correlationId,
      type: MessageTypes.logRecordV1,
      occurredAt: new Date(record.time),
      appId: this.options.service,
      userId: this.userId,
      headers: logHeadersOf(record),
    });
  }

  /** Runs outside any request's correlation context, so timers and sockets made here never carry one. */
  private outsideAnyRequest(work: () => void): void {
    correlationContext.exit(work);
  }
}

/**
 * Publishes everything `logger` logs to the `logs` exchange, reporting the publisher's own trouble
 * through the same logger. In main.ts: `attachLogPublisher(logger, { url: config.RABBITMQ_URL })`;
 * createServiceApp closes it (flushing) last on shutdown.
 */
export function attachLogPublisher(
  logger: JsonLogger,
  options: Omit<LogPublisherOptions, 'service' | 'notify'> & { service?: string },
): LogPublisher {
  const publisher = new LogPublisher({
    ...options,
    service: options.service ?? logger.service,
    notify: (message) => logger.warn(message, LogPublisher.name),
  });
  logger.attach(publisher);
  return publisher;
}

/**
 * What `logs.follow` routes on: `service` and `level` always, `order-id` and `correlation-id` when the
 * record has them (a binding that names one never matches a record without it).
 */
export function logHeadersOf(record: LogRecord): Record<string, string> {
  return {
    [LogHeaders.service]: record.service,
    [LogHeaders.level]: record.level,
    ...(record.orderId && { [LogHeaders.orderId]: record.orderId }),
    ...(record.correlationId && { [LogHeaders.correlationId]: record.correlationId }),
  };
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The socket under an amqplib connection (an internal), or nothing if it is not where expected. */
function socketOf(connection: ChannelModel): Corkable | undefined {
  const stream = (connection as unknown as { connection?: { stream?: Partial<Corkable> } }).connection
    ?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function'
    ? (stream as Corkable)
    : undefined;
}
