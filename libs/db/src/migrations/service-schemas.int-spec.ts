import { cp, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { SERVICE_DATABASE_ROLES, serviceDatabaseUrl, type DatabaseService } from '@shop/config';
import { testConfig } from '@shop/testing';
import { withDatabaseName } from '../database-url';
import { applyMigrations } from './apply-migrations';
import { applyServiceRolePasswords } from './service-role-passwords';

const repoMigrations = join(__dirname, '../../../../prisma/migrations');
const SCHEMAS_MIGRATION = '20261202000000_service_schemas';

/** Each service's schema and the tables in it. */
const OWNED_TABLES: Record<DatabaseService, string[]> = {
  'order-api': ['products', 'orders', 'order_items', 'outbox_messages'],
  'notify-worker': ['order_notifications', 'sign_in_code_emails'],
  'report-worker': ['order_reports'],
  identity: ['customers', 'sign_in_codes', 'signing_keys'],
  payment: ['payments'],
};
const SERVICES = Object.keys(OWNED_TABLES) as DatabaseService[];
const schemaOf = (service: DatabaseService) => SERVICE_DATABASE_ROLES[service];

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE the statement fails with, or 'ok'. */
const outcomeOf = (client: Client, sql: string) =>
  client.query(sql).then(
    () => 'ok',
    (error: { code?: string }) => error.code ?? 'no code',
  );

describe('each service owns its schema', () => {
  // Every (service, another service's table) pair, both ways round.
  const foreignPairs = SERVICES.flatMap((service) =>
    SERVICES.filter((owner) => owner !== service).flatMap((owner) =>
      OWNED_TABLES[owner].map((table) => [service, `${schemaOf(owner)}.${table}`] as const),
    ),
  );

  it.each(foreignPairs)('%s may neither read nor write %s (42501)', async (service, table) => {
    await withClient(testConfig.databaseUrlOf(service), async (client) => {
      expect({
        select: await outcomeOf(client, `SELECT * FROM ${table} LIMIT 1`),
        insert: await outcomeOf(client, `INSERT INTO ${table} DEFAULT VALUES`),
        update: await outcomeOf(client, `UPDATE ${table} SET created_at = created_at`),
        delete: await outcomeOf(client, `DELETE FROM ${table}`),
      }).toEqual({ select: '42501', insert: '42501', update: '42501', delete: '42501' });
    });
  });

  it.each(SERVICES)(
    '%s reads and writes its own tables by their plain names, and may not change the schema',
    async (service) => {
      await withClient(testConfig.databaseUrlOf(service), async (client) => {
        const { rows } = await client.query<{ search_path: string; user: string }>(
          'SELECT current_setting($$search_path$$) AS search_path, current_user AS user',
        );
        expect(rows[0]).toEqual({ user: schemaOf(service), search_path: schemaOf(service) });
        for (const table of OWNED_TABLES[service]) {
          expect(await outcomeOf(client, `SELECT * FROM ${table} LIMIT 1`)).toBe('ok');
        }
        for (const table of OWNED_TABLES[service]) {
          // WHERE false: the rights are checked all the same, and other specs' rows stay.
          expect(await outcomeOf(client, `DELETE FROM ${table} WHERE false`)).toBe('ok');
        }
        expect(await outcomeOf(client, `CREATE TABLE ${schemaOf(service)}.extra (id int)`)).toBe('42501');
        expect(await outcomeOf(client, `ALTER TABLE ${OWNED_TABLES[service][0]} ADD COLUMN x int`)).toBe(
          '42501',
        );
        // Nor the migrations' bookkeeping in public.
        expect(await outcomeOf(client, 'SELECT * FROM public."_prisma_migrations"')).toBe('42501');
      });
    },
  );
});

describe('the service_schemas migration on a database that has the shared schema', () => {
  const scratchUrl = withDatabaseName(testConfig.databaseUrl, 'orders_schemas_migration_test');
  const dropScratch = () =>
    withClient(withDatabaseName(testConfig.databaseUrl, 'postgres'), (admin) =>
      admin.query('DROP DATABASE IF EXISTS orders_schemas_migration_test WITH (FORCE)'),
    );
  beforeAll(dropScratch);
  afterAll(dropScratch);

  it('moves every row into its service schema, keeping constraints and triggers', async () => {
    // The migrations before it, as a database that ran them last week has them.
    const earlier = await mkdtemp(join(tmpdir(), 'migrations-before-schemas-'));
    for (const name of (await readdir(repoMigrations)).filter((name) => name < SCHEMAS_MIGRATION)) {
      await cp(join(repoMigrations, name), join(earlier, name), { recursive: true });
    }
    await applyMigrations({ databaseUrl: scratchUrl, migrationsDir: earlier });

    const productId = '4f1c1e4e-5d5c-4b0a-9a55-0d3f6f9b2a01';
    const orderId = '7d2a0b8e-1c3f-4e5a-8b6d-2f4e6a8c0b12';
    await withClient(scratchUrl, async (client) => {
      await client.query(
        `INSERT INTO public.products (id, sku, name, price_cents, stock) VALUES ($1, 'KEEP-1', 'Kept', 500, 7)`,
        [productId],
      );
      await client.query(
        `INSERT INTO public.orders (id, request_hash, customer_email, customer_name, total_cents, correlation_id, status, notified_at)
         VALUES ($1, repeat('a', 64), 'kept@example.com', 'Kept', 500, 'c-1', 'notified', now())`,
        [orderId],
      );
      await client.query(
        `INSERT INTO public.order_items (order_id, line_no, product_id, sku, name, unit_price_cents, quantity)
         VALUES ($1, 1, $2, 'KEEP-1', 'Kept', 500, 1)`,
        [orderId, productId],
      );
      await client.query(
        `INSERT INTO public.outbox_messages (id, exchange, routing_key, message_type, payload)
         VALUES (gen_random_uuid(), 'order', 'order.notify', 'order.placed.v1', '{}')`,
      );
      await client.query(
        `INSERT INTO public.order_notifications (order_id, message_id, status, recipient, sent_at)
         VALUES ($1, gen_random_uuid(), 'sent', 'kept@example.com', now())`,
        [orderId],
      );
      await client.query(
        `INSERT INTO public.order_reports (order_id, message_id, file_name, bytes, sha256)
         VALUES ($1, gen_random_uuid(), 'kept.pdf', 1234, repeat('b', 64))`,
        [orderId],
      );
    });

    const result = await applyMigrations({ databaseUrl: scratchUrl, migrationsDir: repoMigrations });
    // It, and the migrations that came after it.
    const later = (await readdir(repoMigrations)).filter(
      (name) => /^\d/.test(name) && name > SCHEMAS_MIGRATION,
    );
    expect(result.applied).toEqual([SCHEMAS_MIGRATION, ...later.sort()]);

    await withClient(scratchUrl, async (client) => {
      const count = async (table: string) =>
        Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      expect({
        products: await count('order_api.products'),
        orders: await count('order_api.orders'),
        items: await count('order_api.order_items'),
        outbox: await count('order_api.outbox_messages'),
        notifications: await count('notify_worker.order_notifications'),
        reports: await count('report_worker.order_reports'),
      }).toEqual({ products: 1, orders: 1, items: 1, outbox: 1, notifications: 1, reports: 1 });
      const { rows } = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      // Nothing but the migration runner's own bookkeeping is left in public.
      expect(rows).toEqual([{ table_name: '_function_files' }, { table_name: '_prisma_migrations' }]);
      // The oversell guard moved with its table.
      await expect(
        client.query(`UPDATE order_api.products SET stock = -1 WHERE id = $1`, [productId]),
      ).rejects.toThrow(/products_stock_non_negative/);
      // A notification no longer needs an order in order-api's table.
      await client.query(
        `INSERT INTO notify_worker.order_notifications (order_id, message_id, status, recipient)
         VALUES (gen_random_uuid(), gen_random_uuid(), 'sending', 'x@example.com')`,
      );
    });

    // The services' roles see the moved rows under their plain names.
    await withClient(serviceDatabaseUrl(scratchUrl, 'order-api'), async (client) => {
      const { rows } = await client.query('SELECT status, customer_email FROM orders');
      // 'notified' was a status then; orders placed before payments existed count as paid (order_lifecycle).
      expect(rows).toEqual([{ status: 'paid', customer_email: 'kept@example.com' }]);
    });
    await withClient(serviceDatabaseUrl(scratchUrl, 'report-worker'), async (client) => {
      const { rows } = await client.query('SELECT order_id, bytes FROM order_reports');
      expect(rows).toEqual([{ order_id: orderId, bytes: 1234 }]);
    });
  });
});

describe('applyServiceRolePasswords', () => {
  const hasPassword = (role: string) =>
    withClient(testConfig.databaseUrl, async (client) => {
      const { rows } = await client.query<{ set: boolean }>(
        'SELECT rolpassword IS NOT NULL AS set FROM pg_authid WHERE rolname = $1',
        [role],
      );
      return rows[0]?.set;
    });
  // Locally the roles have no password (the server trusts 127.0.0.1): leave them so.
  afterAll(() =>
    withClient(testConfig.databaseUrl, (client) => client.query('ALTER ROLE report_worker PASSWORD NULL')),
  );

  it('sets the password of each role whose variable is given, and only those', async () => {
    const set = await applyServiceRolePasswords(testConfig.databaseUrl, {
      REPORT_WORKER_DB_PASSWORD: "it's-a-secret",
    });
    expect(set).toEqual(['report_worker']);
    expect(await hasPassword('report_worker')).toBe(true);
    expect(await hasPassword('notify_worker')).toBe(false);
    expect(await applyServiceRolePasswords(testConfig.databaseUrl, {})).toEqual([]);
  });
});
