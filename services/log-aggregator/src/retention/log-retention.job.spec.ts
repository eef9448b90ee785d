import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogRetentionJob } from './log-retention.job';

describe('LogRetentionJob', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'log-retention-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const day = async (date: string, files: string[]) => {
    await mkdir(join(dir, date));
    for (const file of files) await writeFile(join(dir, date, file), '{"message":"x"}\n');
  };

  it('the retention job removes exactly what is older than the limit', async () => {
    // 30 days before 2026-12-07T10:00Z is 2026-11-07T10:00Z: the days up to 2026-11-06 ended before it.
    await day('2026-11-05', ['all.jsonl', 'errors.jsonl']);
    await day('2026-11-06', ['all.jsonl', 'rejected.jsonl', 'errors.jsonl']);
    await day('2026-11-07', ['all.jsonl']);
    await day('2026-12-07', ['all.jsonl']);
    await mkdir(join(dir, 'not-a-day'));
    await writeFile(join(dir, 'README'), 'not a day either');

    const job = new LogRetentionJob(dir, { retentionDays: 30, intervalMs: 60_000 });
    const removed = await job.runOnce(new Date('2026-12-07T10:00:00Z'));

    expect(removed).toEqual({ 'archived log files': 5, 'days of logs': 2 });
    expect((await readdir(dir)).sort()).toEqual(['2026-11-07', '2026-12-07', 'README', 'not-a-day']);
    expect(await job.runOnce(new Date('2026-12-07T10:00:00Z'))).toEqual({
      'archived log files': 0,
      'days of logs': 0,
    });
  });

  it('removes nothing while LOG_DIR does not exist yet', async () => {
    const job = new LogRetentionJob(join(dir, 'missing'), { retentionDays: 1, intervalMs: 60_000 });
    expect(await job.runOnce()).toEqual({ 'archived log files': 0, 'days of logs': 0 });
  });
});
