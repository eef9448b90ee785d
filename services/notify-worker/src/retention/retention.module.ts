import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { DynamicModule, Module } from '@nestjs/common';
import { PG_POOL } from '@shop/db';
import { DAY_MS } from '@shop/service-kit';
import type { ChannelModel } from 'amqplib';
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
            new NotificationRetentionJob(
              pool,
              // golevelup's current connection is amqplib's ChannelModel (typed as the bare Connection).
              () => (amqp.connection as unknown as ChannelModel).createChannel(),
              { retentionDays: options.retentionDays, intervalMs: DAY_MS },
            ),
          inject: [PG_POOL, AmqpConnection],
        },
      ],
    };
  }
}
