import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { DynamicModule, Module } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { channelWhenConnected } from '@shop/messaging';
import { DAY_MS } from '@shop/service-kit';
import type { Pool } from 'pg';
import { NotificationRetentionJob } from './notification-retention.job';

/** Removes notification rows and parked notify messages older than RETENTION_DAYS, daily. */
@Module({})
export class RetentionModule {
  static forRoot(options: { retentionDays: number }): DynamicModule {
    return {
      module: RetentionModule,
      providers: [
        {
          provide: NotificationRetentionJob,
          useFactory: (pool: Pool, amqp: AmqpConnection) =>
            new NotificationRetentionJob(pool, () => channelWhenConnected(amqp), {
              retentionDays: options.retentionDays,
              intervalMs: DAY_MS,
            }),
          inject: [PG_POOL, AmqpConnection],
        },
      ],
    };
  }
}
