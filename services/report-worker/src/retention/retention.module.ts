import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { DynamicModule, Module } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { channelWhenConnected } from '@shop/messaging';
import { DAY_MS } from '@shop/service-kit';
import type { Pool } from 'pg';
import { ReportRetentionJob } from './report-retention.job';

/** Removes reports (rows, PDFs) and parked order_report messages older than RETENTION_DAYS, daily. */
@Module({})
export class RetentionModule {
  static forRoot(options: { reportsDir: string; retentionDays: number }): DynamicModule {
    return {
      module: RetentionModule,
      providers: [
        {
          provide: ReportRetentionJob,
          useFactory: (pool: Pool, amqp: AmqpConnection) =>
            new ReportRetentionJob(pool, options.reportsDir, () => channelWhenConnected(amqp), {
              retentionDays: options.retentionDays,
              intervalMs: DAY_MS,
            }),
          inject: [PG_POOL, AmqpConnection],
        },
      ],
    };
  }
}
