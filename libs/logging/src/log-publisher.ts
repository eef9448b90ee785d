import { Exchanges, logRoutingKeyOf, MessageTypes } from '@shop/contracts';
import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { correlationContext } from './correlation-context';
import type { JsonLogger, LogRecord, LogSink } from './json-logger';
import { LogBuffer } from './log-buffer';

export interface LogPublisherOptions {
  /** amqp:// URL, vhost included: the service's RABBITMQ_URL. */
  url: string;
  /** AMQP appId of every record and the name of the connection in the management UI. */
  service: string;
  /** Declare the `logs` exchange on connect (needs configure rights); otherwise only check it exists. */
  declareExchange?: boolean;
  /** Records held while the broker is unreachable, in flight included (default 10,000). */
  bufferSize?: number;
  /** Records published before waiting for their confirms (default 500). */
  batchSize?: number;
  /** Longest wait between two connection attempts (default 5 s; it starts at 100 ms and doubles). */
  maxReconnectDelayMs?: number;
  /** How long `close()` may spend publishing what is left (default 3 s). */
  closeTimeoutMs?: number;
  /**
   * How the publisher reports its own trouble (broker lost, records dropped). attachLogPublisher sends
   * it through the logger; without it the publisher builds and queues the record itself.
   */
  notify?: (message: string) => void;
}

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
 * While the broker is unreachable it reconnects with backoff; once back, it sends what waited, then
 * one warning with the number of records dropped meanwhile. Delivery is at least once.
 */
export class LogPublisher implements LogSink {
  private readonly buffer: LogBuffer<QueuedRecord>;
  private readonly batchSize: number;
  private connection: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private connecting = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;
  private outageReported = false;
  private pumping = false;
  private pumpScheduled = false;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private publishedCount = 0;

  constructor(private readonly options: LogPublisherOptions) {
    this.buffer = new LogBuffer(options.bufferSize ?? 10_000);
    this.batchSize = options.batchSize ?? 500;
    this.outsideAnyRequest(() => this.connect());
  }

  /** Queues one record; returns at once. `json` is the body (the logger's stdout line). */
  publish(record: LogRecord, json: string = JSON.stringify(record)): void {
    if (this.stopped) return;
    if (this.buffer.push({ record, json, messageId: randomUUID() })) this.schedulePump();
  }

  /** For health pages and tests. */
  get stats(): { connected: boolean; waiting: number; dropped: number; published: number } {
    return {
      connected: this.channel !== undefined,
      waiting: this.buffer.size,
      dropped: this.buffer.dropped,
      published: this.publishedCount,
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
    if (this.reconnectTimer) {
      // Try now rather than sit out the backoff.
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.outsideAnyRequest(() => this.connect());
    }
    const idle = () => this.buffer.size === 0 && this.buffer.dropped === 0 && !this.pumping;
    while (!idle() && Date.now() < deadline) {
      this.schedulePump();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const { connection } = this;
    this.connection = undefined;
    this.channel = undefined;
    // Bounded too: a broker that blocked this connection (memory alarm) may never answer the close.
    await Promise.race([
      connection?.close().catch(() => undefined),
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

  private connect(): void {
    if (this.stopped || this.connecting || this.connection) return;
    this.connecting = true;
    this.open().then(
      ({ connection, channel }) => {
        this.connecting = false;
        if (this.stopped) {
          void connection.close().catch(() => undefined);
          return;
        }
        this.connection = connection;
        this.channel = channel;
        this.failedAttempts = 0;
        this.outageReported = false;
        this.schedulePump();
      },
      (error: Error) => {
        this.connecting = false;
        this.reportOutage(error);
        this.scheduleReconnect();
      },
    );
  }

  private async open(): Promise<{ connection: ChannelModel; channel: ConfirmChannel }> {
    const connection = await amqp.connect(withHeartbeat(this.options.url), {
      clientProperties: { connection_name: `${this.options.service} logs` },
      timeout: 5_000,
    });
    // 'error' is always followed by 'close', which is where the loss is handled.
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      if (this.options.declareExchange) {
        await channel.assertExchange(Exchanges.logs, 'topic', { durable: true });
      } else {
        // Passive: needs no configure right, and avoids publishing into a 404 that closes the channel.
        await channel.checkExchange(Exchanges.logs);
      }
      connection.on('close', (error?: Error) => this.lost(connection, error));
      channel.on('close', () => this.lost(connection, new Error('log channel closed')));
      return { connection, channel };
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  private lost(connection: ChannelModel, error?: Error): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.channel = undefined;
    void connection.close().catch(() => undefined);
    if (this.stopped) return;
    this.reportOutage(error ?? new Error('connection closed'));
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.failedAttempts += 1;
    const ceiling = Math.min(this.options.maxReconnectDelayMs ?? 5_000, 100 * 2 ** (this.failedAttempts - 1));
    // Jitter, so a fleet of services does not reconnect in step after a broker restart.
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
    this.reconnectTimer.unref();
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
    if (this.pumpScheduled || this.pumping || !this.channel) return;
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
        const { channel, connection } = this;
        if (!channel || !connection) return;
        if (this.buffer.waiting === 0) {
          const dropped = this.buffer.takeDropped();
          if (dropped === 0) return;
          this.notify(`${dropped} log records were dropped while the broker was unreachable`);
          continue;
        }
        const batch = this.buffer.take(this.batchSize);
        const failed = await this.send(channel, batch, socketOf(connection));
        this.buffer.settle(batch.length, failed);
        this.publishedCount += batch.length - failed.length;
        // A nack or a closed channel: start over on a fresh connection, failed records first.
        if (failed.length > 0) this.lost(connection, new Error('log records not confirmed'));
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Publishes a batch and resolves, once every record is confirmed or failed, with the failed ones. */
  private send(channel: ConfirmChannel, batch: QueuedRecord[], socket?: Corkable): Promise<QueuedRecord[]> {
    // amqplib writes each message to the socket on its own, from a setImmediate that the publishes
    // schedule through a nextTick; corked until the immediate after it, the batch leaves in one write.
    socket?.cork();
    return new Promise((resolve) => {
      const settled = new Array<boolean>(batch.length).fill(false);
      const failed = new Set<number>();
      let unsettled = batch.length;
      const settle = (index: number, ok: boolean) => {
        if (settled[index]) return;
        settled[index] = true;
        if (!ok) failed.add(index);
        unsettled -= 1;
        if (unsettled === 0) resolve(batch.filter((_, i) => failed.has(i)));
      };
      let channelBroken = false;
      batch.forEach((queued, index) => {
        if (channelBroken) return settle(index, false);
        const { record } = queued;
        try {
          channel.publish(
            Exchanges.logs,
            logRoutingKeyOf(record.service, record.level),
            Buffer.from(queued.json),
            this.propertiesOf(queued),
            (error) => settle(index, error === null || error === undefined),
          );
        } catch {
          // amqplib throws once the channel is closed; its confirm callback would never run.
          channelBroken = true;
          settle(index, false);
        }
      });
      process.nextTick(() => setImmediate(() => socket?.uncork()));
    });
  }

  private propertiesOf({ record, messageId }: QueuedRecord): Options.Publish {
    return {
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      type: MessageTypes.logRecordV1,
      appId: this.options.service,
      messageId,
      timestamp: Math.floor(Date.parse(record.time) / 1000),
      ...(record.correlationId && { correlationId: record.correlationId }),
    };
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

/** amqplib sends no heartbeats unless asked: without them a silently dead peer is noticed only by TCP. */
function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', '10');
  return parsed.toString();
}
