import { DynamicModule, Module } from '@nestjs/common';
import { DatabaseHealthCheck, DbModule } from '@shop/db';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import type { NotifyWorkerConfig } from './config/notify-worker.config';
import { NotificationsModule } from './notifications/notifications.module';
import { RetentionModule } from './retention/retention.module';

export const SERVICE_NAME = 'notify-worker';

@Module({})
export class AppModule {
  static forRoot(config: NotifyWorkerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DbModule.forRoot({
          databaseUrl: config.DATABASE_URL,
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
        // Subscriptions: order_notify → OrderNotifySubscription (placement and lifecycle emails),
        // customer_notify → SignInCodeNotifyHandler.
        NotificationsModule.forRoot({
          smtpUrl: config.SMTP_URL,
          from: config.MAIL_FROM,
          maxConnections: config.SMTP_POOL_SIZE,
        }),
        RetentionModule.forRoot({ retentionDays: config.RETENTION_DAYS }),
      ],
    };
  }
}
