import type { LogLevel, LogRecordV1 } from '@shop/contracts';

export interface RecentLogsFilter {
  service?: string;
  level?: LogLevel;
  correlationId?: string;
  /** The records about one order (their `orderId`). */
  orderId?: string;
  /** Only records whose time is at or after this instant (epoch ms). */
  sinceMs?: number;
  limit: number;
}

/** Counts per service, then per level: `{ "order-api": { "info": 12, "error": 1 } }`. */
export type CountsByServiceAndLevel = Record<string, Partial<Record<LogLevel, number>>>;

interface Entry {
  record: LogRecordV1;
  timeMs: number;
  /** Arrival order: breaks ties between records with the same time. */
  seq: number;
}

/**
 * The most recent archived records, in a fixed-size ring (the oldest is dropped when it is full),
 * and counts of everything archived since the process started. Fed only after a record is on disk.
 */
export class RecentLogsStore {
  private readonly ring: (Entry | undefined)[];
  private next = 0;
  private seq = 0;
  private readonly counts: CountsByServiceAndLevel = {};
  private readonly startedAt = new Date().toISOString();

  constructor(readonly capacity: number) {
    this.ring = new Array<Entry | undefined>(capacity);
  }

  add(record: LogRecordV1): void {
    this.ring[this.next] = { record, timeMs: Date.parse(record.time), seq: this.seq++ };
    this.next = (this.next + 1) % this.capacity;
    const byLevel = (this.counts[record.service] ??= {});
    byLevel[record.level] = (byLevel[record.level] ?? 0) + 1;
  }

  get size(): number {
    return Math.min(this.seq, this.capacity);
  }

  /** Matching records, newest first (by their time; records can arrive out of order). */
  query(filter: RecentLogsFilter): LogRecordV1[] {
    const matches: Entry[] = [];
    for (const entry of this.ring) {
      if (!entry) continue;
      const { record } = entry;
      if (filter.service !== undefined && record.service !== filter.service) continue;
      if (filter.level !== undefined && record.level !== filter.level) continue;
      if (filter.correlationId !== undefined && record.correlationId !== filter.correlationId) continue;
      if (filter.orderId !== undefined && record.orderId !== filter.orderId) continue;
      if (filter.sinceMs !== undefined && entry.timeMs < filter.sinceMs) continue;
      matches.push(entry);
    }
    matches.sort((a, b) => b.timeMs - a.timeMs || b.seq - a.seq);
    return matches.slice(0, filter.limit).map((entry) => entry.record);
  }

  stats() {
    const byLevel: Partial<Record<LogLevel, number>> = {};
    let total = 0;
    for (const levels of Object.values(this.counts)) {
      for (const [level, count] of Object.entries(levels) as [LogLevel, number][]) {
        byLevel[level] = (byLevel[level] ?? 0) + count;
        total += count;
      }
    }
    return {
      since: this.startedAt,
      total,
      byService: structuredClone(this.counts),
      byLevel,
      recent: { held: this.size, capacity: this.capacity },
    };
  }
}
