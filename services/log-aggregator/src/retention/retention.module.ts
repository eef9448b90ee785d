import { DynamicModule, Module } from '@nestjs/common';
import { DAY_MS } from '@shop/service-kit';
import { LogRetentionJob } from './log-retention.job';

/** Removes archived log files older than RETENTION_DAYS, at start and every 24 h. */
@Module({})
export class RetentionModule {
  static forRoot(options: { logDir: string; retentionDays: number }): DynamicModule {
    return {
      module: RetentionModule,
      providers: [
        {
          provide: LogRetentionJob,
          useFactory: () =>
            new LogRetentionJob(options.logDir, { retentionDays: options.retentionDays, intervalMs: DAY_MS }),
        },
      ],
    };
  }
}
