import { Inject, Injectable } from '@nestjs/common';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  inTransaction,
  isStatementError,
  type ItemResult,
  PG_POOL,
  queryKeepingConnection,
} from '@shop/db';
import type { Pool } from 'pg';

export type ReportState = 'already-reported' | 'to-do';
export type RecordOutcome = 'written' | 'already-reported';

export interface ReportRecord {
  orderId: string;
  messageId: string;
  fileName: string;
  bytes: number;
  sha256: string;
}

interface PendingReport {
  report: ReportRecord;
  writeFile: () => Promise<void>;
}

/** Most orders one lookup or one recording transaction takes. */
const MAX_ORDERS_PER_BATCH = 200;

/**
 * The order_reports row that makes reporting idempotent. Plain SQL on the shared pool: this is the
 * worker's hot path. (The order's status is order-api's: it follows the order.reported.v1 events.)
 *
 * Both calls are group commits: the messages the worker holds at once (its prefetch) share one lookup
 * and one recording transaction instead of a round trip or a transaction each. A batch that
 * PostgreSQL refuses is run again one order at a time, so one bad order fails only its own message.
 * No waiting bound: the prefetch bounds how many messages can wait.
 */
@Injectable()
export class ReportStore {
  private readonly lookups = new GroupCommit<string, ReportState>(
    eachAloneIfBatchFails((orderIds) => this.statesOf(orderIds), isStatementError),
    { maxBatchSize: MAX_ORDERS_PER_BATCH, maxWaiting: Number.POSITIVE_INFINITY },
  );
  private readonly recordings = new GroupCommit<PendingReport, RecordOutcome>(
    eachAloneIfBatchFails((pending) => this.recordBatch(pending), isStatementError),
    { maxBatchSize: MAX_ORDERS_PER_BATCH, maxWaiting: Number.POSITIVE_INFINITY },
  );

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** When the order's report was recorded; null while it is not. */
  async reportedAt(orderId: string): Promise<Date | null> {
    const { rows } = await queryKeepingConnection<{ created_at: Date }>(this.pool, {
      text: 'SELECT created_at FROM order_reports WHERE order_id = $1::uuid',
      values: [orderId],
    });
    return rows[0]?.created_at ?? null;
  }

  /** Does the order have its report already? */
  stateOf(orderId: string): Promise<ReportState> {
    return this.lookups.submit(orderId);
  }

  /**
   * Records the report and runs `writeFile` as one unit, so exactly one delivery writes an order's PDF
   * however many copies of its message are handled at once (the outbox publishes at least once, and a
   * broker that comes back redelivers what it had handed out):
   *
   * - the INSERT takes the order's key in order_reports; a concurrent copy's INSERT (in another
   *   worker's transaction) waits on that key until this transaction ends, then finds the row and
   *   writes nothing ('already-reported'); copies inside one batch share the first copy's outcome;
   * - the file is written while the key is held, and the transaction commits only after it is on
   *   disk, so a recorded report always has its file. If writing fails, that order's row is taken out
   *   again before the commit; if the worker dies first, everything is rolled back, and the next
   *   delivery writes the file.
   */
  recordWhileWriting(report: ReportRecord, writeFile: () => Promise<void>): Promise<RecordOutcome> {
    return this.recordings.submit({ report, writeFile });
  }

  private async statesOf(orderIds: string[]): Promise<ItemResult<ReportState>[]> {
    const { rows } = await queryKeepingConnection<{ order_id: string }>(this.pool, {
      name: 'reported-orders-v1',
      text: 'SELECT order_id::text FROM order_reports WHERE order_id = ANY($1::uuid[])',
      values: [orderIds],
    });
    const reported = new Set(rows.map((row) => row.order_id));
    return orderIds.map((orderId) => ({
      ok: true,
      value: reported.has(keyOf(orderId)) ? 'already-reported' : 'to-do',
    }));
  }

  private async recordBatch(pending: PendingReport[]): Promise<ItemResult<RecordOutcome>[]> {
    // The first copy of each order in the batch does the work; later copies take its outcome.
    const firstCopies = new Map<string, PendingReport>();
    for (const item of pending) {
      const key = keyOf(item.report.orderId);
      if (!firstCopies.has(key)) firstCopies.set(key, item);
    }
    // In key order, so two workers' batches that share orders take their keys in the same order and
    // cannot deadlock.
    const leaders = [...firstCopies.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, item]) => item);

    const outcomes = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ order_id: string }>({
        name: 'record-reports-v1',
        text: `INSERT INTO order_reports (order_id, message_id, file_name, bytes, sha256)
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[])
               ON CONFLICT (order_id) DO NOTHING
               RETURNING order_id::text`,
        values: [
          leaders.map(({ report }) => report.orderId),
          leaders.map(({ report }) => report.messageId),
          leaders.map(({ report }) => report.fileName),
          leaders.map(({ report }) => report.bytes),
          leaders.map(({ report }) => report.sha256),
        ],
      });
      const inserted = new Set(rows.map((row) => row.order_id));
      const toWrite = leaders.filter(({ report }) => inserted.has(keyOf(report.orderId)));
      const writes = await Promise.allSettled(toWrite.map((item) => item.writeFile()));

      const outcomes = new Map<string, ItemResult<RecordOutcome>>();
      for (const key of firstCopies.keys()) outcomes.set(key, { ok: true, value: 'already-reported' });
      const failed: string[] = [];
      writes.forEach((write, i) => {
        const key = keyOf(toWrite[i].report.orderId);
        if (write.status === 'fulfilled') {
          outcomes.set(key, { ok: true, value: 'written' });
        } else {
          failed.push(key);
          outcomes.set(key, { ok: false, error: write.reason });
        }
      });
      if (failed.length > 0) {
        await client.query('DELETE FROM order_reports WHERE order_id = ANY($1::uuid[])', [failed]);
      }
      return outcomes;
    });

    return pending.map((item) => {
      const key = keyOf(item.report.orderId);
      const outcome = outcomes.get(key)!;
      if (firstCopies.get(key) === item || !outcome.ok) return outcome;
      return { ok: true, value: 'already-reported' };
    });
  }
}

/** PostgreSQL prints uuids in lower case; a message may carry one in upper case. */
const keyOf = (orderId: string) => orderId.toLowerCase();
