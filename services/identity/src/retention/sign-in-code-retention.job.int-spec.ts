import { createTestPool, testConfig } from '@shop/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { SignInCodeRetentionJob } from './sign-in-code-retention.job';

describe('SignInCodeRetentionJob (real PostgreSQL)', () => {
  let pool: Pool;
  /** The job runs as identity does: its own role, its own schema. */
  let identityPool: Pool;

  const now = new Date('2026-12-07T10:00:00.000Z');
  const old = new Date('2026-11-07T09:59:59.000Z');
  const recent = new Date('2026-11-07T10:00:01.000Z');

  beforeAll(async () => {
    pool = createTestPool();
    identityPool = new Pool({ connectionString: testConfig.databaseUrlOf('identity'), max: 2 });
  });
  afterAll(async () => {
    await identityPool.end();
    await pool.end();
  });
  beforeEach(() => pool.query('DELETE FROM identity.sign_in_codes'));

  const code = (email: string, expiresAt: Date) =>
    pool.query(
      `INSERT INTO identity.sign_in_codes
         (email, code_id, code_hash, salt, expires_at, tries_left, window_started_at, codes_in_window)
       VALUES ($1, $2, $3, $4, $5, 5, $5, 1)`,
      [email, randomUUID(), randomBytes(32), randomBytes(16), expiresAt],
    );

  it('the retention job removes exactly what is older than the limit', async () => {
    await code('old@example.com', old);
    await code('ancient@example.com', new Date('2026-01-01T00:00:00Z'));
    await code('recent@example.com', recent);
    await code('live@example.com', new Date(now.getTime() + 60_000));
    const job = new SignInCodeRetentionJob(identityPool, { retentionDays: 30, intervalMs: 86_400_000 });

    await expect(job.runOnce(now)).resolves.toEqual({ 'sign-in code rows': 2 });

    const { rows } = await pool.query<{ email: string }>(
      'SELECT email FROM identity.sign_in_codes ORDER BY email',
    );
    expect(rows.map((row) => row.email)).toEqual(['live@example.com', 'recent@example.com']);
  });
});
