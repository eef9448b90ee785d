import { DynamicModule, Module } from '@nestjs/common';
import { DatabaseHealthCheck, DbModule } from '@shop/db';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import type { PaymentConfig } from './config/payment.config';
import { PaymentsModule } from './payments/payments.module';
import { RetentionModule } from './retention/retention.module';

export const SERVICE_NAME = 'payment';

@Module({})
export class AppModule {
  static forRoot(config: PaymentConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DbModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          // Statements are short; a handler holds no connection while it waits for the provider.
          maxConnections: 5,
          applicationName: SERVICE_NAME,
        }),
        MessagingModule.forRoot({
          url: config.RABBITMQ_URL,
          appId: SERVICE_NAME,
          declareTopology: config.RABBITMQ_DECLARE_TOPOLOGY,
          prefetchCount: config.PREFETCH,
        }),
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        HealthModule.register([DatabaseHealthCheck, BrokerHealthCheck]),
        // Subscriptions: payment_requests → PaymentRequestHandler (charges and refunds).
        PaymentsModule.forRoot({ providerTimeoutMs: config.PAYMENT_PROVIDER_TIMEOUT_MS }),
        RetentionModule.forRoot({ retentionDays: config.RETENTION_DAYS }),
      ],
    };
  }
}
