import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { DatabaseHealthCheck } from './database.health';
import { PG_POOL } from './db.tokens';
import { createPgPool } from './pg-pool';

export interface DbModuleOptions {
  databaseUrl: string;
  maxConnections?: number;
  /** Shown in pg_stat_activity, so each service's connections can be told apart. */
  applicationName: string;
}

@Module({})
export class DbModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  static forRoot(options: DbModuleOptions): DynamicModule {
    const logger = new Logger('Database');
    return {
      module: DbModule,
      global: true,
      providers: [
        {
          provide: PG_POOL,
          useFactory: () =>
            createPgPool({
              ...options,
              onIdleError: (error) => logger.warn(`idle connection lost: ${error.message}`),
            }),
        },
        DatabaseHealthCheck,
      ],
      exports: [PG_POOL, DatabaseHealthCheck],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
