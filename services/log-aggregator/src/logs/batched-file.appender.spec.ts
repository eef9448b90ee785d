import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchedFileAppender } from './batched-file.appender';

describe('BatchedFileAppender', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'appender-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const read = (path: string) => readFile(path, 'utf8');

  it('writes a full batch at once, without waiting for the timer', async () => {
    const appender = new BatchedFileAppender({ maxLines: 3, maxWaitMs: 60_000 });
    const path = join(dir, '2026-11-23', 'all.jsonl');
    const started = Date.now();
    await Promise.all(['a', 'b', 'c'].map((line) => appender.append(path, `${line}\n`)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await read(path)).toBe('a\nb\nc\n');
  });

  it('keeps archived records readable by their owner only: files 0600, day folders 0700', async () => {
    const appender = new BatchedFileAppender({ maxLines: 1, maxWaitMs: 10 });
    const older = join(dir, '2026-11-22', 'all.jsonl');
    await mkdir(join(dir, '2026-11-22'));
    await writeFile(older, 'from before\n', { mode: 0o644 });
    const path = join(dir, '2026-11-23', 'all.jsonl');
    await Promise.all([appender.append(path, 'a\n'), appender.append(older, 'b\n')]);
    expect((await stat(join(dir, '2026-11-23'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(older)).mode & 0o777).toBe(0o600);
  });

  it('writes a partial batch when its first line has waited maxWaitMs', async () => {
    const appender = new BatchedFileAppender({ maxLines: 100, maxWaitMs: 20 });
    const path = join(dir, 'd', 'all.jsonl');
    let written = false;
    const appended = appender.append(path, 'one\n').then(() => (written = true));
    expect(written).toBe(false);
    await appended;
    expect(await read(path)).toBe('one\n');
  });

  it('resolves a line only once its file holds it, keeping the order of appends per file', async () => {
    const appender = new BatchedFileAppender({ maxLines: 2, maxWaitMs: 10 });
    const all = join(dir, 'x', 'all.jsonl');
    const errors = join(dir, 'x', 'errors.jsonl');
    const lines = Array.from({ length: 7 }, (_, n) => n);
    await Promise.all(
      lines.map(async (n) => {
        const path = n % 2 === 0 ? all : errors;
        await appender.append(path, `${n}\n`);
        expect((await read(path)).split('\n')).toContain(String(n));
      }),
    );
    expect(await read(all)).toBe('0\n2\n4\n6\n');
    expect(await read(errors)).toBe('1\n3\n5\n');
  });

  it("rejects only the lines of the file that failed, and leaves that file's earlier content intact", async () => {
    const appender = new BatchedFileAppender({ maxLines: 10, maxWaitMs: 5 });
    const good = join(dir, 'day', 'all.jsonl');
    const broken = join(dir, 'day', 'errors.jsonl');
    await mkdir(broken, { recursive: true }); // a directory where the file should be
    const results = await Promise.allSettled([
      appender.append(good, 'kept\n'),
      appender.append(broken, 'lost?\n'),
      appender.append(broken, 'lost too?\n'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(await read(good)).toBe('kept\n');

    // Once the path is usable again the same lines go in, once.
    await rm(broken, { recursive: true });
    await Promise.all([appender.append(broken, 'lost?\n'), appender.append(broken, 'lost too?\n')]);
    expect(await read(broken)).toBe('lost?\nlost too?\n');
  });

  it('ends a line an earlier crash left without its newline before appending', async () => {
    const path = join(dir, 'all.jsonl');
    await writeFile(path, '{"complete":1}\n{"cut":');
    const appender = new BatchedFileAppender({ maxLines: 1, maxWaitMs: 5 });
    await appender.append(path, '{"next":2}\n');
    await appender.append(path, '{"next":3}\n');
    expect(await read(path)).toBe('{"complete":1}\n{"cut":\n{"next":2}\n{"next":3}\n');
  });

  it('flush() writes what is pending at once', async () => {
    const appender = new BatchedFileAppender({ maxLines: 100, maxWaitMs: 60_000 });
    const path = join(dir, 'f', 'all.jsonl');
    const appended = appender.append(path, 'now\n');
    await appender.flush();
    await appended;
    expect(await read(path)).toBe('now\n');
  });
});
