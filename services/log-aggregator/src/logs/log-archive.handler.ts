import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Queues } from '@shop/contracts';
import { LogFiles } from './log-record';
import { LogQueueSubscriber } from './log-queue.subscriber';
import { RecentLogsStore } from './recent-logs.store';

/**
 * `log_archive` (on the fanout `logs.broadcast`, so every record of every service) → `all.jsonl`,
 * then the in-memory ring GET /logs searches.
 */
@Injectable()
export class LogArchiveHandler implements OnApplicationBootstrap {
  constructor(
    private readonly subscriber: LogQueueSubscriber,
    private readonly recent: RecentLogsStore,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.logArchive, LogFiles.all, (record) => this.recent.add(record));
  }
}
