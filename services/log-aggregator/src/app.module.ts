import { DynamicModule, Module } from '@nestjs/common';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule } from '@shop/service-kit';
import type { LogAggregatorConfig } from './config/log-aggregator.config';

export const SERVICE_NAME = 'log-aggregator';

@Module({})
export class AppModule {
  static forRoot(config: LogAggregatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        MessagingModule.forRoot({
          url: config.RABBITMQ_URL,
          appId: SERVICE_NAME,
          declareTopology: config.RABBITMQ_DECLARE_TOPOLOGY,
        }),
        HealthModule.register([BrokerHealthCheck]),
      ],
    };
  }
}
