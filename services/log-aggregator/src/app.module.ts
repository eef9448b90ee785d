import { DynamicModule, Module } from '@nestjs/common';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import type { LogAggregatorConfig } from './config/log-aggregator.config';
import { ArchiveHealthCheck } from './logs/archive.health';
import { LogsModule } from './logs/logs.module';
import { RetentionModule } from './retention/retention.module';

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
          // Per consumer: one batch being written while the next one fills.
          prefetchCount: 2 * config.LOG_BATCH_SIZE,
        }),
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        HealthModule.register([BrokerHealthCheck, ArchiveHealthCheck]),
        // Subscriptions: log_archive → LogArchiveHandler (all.jsonl), log_alerts → LogAlertsHandler (errors.jsonl).
        LogsModule.forRoot({
          logDir: config.LOG_DIR,
          batchSize: config.LOG_BATCH_SIZE,
          batchWaitMs: config.LOG_BATCH_WAIT_MS,
          recentRecords: config.LOG_RECENT_RECORDS,
          opsToken: config.OPS_TOKEN,
          writeRetryDelayMs: 1_000,
        }),
        RetentionModule.forRoot({ logDir: config.LOG_DIR, retentionDays: config.RETENTION_DAYS }),
      ],
    };
  }
}
