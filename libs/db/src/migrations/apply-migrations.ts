import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { databaseNameOf, redactDatabaseUrl, withDatabaseName } from '../database-url';
import { applyFunctionFiles } from './apply-function-files';

/**
 * Applies prisma/migrations/<name>/migration.sql files that have not run yet, without Prisma's
 * schema-engine binary (it cannot be downloaded everywhere). Each migration runs in its own
 * transaction and is recorded in `_prisma_migrations` exactly as `prisma migrate deploy` records it
 * (same table, same SHA-256 checksum), so either tool can take over from the other. Then the function
 * files (prisma/functions) whose text changed are applied again (see applyFunctionFiles); `prisma
 * migrate deploy` knows nothing of them, so every place that migrates goes through this runner.
 */
export interface ApplyMigrationsOptions {
  databaseUrl: string;
  migrationsDir: string;
  /** Default: the `functions` folder beside `migrationsDir` (prisma/functions). */
  functionsDir?: string;
  log?: (line: string) => void;
}

export interface ApplyMigrationsResult {
  createdDatabase: boolean;
  applied: string[];
  alreadyApplied: string[];
  /** Function files applied because they were new or their text changed. */
  functionsApplied: string[];
}

// The same advisory lock key prisma migrate uses, so the two never run at once on one database.
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

const MIGRATIONS_TABLE_DDL = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => undefined);
  const createdDatabase = await createDatabaseIfMissing(options.databaseUrl, log);
  const migrations = await readMigrations(options.migrationsDir);

  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    await client.query(MIGRATIONS_TABLE_DDL);
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
    }>('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL');
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));

    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const migration of migrations) {
      const previous = recorded.get(migration.name);
      if (previous?.finished_at) {
        if (previous.checksum !== migration.checksum) {
          log(`warning: ${migration.name} was edited after it was applied (checksum differs)`);
        }
        alreadyApplied.push(migration.name);
        continue;
      }
      if (previous) {
        throw new Error(
          `Migration ${migration.name} started earlier but never finished; inspect the database, then delete its row from _prisma_migrations.`,
        );
      }
      await applyOne(client, migration);
      log(`applied ${migration.name}`);
      applied.push(migration.name);
    }
    const functionsApplied = await applyFunctionFiles(
      client,
      options.functionsDir ?? join(options.migrationsDir, '..', 'functions'),
      log,
    );
    return { createdDatabase, applied, alreadyApplied, functionsApplied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(migrationsDir: string): Promise<Migration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

async function applyOne(client: Client, migration: Migration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, migration.checksum, migration.name],
    );
    await client.query(migration.sql);
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`);
  }
}

async function createDatabaseIfMissing(databaseUrl: string, log: (line: string) => void): Promise<boolean> {
  const name = databaseNameOf(databaseUrl);
  const admin = new Client({ connectionString: withDatabaseName(databaseUrl, 'postgres') });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `Cannot reach PostgreSQL at ${redactDatabaseUrl(databaseUrl)}: ${(error as Error).message}`,
    );
  }
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error; // created concurrently by another process: fine
    });
    log(`created database ${name}`);
    return true;
  } finally {
    await admin.end();
  }
}
