import { DynamicModule, Module } from '@nestjs/common';
import { OPS_TOKEN, OperatorGuard } from '@shop/service-kit';
import { ArchiveHealthCheck } from './archive.health';
import { BatchedFileAppender } from './batched-file.appender';
import { ErrorCountersStore } from './error-counters.store';
import { LogAlertsHandler } from './log-alerts.handler';
import { LogArchiveHandler } from './log-archive.handler';
import { LogQueueSubscriber } from './log-queue.subscriber';
import { LogsController } from './logs.controller';
import { LOGS_OPTIONS, type LogsOptions } from './logs.options';
import { RecentLogsStore } from './recent-logs.store';

/**
 * The archive (log_archive → all.jsonl), the alerts (log_alerts → errors.jsonl) and GET /logs.
 * Global so that GET /health can include ArchiveHealthCheck.
 */
@Module({})
export class LogsModule {
  static forRoot(options: LogsOptions): DynamicModule {
    return {
      module: LogsModule,
      global: true,
      controllers: [LogsController],
      providers: [
        { provide: LOGS_OPTIONS, useValue: options },
        { provide: OPS_TOKEN, useValue: options.opsToken },
        OperatorGuard,
        // One appender for both queues: every file is written by one writer, one batch at a time.
        {
          provide: BatchedFileAppender,
          useFactory: () =>
            new BatchedFileAppender({ maxLines: options.batchSize, maxWaitMs: options.batchWaitMs }),
        },
        { provide: RecentLogsStore, useFactory: () => new RecentLogsStore(options.recentRecords) },
        { provide: ErrorCountersStore, useFactory: () => new ErrorCountersStore() },
        LogQueueSubscriber,
        LogArchiveHandler,
        LogAlertsHandler,
        ArchiveHealthCheck,
      ],
      exports: [ArchiveHealthCheck],
    };
  }
}
