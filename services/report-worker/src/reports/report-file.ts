import { GroupCommit, type ItemResult } from '@shop/db';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** `<order id>.pdf`: the name order-api serves it under. */
export const reportFileName = (orderId: string) => `${orderId}.pdf`;

/**
 * One folder of reports. Files are written so that readers only ever see nothing or the complete PDF:
 * a temporary file in the same folder, flushed to disk, then renamed over the final name (atomic on one
 * file system), then the folder flushed so the rename itself survives a crash.
 *
 * The folder's flush is shared: every write whose rename is done waits for the next flush that starts
 * after it, so the writes that finish while one flush runs are all made durable by the next one.
 */
class ReportFolder {
  private created = false;
  private readonly flushes: GroupCommit<void, void>;

  constructor(private readonly directory: string) {
    this.flushes = new GroupCommit<void, void>(
      async (waiting) => {
        await syncFolder(this.directory);
        return waiting.map((): ItemResult<void> => ({ ok: true, value: undefined }));
      },
      { maxBatchSize: Number.MAX_SAFE_INTEGER, maxWaiting: Number.MAX_SAFE_INTEGER },
    );
  }

  async write(fileName: string, content: Buffer): Promise<void> {
    if (!this.created) {
      // A PDF names its customer: only the worker's own user may read the folder and the files.
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      this.created = true;
    }
    const temporary = join(this.directory, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
    const file = await open(temporary, 'w', 0o600).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      // The folder was removed since it was created: make it again, once.
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      return open(temporary, 'w', 0o600);
    });
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temporary, join(this.directory, fileName));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await this.flushes.submit();
  }
}

async function syncFolder(directory: string): Promise<void> {
  const folder = await open(directory, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

const folders = new Map<string, ReportFolder>();

/** Writes `content` to `directory/fileName` atomically and durably (see ReportFolder). */
export function writeFileAtomically(directory: string, fileName: string, content: Buffer): Promise<void> {
  let folder = folders.get(directory);
  if (!folder) folders.set(directory, (folder = new ReportFolder(directory)));
  return folder.write(fileName, content);
}
