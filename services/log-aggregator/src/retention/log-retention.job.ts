import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { utcDateOf } from '../logs/log-record';

const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Removes the archived log files older than RETENTION_DAYS: the folders `LOG_DIR/<yyyy-mm-dd>/` of the
 * days that ended before the cutoff. Records are filed by their UTC date, so every record in such a
 * folder is older than the limit; the cutoff's own day stays until the next run after it ends.
 */
export class LogRetentionJob extends RetentionJob {
  constructor(
    private readonly logDir: string,
    retention: RetentionOptions,
  ) {
    super(retention);
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    const cutoffDay = utcDateOf(cutoff);
    const folders = await readdir(this.logDir, { withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      },
    );
    let days = 0;
    let files = 0;
    for (const folder of folders) {
      if (!folder.isDirectory() || !DAY_FOLDER.test(folder.name) || folder.name >= cutoffDay) continue;
      const path = join(this.logDir, folder.name);
      files += (await readdir(path)).length;
      await rm(path, { recursive: true, force: true });
      days++;
    }
    return { 'archived log files': files, 'days of logs': days };
  }
}
