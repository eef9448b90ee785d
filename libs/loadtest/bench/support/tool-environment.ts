import { applyMigrations, databaseNameOf, withDatabaseName } from '@shop/db';
import { testSecrets } from '@shop/testing';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from 'pg';

/**
 * What every bench and drill shares: its own database and vhost (never `orders`, `/`, nor the tests'
 * `orders_test` / `shop_test`), the one guard that refuses any other database, and the built services.
 */
export const REPO_ROOT = join(__dirname, '../../../..');

/**
 * The operator token of the services a tool starts: ServiceLauncher starts them with the test secrets
 * (startServiceProcess's default), so product writes send this one.
 */
export const TOOL_OPS_TOKEN = testSecrets.OPS_TOKEN;
export const BENCH_DATABASE = 'orders_bench';
export const BENCH_VHOST = 'shop_bench';

/** The business tables of every service, emptied before each run. */
const BUSINESS_TABLES =
  'notify_worker.order_notifications, notify_worker.order_lifecycle_emails, report_worker.order_reports, ' +
  'order_api.order_items, order_api.outbox_messages, order_api.orders, order_api.products, payment.payments';

export function benchDatabaseUrl(databaseUrl: string): string {
  return withDatabaseName(databaseUrl, BENCH_DATABASE);
}

export function benchRabbitmqUrl(rabbitmqUrl: string): string {
  return withVhost(rabbitmqUrl, BENCH_VHOST);
}

export function withVhost(rabbitmqUrl: string, vhost: string): string {
  const url = new URL(rabbitmqUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

/**
 * The one database guard of the tools: a bench or drill refuses any database whose name lacks `word`
 * ("bench", "drill"), as specs refuse one without "test", so a tool can never empty real data.
 */
export function assertToolDatabase(databaseUrlOrName: string, word: 'bench' | 'drill' = 'bench'): void {
  const name = /^postgres(ql)?:/.test(databaseUrlOrName)
    ? databaseNameOf(databaseUrlOrName)
    : databaseUrlOrName;
  if (!name.includes(word))
    throw new Error(`Refusing to use database "${name}": a ${word} database's name must contain "${word}".`);
}

/** Creates (if missing) and migrates the tool's database, then empties its business tables. */
export async function prepareToolDatabase(
  databaseUrl: string,
  log: (line: string) => void,
  word: 'bench' | 'drill' = 'bench',
): Promise<void> {
  assertToolDatabase(databaseUrl, word);
  await applyMigrations({
    databaseUrl,
    migrationsDir: join(REPO_ROOT, 'prisma/migrations'),
    log: (line) => log(`database ${databaseNameOf(databaseUrl)}: ${line}`),
  });
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await emptyBusinessTables(client, word);
  } finally {
    await client.end();
  }
}

/** Empties every business table, after asking the server which database this really is. */
export async function emptyBusinessTables(
  db: Pick<Client, 'query'>,
  word: 'bench' | 'drill' = 'bench',
): Promise<void> {
  const { rows } = await db.query<{ db: string }>('SELECT current_database() AS db');
  assertToolDatabase(rows[0].db, word);
  await db.query(`TRUNCATE ${BUSINESS_TABLES}`);
}

// ---------------------------------------------------------------------------------------------
// Built services: the tools measure and drill the built code

export type ServiceName =
  'order-api' | 'notify-worker' | 'report-worker' | 'log-aggregator' | 'payment' | 'identity';

export const builtEntryOf = (service: ServiceName) => join(REPO_ROOT, 'services', service, 'dist', 'main.js');

/** Fails with the command to run when a service has not been built. */
export function assertBuilt(services: readonly ServiceName[]): void {
  const missing = services.filter((name) => !existsSync(builtEntryOf(name)));
  if (missing.length > 0) {
    throw new Error(
      `${missing.map((name) => relative(REPO_ROOT, builtEntryOf(name))).join(', ')} missing: run \`npm run build\` first ` +
        '(the tools run the built services).',
    );
  }
}

/** Sources changed after the services' dist was built, which a bench would not measure. */
export function sourcesNewerThanBuild(services: readonly ServiceName[]): string[] {
  const builtAt = Math.min(...services.map((name) => statSync(builtEntryOf(name)).mtimeMs));
  const roots = [
    ...services.map((name) => join(REPO_ROOT, 'services', name, 'src')),
    ...readdirSync(join(REPO_ROOT, 'libs')).map((lib) => join(REPO_ROOT, 'libs', lib, 'src')),
  ];
  return roots
    .filter((root) => existsSync(root))
    .flatMap((root) =>
      readdirSync(root, { recursive: true, encoding: 'utf8' }).map((file) => join(root, file)),
    )
    .filter((file) => /(?<!spec)\.ts$/.test(file) && !file.includes('/generated/'))
    .filter((file) => statSync(file).mtimeMs > builtAt)
    .map((file) => relative(REPO_ROOT, file));
}

/** Prints which sources the build does not contain yet, if any. */
export function warnIfBuildIsStale(services: readonly ServiceName[]): void {
  const stale = sourcesNewerThanBuild(services);
  if (stale.length === 0) return;
  console.warn(
    `warning: ${stale.length} source files changed after the services were built ` +
      `(${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}); run \`npm run build\` to measure them.`,
  );
}

/** When the services were last built: another process (an integration run) may rebuild them meanwhile. */
export function buildStamp(services: readonly ServiceName[]): number {
  return Math.max(...services.map((name) => statSync(builtEntryOf(name)).mtimeMs));
}

/**
 * A module of a built service, loaded at run time (a tool may not import a service's sources): the
 * orders bench's baseline runs the API's own statement.
 */
export function loadBuilt<T>(service: ServiceName, path: string): T {
  const file = join(REPO_ROOT, 'services', service, 'dist', path);
  if (!existsSync(file))
    throw new Error(`${relative(REPO_ROOT, file)} missing: run \`npm run build\` first.`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as T;
}
