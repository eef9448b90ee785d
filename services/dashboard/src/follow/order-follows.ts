import { HttpStatus, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { connectToBroker } from '@shop/broker';
import { Exchanges, followBindingOf, LogHeaders, LogRecordV1, validateMessage } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { DASHBOARD_CONFIG, type DashboardConfig } from '../config/dashboard.config';

/** Follows open at once: per operator session (all Bearer callers count as one), and in all. */
export const FOLLOW_LIMITS = { perSession: 3, total: 20 } as const;

/** Records of one order read from the log-aggregator when a follow starts: its journey so far. */
const EARLIER_RECORDS = 200;

export interface FollowListener {
  /** The follow's queue is bound and consumed (again, after a reconnect: a new queue). */
  onQueue(queue: string): void;
  /** One record about the order; `earlier` when it came from the log-aggregator's memory, not live. */
  onRecord(record: LogRecordV1, earlier: boolean): void;
}

export interface Follow {
  /** Deletes the queue (its consumer goes with the channel) and frees the follow's place. */
  close(): Promise<void>;
}

/**
 * "Follow an order": each follow is a server-named, exclusive, auto-delete queue bound to the headers
 * exchange `logs.follow` with `x-match: all` on `order-id`, so it receives that order's records from
 * every service as they are published, and nothing else. Its channel is its own on one shared
 * connection: closing it cancels the consumer, and RabbitMQ deletes the auto-delete queue with it (the
 * connection's end deletes every exclusive one). A follow first sends what the log-aggregator still
 * holds about the order (GET /logs?orderId=), read once after the queue is bound, so nothing falls in
 * between; a record both there and live is sent once.
 */
@Injectable()
export class OrderFollows implements OnApplicationShutdown {
  private readonly logger = new Logger(OrderFollows.name);
  private manager: AmqpConnectionManager | undefined;
  private readonly bySession = new Map<string, number>();
  private openCount = 0;

  constructor(@Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig) {}

  /** Follows open now. */
  get count(): number {
    return this.openCount;
  }

  /** Starts following `orderId` for `session`; 429 TOO_MANY_FOLLOWS beyond FOLLOW_LIMITS. */
  follow(orderId: string, session: string, listener: FollowListener): Follow {
    const ofSession = this.bySession.get(session) ?? 0;
    if (ofSession >= FOLLOW_LIMITS.perSession || this.openCount >= FOLLOW_LIMITS.total) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'TOO_MANY_FOLLOWS',
        ofSession >= FOLLOW_LIMITS.perSession
          ? `This session already follows ${ofSession} orders: close one first.`
          : `${this.openCount} orders are followed already: try again once one is closed.`,
      );
    }
    this.bySession.set(session, ofSession + 1);
    this.openCount++;
    const sent = new Set<string>();
    const deliver = (record: LogRecordV1, earlier: boolean) => {
      const key = `${record.time}\u0000${record.service}\u0000${record.message}`;
      if (sent.has(key) || record.orderId !== orderId) return;
      if (sent.size < 10_000) sent.add(key);
      listener.onRecord(record, earlier);
    };
    let readEarlier = false;
    const channel: ChannelWrapper = this.connection().createChannel({
      name: `follow ${orderId}`,
      confirm: false,
      setup: async (raw: Channel) => {
        const { queue } = await raw.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        await raw.bindQueue(queue, Exchanges.logsFollow, '', followBindingOf(LogHeaders.orderId, orderId));
        await raw.consume(
          queue,
          (message) => {
            if (!message) return;
            const result = validateMessage(LogRecordV1, message.content);
            if (result.ok) deliver(result.message, false);
          },
          { noAck: true, exclusive: true },
        );
        listener.onQueue(queue);
        if (readEarlier) return;
        readEarlier = true;
        for (const record of await this.earlierRecords(orderId)) deliver(record, true);
      },
    });
    channel.on('error', (error: Error) => this.logger.warn(`follow of order ${orderId}: ${error.message}`));
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          this.openCount--;
          const left = (this.bySession.get(session) ?? 1) - 1;
          if (left > 0) this.bySession.set(session, left);
          else this.bySession.delete(session);
          await channel.close().catch(() => undefined);
        })();
        return closing;
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.manager?.close().catch(() => undefined);
  }

  private connection(): AmqpConnectionManager {
    this.manager ??= connectToBroker(this.config.RABBITMQ_URL, 'dashboard follows');
    return this.manager;
  }

  /** What the log-aggregator still holds about the order, oldest first; nothing when it cannot say. */
  private async earlierRecords(orderId: string): Promise<LogRecordV1[]> {
    const target = this.config.DASHBOARD_TARGETS.find((t) => t.service === 'log-aggregator');
    if (!target) return [];
    try {
      const query = new URLSearchParams({ orderId, limit: String(EARLIER_RECORDS) });
      const response = await fetch(`${target.url}/logs?${query}`, {
        headers: { authorization: `Bearer ${this.config.OPS_TOKEN}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (!response.ok) return [];
      const { records } = (await response.json()) as { records: unknown[] };
      return records
        .flatMap((record) => {
          const parsed = LogRecordV1.safeParse(record);
          return parsed.success ? [parsed.data] : [];
        })
        .reverse();
    } catch {
      return [];
    }
  }
}
