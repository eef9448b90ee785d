import { DynamicModule, Module } from '@nestjs/common';
import { DatabaseHealthCheck, DbModule } from '@shop/db';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import { resolve } from 'node:path';
import type { ReportWorkerConfig } from './config/report-worker.config';
import { ReportsModule } from './reports/reports.module';
import { RetentionModule } from './retention/retention.module';
import { resolveReportFont } from './reports/report-font';

export const SERVICE_NAME = 'report-worker';

@Module({})
export class AppModule {
  static forRoot(config: ReportWorkerConfig): DynamicModule {
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
        // Subscriptions: order_report → OrderPlacedReportHandler; report_rpc → ReportRpcServer.
        ReportsModule.forRoot(
          {
            reportsDir: resolve(config.REPORTS_DIR),
            // Resolved at start: REPORT_FONT_PATH, else a system Noto Sans CJK, else the npm fonts.
            font: resolveReportFont(config.REPORT_FONT_PATH),
          },
          { prefetch: config.REPORT_RPC_PREFETCH },
        ),
        RetentionModule.forRoot({
          reportsDir: resolve(config.REPORTS_DIR),
          retentionDays: config.RETENTION_DAYS,
        }),
      ],
    };
  }
}
