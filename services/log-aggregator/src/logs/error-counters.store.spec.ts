import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCountersStore } from './error-counters.store';

describe('ErrorCountersStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'counters-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const line = (service: string, level: string) =>
    JSON.stringify({ time: '2026-11-23T10:00:00Z', service, level, message: 'm' });

  it("starts from a day's errors.jsonl, skipping lines it cannot read, then counts on", async () => {
    const file = join(dir, 'errors.jsonl');
    await writeFile(
      file,
      [line('order-api', 'error'), line('order-api', 'fatal'), 'not json', '', line('notify-worker', 'error')]
        .join('\n')
        .concat('\n{"time":'),
    );
    const counters = new ErrorCountersStore();
    expect(await counters.loadFrom(file, new Date('2026-11-23T00:00:00Z'))).toBe(3);
    counters.add({ service: 'order-api', level: 'error' });
    expect(counters.snapshot()).toEqual({
      since: '2026-11-23T00:00:00.000Z',
      total: 4,
      byService: { 'order-api': { error: 2, fatal: 1 }, 'notify-worker': { error: 1 } },
    });
  });

  it('starts from zero when the day has no errors.jsonl yet', async () => {
    const counters = new ErrorCountersStore();
    expect(await counters.loadFrom(join(dir, 'missing', 'errors.jsonl'), new Date())).toBe(0);
    expect(counters.snapshot()).toMatchObject({ total: 0, byService: {} });
  });
});
