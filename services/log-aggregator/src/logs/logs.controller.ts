import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import type { LogRecordV1 } from '@shop/contracts';
import { OperatorGuard } from '@shop/service-kit';
import { BatchedFileAppender } from './batched-file.appender';
import { ErrorCountersStore } from './error-counters.store';
import { LogQueueSubscriber } from './log-queue.subscriber';
import { parseLogsQuery } from './logs.query';
import { RecentLogsStore } from './recent-logs.store';

/** Records name orders and customers' correlation ids: operators only (Authorization: Bearer <OPS_TOKEN>). */
@Controller('logs')
@UseGuards(OperatorGuard)
export class LogsController {
  constructor(
    private readonly recent: RecentLogsStore,
    private readonly errors: ErrorCountersStore,
    private readonly subscriber: LogQueueSubscriber,
    private readonly appender: BatchedFileAppender,
  ) {}

  /**
   * `GET /logs?service=&level=&correlationId=&since=&limit=`: matching records among the recent ones
   * (the last LOG_RECENT_RECORDS archived), newest first; limit 100 by default, at most 1000.
   */
  @Get()
  list(@Query() query: Record<string, unknown>): { count: number; records: LogRecordV1[] } {
    const records = this.recent.query(parseLogsQuery(query));
    return { count: records.length, records };
  }

  /**
   * `GET /logs/stats`: records archived since start by service and level, error counters (from today's
   * errors.jsonl on), per queue the deliveries rejected as malformed and the duplicates skipped, and the
   * file writes that failed (their records went back to the queue).
   */
  @Get('stats')
  stats() {
    return {
      archived: this.recent.stats(),
      errors: this.errors.snapshot(),
      ...this.subscriber.counts(),
      failedWrites: this.appender.failedWrites,
    };
  }
}
