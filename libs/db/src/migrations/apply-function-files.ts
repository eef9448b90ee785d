import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';

/**
 * Function files (prisma/functions/<name>.sql): each holds one database function's whole definition, so
 * a change to it is a diff of that file rather than a copy of the function in a new migration. They run
 * after the migrations, each in its own transaction, whenever their text differs from the text last
 * applied (its SHA-256 is recorded in "_function_files"). A file must therefore be safe to run again:
 * it replaces whatever version of its function exists.
 */
const FUNCTION_FILES_TABLE_DDL = `
CREATE TABLE IF NOT EXISTS "_function_files" (
    "name"       VARCHAR(255) PRIMARY KEY NOT NULL,
    "checksum"   VARCHAR(64) NOT NULL,
    "applied_at" TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

interface FunctionFile {
  name: string;
  sql: string;
  checksum: string;
}

/**
 * Applies the files of `functionsDir` (in name order) whose text changed since they were last applied;
 * returns their names. A missing folder holds no files. The caller holds the migrations' advisory lock.
 */
export async function applyFunctionFiles(
  client: Client,
  functionsDir: string,
  log: (line: string) => void,
): Promise<string[]> {
  const files = await readFunctionFiles(functionsDir);
  if (files.length === 0) return [];
  await client.query(FUNCTION_FILES_TABLE_DDL);
  const { rows } = await client.query<{ name: string; checksum: string }>(
    'SELECT name, checksum FROM "_function_files"',
  );
  const recorded = new Map(rows.map((row) => [row.name, row.checksum]));
  const applied: string[] = [];
  for (const file of files) {
    if (recorded.get(file.name) === file.checksum) continue;
    await applyOne(client, file);
    log(`applied function file ${file.name}`);
    applied.push(file.name);
  }
  return applied;
}

async function readFunctionFiles(functionsDir: string): Promise<FunctionFile[]> {
  const names = await readdir(functionsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return Promise.all(
    names
      .filter((name) => name.endsWith('.sql'))
      .sort()
      .map(async (name) => {
        const sql = await readFile(join(functionsDir, name), 'utf8');
        return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
      }),
  );
}

async function applyOne(client: Client, file: FunctionFile): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(file.sql);
    await client.query(
      `INSERT INTO "_function_files" (name, checksum, applied_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at`,
      [file.name, file.checksum],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`Function file ${file.name} failed and was rolled back: ${(error as Error).message}`);
  }
}
