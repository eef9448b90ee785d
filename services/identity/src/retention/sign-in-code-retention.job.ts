import { deleteRowsOlderThan } from '@shop/db';
import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import type { Pool } from 'pg';

/**
 * Removes sign-in code rows (each names an email address) whose code expired before the cutoff: by
 * then neither the code nor the per-email window it counted in means anything. Customers themselves
 * (id and email) are the account and stay.
 */
export class SignInCodeRetentionJob extends RetentionJob {
  constructor(
    private readonly pool: Pool,
    retention: RetentionOptions,
  ) {
    super(retention);
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    const rows = { table: 'sign_in_codes', key: 'email', timeColumn: 'expires_at' };
    return { 'sign-in code rows': await deleteRowsOlderThan(this.pool, rows, cutoff) };
  }
}
