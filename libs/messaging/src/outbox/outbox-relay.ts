import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { OrderSteps } from '@shop/contracts';
import { logEntry, runWithCorrelationId } from '@shop/logging';
import type { Pool, PoolClient } from 'pg';
import { ConfirmedPublisher } from '../confirmed-publisher';
import { OUTBOX_RELAY_OPTIONS, OUTBOX_RELAY_POOL, type OutboxRelayOptions } from './outbox-relay.options';
import { outboxRecordFromRow, type OutboxRecord, type OutboxRow } from './outbox-record';

/** Longest wait between two publish attempts of one row. */
const MAX_RETRY_DELAY_SECONDS = 60;

/**
 * Moves committed outbox rows to RabbitMQ.
 *
 * - `relayCommitted()` is the fast path: right after the order's transaction commits, its rows are
 *   published (many in flight at once on the confirm channel) and marked published in batches.
 * - `sweep()` is the safety net, run on a timer: rows left unpublished (broker down, process crash,
 *   relay window full) are locked with `FOR UPDATE SKIP LOCKED`, so several API instances can sweep
 *   together without publishing a row twice, and failures are retried with exponential backoff.
 *
 * Delivery is at least once: a crash between confirm and marking republishes a row, which is why
 * consumers are idempotent on the message id.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  /** Fast-path rows published or being published by this process and not yet marked: the sweep leaves them alone. */
  private readonly pendingIds = new Set<string>();
  private confirmedIds: string[] = [];
  private marking: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopped = false;
  private lastPruneAt = 0;

  constructor(
    @Inject(OUTBOX_RELAY_POOL) private readonly pool: Pool,
    private readonly publisher: ConfirmedPublisher,
    @Inject(OUTBOX_RELAY_OPTIONS) private readonly options: OutboxRelayOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.sweepIntervalMs > 0) this.scheduleSweep(this.options.sweepIntervalMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    await this.sweeping;
    await this.marking;
  }

  /** Publishes rows that were just committed. Never throws: what fails here, the sweep retries. */
  relayCommitted(records: OutboxRecord[]): void {
    if (this.stopped || this.pendingIds.size + records.length > this.options.maxInFlight) return;
    const confirmed = records.map((record) => {
      this.pendingIds.add(record.id);
      return this.publishRecord(record).then(
        () => {
          this.markPublishedSoon(record.id);
          return true;
        },
        (error: Error) => {
          this.pendingIds.delete(record.id);
          this.logger.warn(
            `outbox ${record.id} not published yet (${error.message}); the sweep will retry it`,
          );
          return false;
        },
      );
    });
    void Promise.all(confirmed).then((done) => this.logPublished(records.filter((_, i) => done[i])));
  }

  /**
   * Publishes due rows older than the fast path's grace period, one batch per transaction.
   * Returns how many rows it published.
   */
  async sweep(): Promise<number> {
    await this.pruneOldRows();
    let total = 0;
    for (;;) {
      const { published, selected } = await this.sweepBatch();
      total += published;
      if (selected < this.options.sweepBatchSize || published === 0 || this.stopped) return total;
    }
  }

  /**
   * Publishing resolves on confirm; marking is batched: one UPDATE at a time, and the ids confirmed
   * while it runs go into the next one, so under load batches grow instead of queueing up.
   */
  private markPublishedSoon(id: string): void {
    this.confirmedIds.push(id);
    this.marking ??= this.markConfirmed();
  }

  private async markConfirmed(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.options.markBatchDelayMs));
    while (this.confirmedIds.length > 0) {
      const ids = this.confirmedIds;
      this.confirmedIds = [];
      try {
        await this.pool.query(
          'UPDATE outbox_messages SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[]) AND published_at IS NULL',
          [ids],
        );
      } catch (error) {
        // The messages are out; if marking fails the sweep publishes them again (consumers dedupe).
        this.logger.warn(`could not mark ${ids.length} outbox rows published: ${(error as Error).message}`);
      }
      for (const id of ids) this.pendingIds.delete(id);
    }
    this.marking = undefined;
  }

  private async sweepBatch(): Promise<{ selected: number; published: number }> {
    const client = await this.pool.connect();
    let released = false;
    const release = (error?: Error) => {
      if (!released) client.release(error);
      released = true;
    };
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow & { created_at: Date }>(
        `SELECT id, exchange, routing_key, message_type, payload, headers, created_at
           FROM outbox_messages
          WHERE published_at IS NULL
            AND next_attempt_at <= now()
            AND created_at <= now() - make_interval(secs => $1::float8 / 1000)
          ORDER BY next_attempt_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED`,
        [this.options.fastPathGraceMs, this.options.sweepBatchSize],
      );
      // Rows this process is still publishing or marking stay locked but untouched until the next round.
      const records = rows
        .map((row) => outboxRecordFromRow(row, row.created_at))
        .filter((record) => !this.pendingIds.has(record.id));
      const results = await Promise.allSettled(records.map((record) => this.publishRecord(record)));
      const published = records.filter((_, i) => results[i].status === 'fulfilled');
      const publishedIds = published.map((r) => r.id);
      const failures = records
        .map((record, i) => ({ record, result: results[i] }))
        .filter(
          (entry): entry is { record: OutboxRecord; result: PromiseRejectedResult } =>
            entry.result.status === 'rejected',
        );
      if (publishedIds.length > 0) {
        await client.query(
          'UPDATE outbox_messages SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::uuid[])',
          [publishedIds],
        );
      }
      await this.recordFailures(client, failures);
      await client.query('COMMIT');
      this.logPublished(published);
      if (records.length > 0) {
        this.logger.log(
          `sweep published ${publishedIds.length} of ${records.length} pending outbox messages`,
        );
      }
      return { selected: rows.length, published: publishedIds.length };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      release(error as Error);
      throw error;
    } finally {
      release();
    }
  }

  private async pruneOldRows(): Promise<void> {
    if (Date.now() - this.lastPruneAt < 60_000) return;
    this.lastPruneAt = Date.now();
    const { rowCount } = await this.pool.query(
      `DELETE FROM outbox_messages WHERE published_at < now() - make_interval(hours => $1::int)`,
      [this.options.retentionHours],
    );
    if (rowCount)
      this.logger.log(`pruned ${rowCount} outbox rows published over ${this.options.retentionHours} h ago`);
  }

  private async recordFailures(
    client: PoolClient,
    failures: { record: OutboxRecord; result: PromiseRejectedResult }[],
  ): Promise<void> {
    if (failures.length === 0) return;
    const lastError = String(
      (failures[0].result.reason as Error)?.message ?? failures[0].result.reason,
    ).slice(0, 1000);
    await client.query(
      `UPDATE outbox_messages
          SET attempts = attempts + 1,
              last_error = $2,
              -- 1 s, 2 s, 4 s ... capped (attempts is the value before this update)
              next_attempt_at = now() + make_interval(secs => LEAST($3::int, power(2, attempts)::int))
        WHERE id = ANY($1::uuid[])`,
      [failures.map((f) => f.record.id), lastError, MAX_RETRY_DELAY_SECONDS],
    );
    this.logger.warn(
      `${failures.length} outbox messages failed to publish (${lastError}); retrying with backoff`,
    );
  }

  private async publishRecord(record: OutboxRecord): Promise<void> {
    const { correlationId, ...headers } = record.headers;
    await this.publisher.publishEvent({
      exchange: record.exchange,
      routingKey: record.routingKey,
      messageId: record.id,
      correlationId,
      type: record.messageType,
      occurredAt: record.createdAt,
      data: record.data,
      headers,
    });
  }

  /**
   * One record per order and exchange for the rows confirmed together (an order's events usually go
   * together): its journey shows where they were published, without a record per row on the hot path.
   */
  private logPublished(records: readonly OutboxRecord[]): void {
    const byOrderAndExchange = new Map<string, OutboxRecord[]>();
    for (const record of records) {
      const orderId = record.headers['order-id'];
      if (!orderId) continue;
      const key = `${orderId}\n${record.exchange}`;
      const group = byOrderAndExchange.get(key);
      if (group) group.push(record);
      else byOrderAndExchange.set(key, [record]);
    }
    for (const group of byOrderAndExchange.values()) {
      const [{ exchange, headers }] = group;
      const orderId = headers['order-id'];
      const routingKey = group.map((record) => record.routingKey).join(', ');
      const types = group.map((record) => record.messageType).join(', ');
      const text = `order ${orderId}: ${types} published to ${exchange || '(default exchange)'} with key ${routingKey}`;
      runWithCorrelationId(headers.correlationId, () =>
        this.logger.log(logEntry(text, { orderId, step: OrderSteps.outboxPublished, exchange, routingKey })),
      );
    }
  }

  private scheduleSweep(delayMs: number): void {
    this.sweepTimer = setTimeout(() => {
      this.sweeping = this.sweep()
        .catch((error: Error) => this.logger.warn(`outbox sweep failed: ${error.message}`))
        .finally(() => {
          this.sweeping = undefined;
          if (!this.stopped) this.scheduleSweep(this.options.sweepIntervalMs);
        });
    }, delayMs);
    this.sweepTimer.unref();
  }
}
