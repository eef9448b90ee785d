import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from './db.tokens';

/** Ready when PostgreSQL answers a trivial query. */
@Injectable()
export class DatabaseHealthCheck {
  readonly name = 'database';

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async check(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
