import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection, retryWhileDatabaseUnavailable } from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';
import { RECORD_SENT_PATIENCE_MS, type ClaimResult } from './notification.store';

/** How long a claim protects an email being sent: as for order confirmations (see NotificationStore). */
const CLAIM_LEASE_SECONDS = 25;

const ClaimRow = z.object({ claimed: z.boolean(), status: z.string().nullable() });

/**
 * The sign_in_code_emails row that makes mailing a code idempotent: one row per code id, claimed
 * before the SMTP conversation and marked sent after it. Neither the address nor the code is stored.
 */
@Injectable()
export class SignInCodeEmailStore {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Takes the code's email for this worker, unless it was sent or another worker holds a live claim. */
  async claim(codeId: string, messageId: string): Promise<ClaimResult> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'claim-sign-in-code-email-v1',
      text: `WITH claimed AS (
               INSERT INTO sign_in_code_emails (code_id, message_id, status, claimed_until)
               VALUES ($1::uuid, $2::uuid, 'sending', now() + make_interval(secs => $3::int))
               ON CONFLICT (code_id) DO UPDATE
                  SET message_id = EXCLUDED.message_id, claimed_until = EXCLUDED.claimed_until
                WHERE sign_in_code_emails.status = 'sending' AND sign_in_code_emails.claimed_until < now()
               RETURNING code_id
             )
             SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
                    (SELECT status::text FROM sign_in_code_emails WHERE code_id = $1::uuid) AS status`,
      values: [codeId, messageId, CLAIM_LEASE_SECONDS],
    });
    const row = ClaimRow.parse(rows[0]);
    if (row.claimed) return 'claimed';
    return row.status === 'sent' ? 'already-sent' : 'in-progress-elsewhere';
  }

  /** Gives the claim up at once after a failed send, so the retry does not wait for the lease. */
  async release(codeId: string): Promise<void> {
    await queryKeepingConnection(this.pool, {
      text: `UPDATE sign_in_code_emails SET claimed_until = now() WHERE code_id = $1::uuid AND status = 'sending'`,
      values: [codeId],
    });
  }

  /** Records the accepted email; the server has it already, so a lost database is waited out, not retried. */
  async markSent(codeId: string): Promise<void> {
    await retryWhileDatabaseUnavailable(
      () =>
        queryKeepingConnection(this.pool, {
          text: `UPDATE sign_in_code_emails SET status = 'sent', sent_at = now(), claimed_until = NULL
                  WHERE code_id = $1::uuid`,
          values: [codeId],
        }),
      { giveUpAfterMs: RECORD_SENT_PATIENCE_MS },
    );
  }
}
