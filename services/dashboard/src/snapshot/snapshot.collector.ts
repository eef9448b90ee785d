import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { ServiceMetrics } from '@shop/service-kit';
import { DASHBOARD_CONFIG, type DashboardConfig } from '../config/dashboard.config';
import { FlashSaleRunner } from '../sales/flash-sale.runner';
import { BROKER_READER, type BrokerReader } from '../sources/broker-reader';
import { readRecentErrors } from '../sources/recent-errors';
import { readTargets } from '../sources/service-scraper';
import { SseHub } from '../stream/sse-hub';
import type { DashboardSnapshot } from './snapshot';
import { SnapshotBuilder } from './snapshot-builder';

/**
 * Once a second: reads every source at once (the services' /health and /metrics, the broker, the
 * log-aggregator's errors), builds the snapshot and sends it to every open page. A tick that is still
 * reading when the next is due makes that one skip, so a slow source never piles up reads.
 */
@Injectable()
export class SnapshotCollector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SnapshotCollector.name);
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private latestSnapshot: DashboardSnapshot | undefined;
  private readonly tickSeconds;

  constructor(
    @Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig,
    @Inject(BROKER_READER) private readonly broker: BrokerReader,
    private readonly builder: SnapshotBuilder,
    private readonly hub: SseHub,
    private readonly sales: FlashSaleRunner,
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.tickSeconds = metrics?.histogram(
      'dashboard_snapshot_seconds',
      'Time to read every source and build one snapshot',
    );
    metrics?.gaugeReadOnScrape(
      'dashboard_sse_clients',
      'Pages connected to GET /events',
      async () => hub.clientCount,
    );
  }

  /** The newest snapshot (GET /api/snapshot), undefined until the first tick finished. */
  get latest(): DashboardSnapshot | undefined {
    return this.latestSnapshot;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.DASHBOARD_INTERVAL_MS);
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.broker.close();
  }

  private async tick(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    const stopTimer = this.tickSeconds?.startTimer();
    try {
      const logAggregator = this.config.DASHBOARD_TARGETS.find((t) => t.service === 'log-aggregator');
      const [targets, broker, errors] = await Promise.all([
        readTargets(this.config.DASHBOARD_TARGETS),
        this.broker.read(),
        readRecentErrors(logAggregator?.url, this.config.OPS_TOKEN),
      ]);
      const { parked, ...brokerFigures } = broker;
      this.latestSnapshot = this.builder.build({
        atMs: Date.now(),
        targets,
        broker: brokerFigures,
        parked,
        errors,
        sale: this.sales.recentStatus(),
      });
      this.hub.publish('snapshot', this.latestSnapshot);
    } catch (error) {
      this.logger.warn(`snapshot skipped: ${(error as Error).message}`);
    } finally {
      stopTimer?.();
      this.reading = false;
    }
  }
}
