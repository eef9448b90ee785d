import { Inject, Injectable } from '@nestjs/common';
import { inTransaction, PG_POOL } from '@shop/db';
import type { Pool } from 'pg';

export type ReportState = 'missing-order' | 'already-reported' | 'to-do';

export interface ReportRecord {
  orderId: string;
  messageId: string;
  fileName: string;
  bytes: number;
  sha256: string;
}

/**
 * The order_reports row that makes reporting idempotent, and the order's status. Plain SQL on the
 * shared pool: this is the worker's hot path, and a Prisma interactive transaction cost about 1.7 ms of
 * CPU per report (bench:workers, report phase).
 */
@Injectable()
export class ReportStore {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** One round trip: does the order exist, and does it have its report already? */
  async stateOf(orderId: string): Promise<ReportState> {
    const { rows } = await this.pool.query<{ reported: boolean }>(
      `SELECT r.order_id IS NOT NULL AS reported
         FROM orders o LEFT JOIN order_reports r ON r.order_id = o.id
        WHERE o.id = $1::uuid`,
      [orderId],
    );
    if (rows.length === 0) return 'missing-order';
    return rows[0].reported ? 'already-reported' : 'to-do';
  }

  /**
   * Records the report and runs `writeFile` as one unit, so exactly one delivery writes an order's PDF
   * however many copies of its message are handled at once (the outbox publishes at least once, and a
   * broker that comes back redelivers what it had handed out):
   *
   * - the INSERT takes the order's key in order_reports; a concurrent copy's INSERT waits on that key
   *   until this transaction ends, then finds the row and writes nothing ('already-reported');
   * - the file is written while the key is held, and the transaction commits only after it is on
   *   disk, so a recorded report always has its file. If writing fails, or the worker dies first,
   *   the row is rolled back and the next delivery writes the file.
   */
  async recordWhileWriting(
    report: ReportRecord,
    writeFile: () => Promise<void>,
  ): Promise<'written' | 'already-reported'> {
    return inTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO order_reports (order_id, message_id, file_name, bytes, sha256)
         VALUES ($1::uuid, $2::uuid, $3, $4, $5)
         ON CONFLICT (order_id) DO NOTHING`,
        [report.orderId, report.messageId, report.fileName, report.bytes, report.sha256],
      );
      if (inserted.rowCount === 0) return 'already-reported';
      await writeFile();
      await client.query(
        // clock_timestamp(): the file is on disk now; now() is when this transaction began.
        `UPDATE orders
            SET reported_at = clock_timestamp(), updated_at = clock_timestamp(),
                status = CASE WHEN notified_at IS NOT NULL THEN 'completed' ELSE 'reported' END::order_status
          WHERE id = $1::uuid`,
        [report.orderId],
      );
      return 'written';
    });
  }
}
