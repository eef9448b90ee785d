import { ConsoleLogger, Logger } from '@nestjs/common';
import { DAY_MS, RetentionJob, retentionCutoff, type RetentionOptions } from './retention.job';

/** Records the cutoffs it was asked about; `release` lets a run finish. */
class RecordingJob extends RetentionJob {
  readonly cutoffs: Date[] = [];
  release: () => void = () => undefined;
  constructor(
    options: RetentionOptions,
    private readonly waits = false,
  ) {
    super(options);
  }
  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    this.cutoffs.push(cutoff);
    if (this.waits) await new Promise<void>((resolve) => (this.release = resolve));
    return { rows: 2, files: 1 };
  }
}

describe('RetentionJob', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('removes what is older than RETENTION_DAYS days before now', async () => {
    const job = new RecordingJob({ retentionDays: 30, intervalMs: DAY_MS });
    const log = jest.spyOn(Logger.prototype, 'log');
    expect(await job.runOnce(new Date('2026-12-07T10:00:00Z'))).toEqual({ rows: 2, files: 1 });
    expect(job.cutoffs).toEqual([new Date('2026-11-07T10:00:00Z')]);
    expect(retentionCutoff(new Date('2026-12-07T10:00:00Z'), 1)).toEqual(new Date('2026-12-06T10:00:00Z'));
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/removed 2 rows, 1 files$/));
    log.mockRestore();
  });

  it('runs at start and every interval, never two runs at once, and stops on shutdown', async () => {
    jest.useFakeTimers();
    try {
      const job = new RecordingJob({ retentionDays: 30, intervalMs: 1_000 }, true);
      job.onApplicationBootstrap();
      expect(job.cutoffs).toHaveLength(1);
      // The first run still holds: the timer's run waits for it.
      await jest.advanceTimersByTimeAsync(1_000);
      expect(job.cutoffs).toHaveLength(1);
      job.release();
      await jest.advanceTimersByTimeAsync(0);
      expect(job.cutoffs).toHaveLength(2);
      job.release();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(job.cutoffs).toHaveLength(3);
      job.release();
      await job.onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(5_000);
      expect(job.cutoffs).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
