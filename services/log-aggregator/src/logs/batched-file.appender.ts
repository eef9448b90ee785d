import { Logger } from '@nestjs/common';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface BatchOptions {
  /** A batch is written as soon as it holds this many lines... */
  maxLines: number;
  /** ...or this long after its first line arrived, whichever comes first. */
  maxWaitMs: number;
}

/** Told once the line is on disk (no argument) or its file's write failed. */
export type LineWritten = (error?: Error) => void;

interface PendingLine {
  path: string;
  line: string;
  done: LineWritten;
}

/**
 * Appends lines to files in batches: one write and one fsync per file per batch. `append` resolves
 * once its line is on disk (the caller acks the message then) and rejects when its file's write
 * failed, in which case none of that batch's lines for that file stay in it (no half lines, so
 * writing them again after a redelivery leaves no duplicate or broken line).
 */
export class BatchedFileAppender {
  private readonly logger = new Logger(BatchedFileAppender.name);
  private pending: PendingLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Files whose directory entries were fsynced by this process (needed once, when they appear). */
  private readonly knownFiles = new Set<string>();
  /** Files whose last write failed, with why (cleared by the next successful write). */
  private readonly failing = new Map<string, string>();
  /** File writes that failed since start (each one's lines went back to their queue). */
  private failedWriteCount = 0;

  constructor(private readonly options: BatchOptions) {}

  /** `line` must end with a newline. */
  append(path: string, line: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.appendThen(path, line, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** As `append`, with a callback instead of a promise (no promise per line on the hot path). */
  appendThen(path: string, line: string, done: LineWritten): void {
    this.pending.push({ path, line, done });
    if (this.pending.length >= this.options.maxLines) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.options.maxWaitMs);
  }

  /** Writes what is pending now and waits for every write started so far. */
  flush(): Promise<void> {
    if (this.pending.length > 0) this.cut();
    return this.writing;
  }

  /** The files whose last write failed, and why: empty while the disk takes everything. */
  failures(): { path: string; error: string }[] {
    return [...this.failing].map(([path, error]) => ({ path, error }));
  }

  get failedWrites(): number {
    return this.failedWriteCount;
  }

  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    // One write at a time: lines of two batches never interleave, and a rollback knows the file's size.
    this.writing = this.writing.then(() => this.write(batch));
  }

  private async write(batch: PendingLine[]): Promise<void> {
    const byPath = new Map<string, PendingLine[]>();
    for (const entry of batch) {
      const group = byPath.get(entry.path);
      if (group) group.push(entry);
      else byPath.set(entry.path, [entry]);
    }
    for (const [path, entries] of byPath) {
      let data = '';
      for (const entry of entries) data += entry.line;
      try {
        await this.appendDurably(path, data);
        this.failing.delete(path);
      } catch (error) {
        this.failing.set(path, (error as Error).message);
        // Checked afresh next time: its folder may be what went missing.
        this.knownFiles.delete(path);
        this.failedWriteCount++;
        this.logger.error(
          `could not write ${entries.length} line(s) to ${path}: ${(error as Error).message}; their messages go back to the queue`,
        );
        for (const entry of entries) notify(entry, error as Error);
        continue;
      }
      for (const entry of entries) notify(entry);
    }
  }

  private async appendDurably(path: string, data: string): Promise<void> {
    const directory = dirname(path);
    // Records name orders and people (masked, but still personal data): the owner only reads them.
    if (!this.knownFiles.has(path)) await mkdir(directory, { recursive: true, mode: 0o700 });
    const file = await open(path, 'a+', 0o600);
    try {
      const { size } = await file.stat();
      let text = data;
      if (!this.knownFiles.has(path)) {
        // A crash (not ours: we roll back) may have left a last line without its newline; end it first.
        if (size > 0 && !(await endsWithNewline(file, size))) text = `\n${data}`;
        // A file made before files were private keeps its old mode until this.
        await file.chmod(0o600);
        // A new file (and a new day's folder) survives a crash only once its directory entry is synced.
        await syncDirectory(directory);
        await syncDirectory(dirname(directory));
        this.knownFiles.add(path);
      }
      try {
        await file.appendFile(text, 'utf8');
        await file.datasync();
      } catch (error) {
        await file.truncate(size).catch(() => undefined);
        throw error;
      }
    } finally {
      await file.close();
    }
  }
}

function notify(entry: PendingLine, error?: Error): void {
  try {
    entry.done(error);
  } catch {
    // A caller's callback failing must not stop the others of its batch from hearing.
  }
}

async function endsWithNewline(file: FileHandle, size: number): Promise<boolean> {
  const last = Buffer.alloc(1);
  await file.read(last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
