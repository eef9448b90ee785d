import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { applyMigrations } from '@shop/db';
import { provisionTestVhost } from './broker-admin';
import { assertTestDatabase, testConfig, vhostOf } from './test-config';

/**
 * Jest globalSetup of the integration project: test database migrated, test vhost present with the queue
 * limit policies and the service users (testRabbitmqUrlAs).
 */
export default async function globalSetup(): Promise<void> {
  assertTestDatabase(testConfig.databaseUrl);
  buildServices();
  await applyMigrations({
    databaseUrl: testConfig.databaseUrl,
    migrationsDir: join(__dirname, '../../../prisma/migrations'),
  });
  const vhost = vhostOf(testConfig.rabbitmqUrl);
  const adminUser = decodeURIComponent(new URL(testConfig.rabbitmqUrl).username) || 'guest';
  ensureVhost(vhost, adminUser);
  if (vhost !== '/') provisionTestVhost(vhost, adminUser);
}

/**
 * Some specs run services as real processes from their dist/; build them (Nx skips what is up to date,
 * so this costs a second or two after the first time).
 */
function buildServices(): void {
  execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
    cwd: join(__dirname, '../../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' },
  });
}

function ensureVhost(vhost: string, user: string): void {
  if (vhost === '/') return;
  const existing = execFileSync('rabbitmqctl', ['-q', 'list_vhosts', 'name'], { encoding: 'utf8' }).split(
    '\n',
  );
  if (existing.map((line) => line.trim()).includes(vhost)) return;
  execFileSync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  execFileSync('rabbitmqctl', [
    '-q',
    'set_permissions',
    '-p',
    vhost,
    decodeURIComponent(user),
    '.*',
    '.*',
    '.*',
  ]);
}
