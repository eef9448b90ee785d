/**
 * `npm run db:migrate`: create the database if missing and apply pending migrations.
 * Reads DATABASE_URL (default: the local `orders` database).
 */
import { join } from 'node:path';
import { databaseUrlVariable, LOCAL_DEFAULTS, loadConfig } from '@shop/config';
import { redactDatabaseUrl } from '../database-url';
import { applyMigrations } from '../migrations/apply-migrations';

async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig({ DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl) });
  const result = await applyMigrations({
    databaseUrl: DATABASE_URL,
    migrationsDir: join(__dirname, '../../../../prisma/migrations'),
    log: (line) => console.log(`[migrate] ${line}`),
  });
  console.log(
    `[migrate] ${redactDatabaseUrl(DATABASE_URL)}: ${result.applied.length} applied, ${result.alreadyApplied.length} already up to date`,
  );
}

main().catch((error: Error) => {
  console.error(`[migrate] ${error.message}`);
  process.exit(1);
});
