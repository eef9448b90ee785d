import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { DynamicModule, Module } from '@nestjs/common';
import { channelWhenConnected } from '@shop/messaging';
import { DAY_MS } from '@shop/service-kit';
import { PaymentRetentionJob } from './payment-retention.job';

/** Removes parked payment requests older than RETENTION_DAYS, daily. */
@Module({})
export class RetentionModule {
  static forRoot(options: { retentionDays: number }): DynamicModule {
    return {
      module: RetentionModule,
      providers: [
        {
          provide: PaymentRetentionJob,
          useFactory: (amqp: AmqpConnection) =>
            new PaymentRetentionJob(() => channelWhenConnected(amqp), {
              retentionDays: options.retentionDays,
              intervalMs: DAY_MS,
            }),
          inject: [AmqpConnection],
        },
      ],
    };
  }
}
