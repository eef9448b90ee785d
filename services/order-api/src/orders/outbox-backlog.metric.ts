import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { ServiceMetrics } from '@shop/service-kit';
import type { Pool } from 'pg';

/**
 * `outbox_unpublished_messages`: outbox rows the relay has not had confirmed yet, counted on each scrape
 * (the partial index on unpublished rows keeps it cheap). Grows while the broker is away, drains after.
 */
@Injectable()
export class OutboxBacklogMetric implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Optional() private readonly metrics?: ServiceMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics?.gaugeReadOnScrape(
      'outbox_unpublished_messages',
      'Outbox rows not yet published to the broker with a confirm',
      async () => {
        const { rows } = await this.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox_messages WHERE published_at IS NULL',
        );
        return rows[0].n;
      },
    );
  }
}
