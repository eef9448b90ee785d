import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { ServiceMetrics } from '@shop/service-kit';
import type { Pool } from 'pg';

/** A scrape every second must not become a table scan every second under a flash sale. */
const RECOUNT_AFTER_MS = 5_000;

/**
 * `orders_by_status{status}`: the orders table counted by status (placed, paid, completed, cancelled,
 * completed), recounted at most every few seconds however often it is scraped.
 */
@Injectable()
export class OrdersByStatusMetric implements OnModuleInit {
  private counted: { at: number; byStatus: Promise<Record<string, number>> } | undefined;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Optional() private readonly metrics?: ServiceMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics?.gaugesReadOnScrape(
      'orders_by_status',
      'Orders in the database by status, recounted at most every 5 s',
      'status',
      () => this.byStatus(),
    );
  }

  private byStatus(): Promise<Record<string, number>> {
    const now = Date.now();
    if (!this.counted || now - this.counted.at >= RECOUNT_AFTER_MS) {
      const byStatus = this.pool
        .query<{ status: string; n: number }>(
          'SELECT status::text AS status, count(*)::int AS n FROM orders GROUP BY status',
        )
        .then(({ rows }) => Object.fromEntries(rows.map((row) => [row.status, row.n])));
      // A failed count is not cached: the next scrape asks again.
      byStatus.catch(() => {
        if (this.counted?.byStatus === byStatus) this.counted = undefined;
      });
      this.counted = { at: now, byStatus };
    }
    return this.counted.byStatus;
  }
}
