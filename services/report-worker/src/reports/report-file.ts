import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** `<order id>.pdf`: the name order-api serves it under. */
export const reportFileName = (orderId: string) => `${orderId}.pdf`;

/**
 * Writes the file so that readers only ever see nothing or the complete PDF: a temporary file in the
 * same folder, flushed to disk, then renamed over the final name (atomic on one file system), then the
 * folder flushed so the rename itself survives a crash.
 */
export async function writeFileAtomically(
  directory: string,
  fileName: string,
  content: Buffer,
): Promise<void> {
  await mkdir(directory, { recursive: true });
  const temporary = join(directory, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'w');
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, join(directory, fileName));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(directory, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
