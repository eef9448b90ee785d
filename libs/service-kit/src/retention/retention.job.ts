import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

/** How long personal data is kept (RETENTION_DAYS), and how often the job looks (24 h; less in specs). */
export interface RetentionOptions {
  retentionDays: number;
  intervalMs: number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;
const SHUTDOWN_WAIT_MS = 5_000;

/** Everything created before this instant is older than the limit. */
export const retentionCutoff = (now: Date, retentionDays: number): Date =>
  new Date(now.getTime() - retentionDays * DAY_MS);

/**
 * A service's retention job: removes the personal data it keeps (rows, files, parked messages) once it
 * is older than RETENTION_DAYS, once at start and then every `intervalMs`, and logs how much of each it
 * removed (counts only, never what). Runs never overlap; a failed run is logged and the next one tries
 * again. Each service removes its own data only.
 */
export abstract class RetentionJob implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(protected readonly retention: RetentionOptions) {}

  /** Removes what was created before `cutoff`; how many of each kind went, by kind. */
  protected abstract removeOlderThan(cutoff: Date): Promise<Record<string, number>>;

  /** One run now (what the timer calls; specs call it directly). */
  async runOnce(now = new Date()): Promise<Record<string, number>> {
    if (this.running) await this.running.catch(() => undefined);
    const cutoff = retentionCutoff(now, this.retention.retentionDays);
    const run = this.removeOlderThan(cutoff);
    this.running = run;
    try {
      const removed = await run;
      this.logger.log(
        `retention (${this.retention.retentionDays} days, before ${cutoff.toISOString()}): removed ${describeCounts(removed)}`,
      );
      return removed;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }

  onApplicationBootstrap(): void {
    // In the background: a database or broker still coming up only delays it to the next run.
    const runLogged = () =>
      void this.runOnce().catch((error: Error) =>
        this.logger.error(`retention run failed (the next one tries again): ${error.message}`),
      );
    runLogged();
    this.timer = setInterval(runLogged, this.retention.intervalMs);
    this.timer.unref();
  }

  /** Lets a run in progress finish, for a few seconds at most (one waiting for the broker would not). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running.catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
}

const describeCounts = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([what, count]) => `${count} ${what}`)
    .join(', ') || 'nothing';
