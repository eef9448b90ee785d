import { testConfig } from '@shop/testing';
import type { Pool } from 'pg';
import { createPgPool, inTransaction, queryKeepingConnection } from './pg-pool';

const backendPid = async (pool: Pool) =>
  (await queryKeepingConnection<{ pid: number }>(pool, { text: 'SELECT pg_backend_pid() AS pid' })).rows[0]
    .pid;

describe('queryKeepingConnection (real PostgreSQL)', () => {
  let pool: Pool;

  beforeEach(() => {
    // One connection, so "the same connection" is observable through its backend pid.
    pool = createPgPool({
      databaseUrl: testConfig.databaseUrl,
      maxConnections: 1,
      applicationName: 'pg-pool-spec',
    });
  });

  afterEach(() => pool.end());

  it('keeps the connection after an error raised by the statement (pool.query would close it)', async () => {
    const before = await backendPid(pool);

    await expect(
      queryKeepingConnection(pool, {
        text: "DO $$ BEGIN RAISE EXCEPTION 'OUT_OF_STOCK' USING ERRCODE = 'P0001'; END $$",
      }),
    ).rejects.toMatchObject({ code: 'P0001', message: 'OUT_OF_STOCK' });

    expect(await backendPid(pool)).toBe(before);
    expect(pool.totalCount).toBe(1);
  });

  it('drops a connection whose backend was terminated and answers on a new one', async () => {
    const before = await backendPid(pool);

    await expect(
      queryKeepingConnection(pool, { text: 'SELECT pg_terminate_backend(pg_backend_pid())' }),
    ).rejects.toThrow();

    const after = await backendPid(pool);
    expect(after).not.toBe(before);
  });
});

describe('inTransaction (real PostgreSQL)', () => {
  let pool: Pool;
  const table = 'pg_pool_spec_rows';

  beforeAll(async () => {
    pool = createPgPool({
      databaseUrl: testConfig.databaseUrl,
      maxConnections: 1,
      applicationName: 'pg-pool-spec',
    });
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id int PRIMARY KEY)`);
  });
  beforeEach(() => pool.query(`TRUNCATE ${table}`));
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  const rowIds = async () => (await pool.query(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => r.id);

  it('commits what the work wrote and returns its result', async () => {
    const result = await inTransaction(pool, async (client) => {
      await client.query(`INSERT INTO ${table} VALUES (1), (2)`);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await rowIds()).toEqual([1, 2]);
  });

  it('rolls back everything when the work throws after a write, and keeps the connection', async () => {
    const before = await backendPid(pool);
    await expect(
      inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} VALUES (1)`);
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await rowIds()).toEqual([]);
    expect(await backendPid(pool)).toBe(before);
  });

  it('drops a connection whose backend was terminated mid-transaction and answers on a new one', async () => {
    const before = await backendPid(pool);
    await expect(
      inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} VALUES (1)`);
        await client.query('SELECT pg_terminate_backend(pg_backend_pid())');
      }),
    ).rejects.toThrow();
    expect(await backendPid(pool)).not.toBe(before);
    expect(await rowIds()).toEqual([]);
  });
});
