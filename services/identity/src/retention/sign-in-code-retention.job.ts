import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import type { Pool } from 'pg';

/** Rows one DELETE removes, so a large clean-up never holds a long lock. */
const ROWS_PER_STATEMENT = 5_000;

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
    let removed = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM sign_in_codes WHERE email IN
           (SELECT email FROM sign_in_codes WHERE expires_at < $1 LIMIT ${ROWS_PER_STATEMENT})`,
        [cutoff],
      );
      removed += rowCount ?? 0;
      if ((rowCount ?? 0) < ROWS_PER_STATEMENT) return { 'sign-in code rows': removed };
    }
  }
}
