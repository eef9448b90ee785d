import { Queues } from '@shop/contracts';
import { deleteRowsOlderThan } from '@shop/db';
import { removeParkedOlderThan } from '@shop/messaging';
import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import type { Channel } from 'amqplib';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from 'pg';

/**
 * Removes what report-worker keeps about people once it is older than RETENTION_DAYS: the order_reports
 * rows, the PDFs (each names its customer) and the parked messages of order_report.dlq (an order.placed
 * each). A PDF goes by its file's time, so one whose row was never recorded (a crash between the two)
 * goes too. Asked for again (GET /orders/:id/report sends the order, which order-api keeps), a removed
 * PDF is rendered anew and kept for another RETENTION_DAYS.
 */
export class ReportRetentionJob extends RetentionJob {
  constructor(
    private readonly pool: Pool,
    private readonly reportsDir: string,
    /** A channel of its own for the dead-letter queue, closed after each run. */
    private readonly openChannel: () => Promise<Channel>,
    retention: RetentionOptions,
  ) {
    super(retention);
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    const rows = await deleteRowsOlderThan(
      this.pool,
      { table: 'order_reports', key: 'order_id', timeColumn: 'created_at' },
      cutoff,
    );
    const files = await this.removeFiles(cutoff);
    const parked = await removeParkedOlderThan(await this.openChannel(), Queues.orderReport, cutoff);
    return { 'report rows': rows, PDFs: files, 'parked messages': parked };
  }

  /** The PDFs, and the temporary files of writes that never finished, last written before `cutoff`. */
  private async removeFiles(cutoff: Date): Promise<number> {
    const names = await readdir(this.reportsDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    let removed = 0;
    for (const name of names) {
      const isPdf = name.endsWith('.pdf');
      if (!isPdf && !(name.startsWith('.') && name.endsWith('.tmp'))) continue;
      const path = join(this.reportsDir, name);
      const modified = await stat(path).then(
        (info) => info.mtime,
        () => undefined,
      );
      if (modified === undefined || modified >= cutoff) continue;
      await rm(path, { force: true });
      if (isPdf) removed++;
    }
    return removed;
  }
}
