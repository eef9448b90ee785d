import { LogRecordV1 } from '@shop/contracts';
import { open, type FileHandle } from 'node:fs/promises';
import type { CountsByServiceAndLevel } from './recent-logs.store';

/**
 * Per-service counts of error and fatal records. They start from the day's errors.jsonl (so a restart
 * does not reset today's picture) and then count every record the alerts consumer writes.
 */
export class ErrorCountersStore {
  private readonly counts: CountsByServiceAndLevel = {};
  private total = 0;
  private since = new Date().toISOString();

  add(record: Pick<LogRecordV1, 'service' | 'level'>): void {
    const byLevel = (this.counts[record.service] ??= {});
    byLevel[record.level] = (byLevel[record.level] ?? 0) + 1;
    this.total += 1;
  }

  /**
   * Counts the records already in `errorsFile` (a missing file counts nothing; unreadable lines are
   * skipped) and reports `since` as `from`. Call before the alerts consumer starts.
   */
  async loadFrom(errorsFile: string, from: Date): Promise<number> {
    this.since = from.toISOString();
    let file: FileHandle;
    try {
      file = await open(errorsFile, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let loaded = 0;
    try {
      for await (const line of file.readLines({ encoding: 'utf8' })) {
        const record = parseLine(line);
        if (record) {
          this.add(record);
          loaded += 1;
        }
      }
    } finally {
      await file.close();
    }
    return loaded;
  }

  snapshot() {
    return { since: this.since, total: this.total, byService: structuredClone(this.counts) };
  }
}

function parseLine(line: string): LogRecordV1 | undefined {
  if (line.trim() === '') return undefined;
  try {
    const result = LogRecordV1.safeParse(JSON.parse(line));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
