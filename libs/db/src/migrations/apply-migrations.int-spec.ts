import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { testConfig } from '@shop/testing';
import { withDatabaseName } from '../database-url';
import { applyMigrations } from './apply-migrations';

const repoMigrations = join(__dirname, '../../../../prisma/migrations');
const scratchUrl = withDatabaseName(testConfig.databaseUrl, 'orders_migrations_test');

async function dropScratchDatabase(): Promise<void> {
  const admin = new Client({ connectionString: withDatabaseName(testConfig.databaseUrl, 'postgres') });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS orders_migrations_test WITH (FORCE)');
  await admin.end();
}

async function query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: scratchUrl });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('applyMigrations (without the Prisma schema engine)', () => {
  beforeEach(dropScratchDatabase);
  afterAll(dropScratchDatabase);

  it('creates the database, applies every migration once and records them as prisma migrate does', async () => {
    const first = await applyMigrations({ databaseUrl: scratchUrl, migrationsDir: repoMigrations });
    expect(first.createdDatabase).toBe(true);
    expect(first.applied).toContain('20261123000000_init');

    const second = await applyMigrations({ databaseUrl: scratchUrl, migrationsDir: repoMigrations });
    expect(second).toEqual({
      createdDatabase: false,
      applied: [],
      alreadyApplied: first.applied,
      functionsApplied: [],
    });

    const recorded = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date;
      applied_steps_count: number;
    }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    const sql = await readFile(join(repoMigrations, '20261123000000_init', 'migration.sql'), 'utf8');
    expect(recorded[0]).toMatchObject({
      migration_name: '20261123000000_init',
      checksum: createHash('sha256').update(sql).digest('hex'),
      applied_steps_count: 1,
    });
    expect(recorded[0].finished_at).toBeInstanceOf(Date);

    // The schema's own guard against oversell is in place.
    await expect(
      query(
        `INSERT INTO products (id, sku, name, price_cents, stock) VALUES (gen_random_uuid(), 'X', 'x', 1, -1)`,
      ),
    ).rejects.toThrow(/products_stock_non_negative/);
  });

  it('ends a fresh database with the function files, after every migration that defined them before', async () => {
    const result = await applyMigrations({ databaseUrl: scratchUrl, migrationsDir: repoMigrations });
    expect(result.functionsApplied).toEqual(['place_orders.sql']);

    const file = await readFile(join(repoMigrations, '..', 'functions', 'place_orders.sql'), 'utf8');
    const [recorded] = await query<{ checksum: string }>(
      `SELECT checksum FROM "_function_files" WHERE name = 'place_orders.sql'`,
    );
    expect(recorded.checksum).toBe(createHash('sha256').update(file).digest('hex'));
    // One place_orders only, callable by order-api's role.
    const functions = await query<{ allowed: boolean }>(
      `SELECT has_function_privilege('order_api', p.oid, 'EXECUTE') AS allowed
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'order_api' AND p.proname = 'place_orders'`,
    );
    expect(functions).toEqual([{ allowed: true }]);
  });

  it('applies a function file again when its text changed, and only then', async () => {
    const root = await mkdtemp(join(tmpdir(), 'functions-'));
    await mkdir(join(root, 'migrations', '001_table'), { recursive: true });
    await writeFile(join(root, 'migrations', '001_table', 'migration.sql'), 'CREATE TABLE answers (n int);');
    await mkdir(join(root, 'functions'));
    const answerFile = join(root, 'functions', 'answer.sql');
    const defineAnswer = (n: number) =>
      writeFile(answerFile, `CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT ${n}';`);
    const migrate = () =>
      applyMigrations({ databaseUrl: scratchUrl, migrationsDir: join(root, 'migrations') });
    const answer = async () => (await query<{ n: number }>('SELECT answer() AS n'))[0].n;

    await defineAnswer(41);
    expect((await migrate()).functionsApplied).toEqual(['answer.sql']);
    expect(await answer()).toBe(41);

    // Unchanged: not run again (a function dropped by hand stays dropped).
    await query('DROP FUNCTION answer()');
    expect((await migrate()).functionsApplied).toEqual([]);
    await expect(answer()).rejects.toThrow(/does not exist/);

    await defineAnswer(42);
    expect((await migrate()).functionsApplied).toEqual(['answer.sql']);
    expect(await answer()).toBe(42);
    expect((await migrate()).functionsApplied).toEqual([]);
  });

  it('rolls a failing function file back and records nothing for it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'functions-'));
    await mkdir(join(root, 'migrations'));
    await mkdir(join(root, 'functions'));
    await writeFile(
      join(root, 'functions', 'broken.sql'),
      'CREATE TABLE half (id int);\nSELECT * FROM no_such_table;',
    );
    await expect(
      applyMigrations({ databaseUrl: scratchUrl, migrationsDir: join(root, 'migrations') }),
    ).rejects.toThrow(/Function file broken.sql failed and was rolled back/);
    expect(await query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half'`)).toEqual([]);
    expect(await query('SELECT name FROM "_function_files"')).toEqual([]);
  });

  it('rolls a failing migration back completely and records nothing for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    await mkdir(join(dir, '001_ok'));
    await writeFile(join(dir, '001_ok', 'migration.sql'), 'CREATE TABLE kept (id int);');
    await mkdir(join(dir, '002_broken'));
    await writeFile(
      join(dir, '002_broken', 'migration.sql'),
      'CREATE TABLE half (id int);\nSELECT * FROM no_such_table;',
    );

    await expect(applyMigrations({ databaseUrl: scratchUrl, migrationsDir: dir })).rejects.toThrow(
      /Migration 002_broken failed and was rolled back/,
    );
    const tables = await query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['_prisma_migrations', 'kept']);
    const recorded = await query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations"',
    );
    expect(recorded.map((r) => r.migration_name)).toEqual(['001_ok']);
  });
});
