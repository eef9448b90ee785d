/**
 * `npm run db:migrate`: create the database if missing, apply pending migrations (they create the
 * services' schemas and roles) and the changed function files of prisma/functions, then set the roles' passwords from ORDER_API_DB_PASSWORD,
 * NOTIFY_WORKER_DB_PASSWORD and REPORT_WORKER_DB_PASSWORD where given (Docker Compose gives them).
 * Reads DATABASE_URL (default: the local `orders` database as `postgres`): an admin role, which may
 * create roles and schemas.
 */
import { join } from 'node:path';
import { databaseUrlVariable, LOCAL_DEFAULTS, loadConfig } from '@shop/config';
import { redactDatabaseUrl } from '../database-url';
import { applyMigrations } from '../migrations/apply-migrations';
import { applyServiceRolePasswords } from '../migrations/service-role-passwords';

async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig({ DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl) });
  const result = await applyMigrations({
    databaseUrl: DATABASE_URL,
    migrationsDir: join(__dirname, '../../../../prisma/migrations'),
    log: (line) => console.log(`[migrate] ${line}`),
  });
  console.log(
    `[migrate] ${redactDatabaseUrl(DATABASE_URL)}: ${result.applied.length} applied, ${result.alreadyApplied.length} already up to date, ${result.functionsApplied.length} function file(s) applied`,
  );
  const passwordsSet = await applyServiceRolePasswords(DATABASE_URL);
  if (passwordsSet.length > 0) console.log(`[migrate] password set for ${passwordsSet.join(', ')}`);
}

main().catch((error: Error) => {
  console.error(`[migrate] ${error.message}`);
  process.exit(1);
});
