import { applyMigrations, databaseNameOf, withDatabaseName } from '@shop/db';
import { connect } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from 'pg';

/**
 * What every benchmark shares: its own database `orders_bench` and vhost `shop_bench` (never `orders`,
 * `/`, nor the tests' `orders_test` / `shop_test`), and the built services it runs.
 */
export const REPO_ROOT = join(__dirname, '../../..');
export const BENCH_DATABASE = 'orders_bench';
export const BENCH_VHOST = 'shop_bench';

export function benchDatabaseUrl(databaseUrl: string): string {
  return withDatabaseName(databaseUrl, BENCH_DATABASE);
}

export function benchRabbitmqUrl(rabbitmqUrl: string): string {
  const url = new URL(rabbitmqUrl);
  url.pathname = `/${encodeURIComponent(BENCH_VHOST)}`;
  return url.toString();
}

/** Creates (if missing) and migrates the bench database, then empties its business tables. */
export async function prepareEmptyBenchDatabase(
  databaseUrl: string,
  log: (line: string) => void,
): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  if (name !== BENCH_DATABASE)
    throw new Error(`Refusing to reset database "${name}": benches use ${BENCH_DATABASE}.`);
  await applyMigrations({
    databaseUrl,
    migrationsDir: join(REPO_ROOT, 'prisma/migrations'),
    log: (line) => log(`database ${name}: ${line}`),
  });
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      'TRUNCATE order_notifications, order_reports, order_items, outbox_messages, orders, products',
    );
  } finally {
    await client.end();
  }
}

/** `rabbitmqctl add_vhost` / `set_permissions` for the URL's user when the bench vhost is missing. */
export function ensureBenchVhostExists(rabbitmqUrl: string, log: (line: string) => void): void {
  ensureVhostExists(rabbitmqUrl, BENCH_VHOST, log);
}

/** Creates `vhost` with full permissions for the URL's user when it is missing (benches, drills). */
export function ensureVhostExists(rabbitmqUrl: string, vhost: string, log: (line: string) => void): void {
  const rabbitmqctl = (...args: string[]) =>
    execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });
  const vhosts = rabbitmqctl('list_vhosts', 'name')
    .split('\n')
    .map((line) => line.trim());
  if (vhosts.includes(vhost)) return;
  const user = decodeURIComponent(new URL(rabbitmqUrl).username) || 'guest';
  rabbitmqctl('add_vhost', vhost);
  rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  log(`created vhost ${vhost} for ${user}`);
}

/** Fails with the command to run when a service has not been built: benches measure the built code. */
export function assertBuilt(services: readonly string[]): void {
  const mainOf = (service: string) => join(REPO_ROOT, 'services', service, 'dist', 'main.js');
  const missing = services.filter((name) => !existsSync(mainOf(name)));
  if (missing.length > 0) {
    throw new Error(
      `${missing.map((name) => relative(REPO_ROOT, mainOf(name))).join(', ')} missing: run \`npm run build\` first.`,
    );
  }
}

/** Empties `queues` of the URL's vhost; a queue that does not exist yet is skipped (the services declare it). */
export async function purgeQueues(rabbitmqUrl: string, queues: readonly string[]): Promise<void> {
  const connection = await connect(rabbitmqUrl);
  connection.on('error', () => undefined);
  try {
    for (const queue of queues) {
      // One channel per queue: purging a missing queue closes its channel with 404.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.purgeQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}
