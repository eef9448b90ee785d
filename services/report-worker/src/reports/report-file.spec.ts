import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportFileName, writeFileAtomically } from './report-file';

describe('writeFileAtomically', () => {
  it('writes the whole content under the final name and leaves no temporary file', async () => {
    const directory = join(await mkdtemp(join(tmpdir(), 'reports-')), 'nested');
    const name = reportFileName('7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b');
    await writeFileAtomically(directory, name, Buffer.from('%PDF-1.3 first'));
    await writeFileAtomically(directory, name, Buffer.from('%PDF-1.3 second'));

    expect(name).toBe('7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b.pdf');
    expect(await readFile(join(directory, name), 'utf8')).toBe('%PDF-1.3 second');
    expect(await readdir(directory)).toEqual([name]);
  });

  it('writes many files at once, each complete, the folder flushes shared between them', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'reports-'));
    const names = Array.from({ length: 20 }, (_, i) => `order-${i}.pdf`);
    await Promise.all(names.map((name) => writeFileAtomically(directory, name, Buffer.from(`%PDF ${name}`))));

    expect((await readdir(directory)).sort()).toEqual([...names].sort());
    for (const name of names) expect(await readFile(join(directory, name), 'utf8')).toBe(`%PDF ${name}`);
  });

  it('writes each PDF readable by its owner only (0600), in a folder only its owner may enter (0700)', async () => {
    const directory = join(await mkdtemp(join(tmpdir(), 'reports-')), 'nested');
    await writeFileAtomically(directory, 'a.pdf', Buffer.from('%PDF names a customer'));
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, 'a.pdf'))).mode & 0o777).toBe(0o600);
  });

  it('makes the folder again when it was removed after the first write', async () => {
    const directory = join(await mkdtemp(join(tmpdir(), 'reports-')), 'nested');
    await writeFileAtomically(directory, 'a.pdf', Buffer.from('a'));
    await rm(directory, { recursive: true });
    await writeFileAtomically(directory, 'b.pdf', Buffer.from('b'));
    expect(await readdir(directory)).toEqual(['b.pdf']);
  });

  it('fails when the folder cannot be created', async () => {
    const base = await mkdtemp(join(tmpdir(), 'reports-'));
    await writeFile(join(base, 'taken'), 'a file where the folder should be');
    await expect(writeFileAtomically(join(base, 'taken'), 'x.pdf', Buffer.from('x'))).rejects.toThrow(
      /EEXIST|ENOTDIR/,
    );
    expect(await readdir(base)).toEqual(['taken']);
  });
});
