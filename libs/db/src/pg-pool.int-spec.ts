import { testConfig } from '@shop/testing';
import type { Pool } from 'pg';
import { createPgPool, queryKeepingConnection } from './pg-pool';

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
