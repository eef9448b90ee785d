import { DynamicModule, Module } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { DAY_MS } from '@shop/service-kit';
import type { Pool } from 'pg';
import { SignInCodeRetentionJob } from './sign-in-code-retention.job';

/** Removes sign-in code rows whose code expired more than RETENTION_DAYS ago, daily. */
@Module({})
export class RetentionModule {
  static forRoot(options: { retentionDays: number }): DynamicModule {
    return {
      module: RetentionModule,
      providers: [
        {
          provide: SignInCodeRetentionJob,
          useFactory: (pool: Pool) =>
            new SignInCodeRetentionJob(pool, { retentionDays: options.retentionDays, intervalMs: DAY_MS }),
          inject: [PG_POOL],
        },
      ],
    };
  }
}
