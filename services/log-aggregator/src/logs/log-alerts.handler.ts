import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Queues } from '@shop/contracts';
import { ErrorCountersStore } from './error-counters.store';
import { LogFiles, logFilePath, utcDateOf } from './log-record';
import { LogQueueSubscriber } from './log-queue.subscriber';
import { LOGS_OPTIONS, type LogsOptions } from './logs.options';

/**
 * `log_alerts` (on the topic `logs` with `*.error` and `*.fatal`) → `errors.jsonl` and the per-service
 * error counters, which start from today's errors.jsonl.
 */
@Injectable()
export class LogAlertsHandler implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(LogAlertsHandler.name);

  constructor(
    private readonly subscriber: LogQueueSubscriber,
    private readonly counters: ErrorCountersStore,
    @Inject(LOGS_OPTIONS) private readonly options: LogsOptions,
  ) {}

  /** Before the consumer starts, so no record is counted twice. */
  async onModuleInit(): Promise<void> {
    const today = utcDateOf(new Date());
    const file = logFilePath(this.options.logDir, today, LogFiles.errors);
    const loaded = await this.counters.loadFrom(file, new Date(`${today}T00:00:00.000Z`));
    if (loaded > 0) this.logger.log(`error counters start from ${loaded} record(s) in ${file}`);
  }

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.logAlerts, LogFiles.errors, (record) => this.counters.add(record));
  }
}
