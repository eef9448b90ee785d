import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection, retryWhileDatabaseUnavailable } from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';
import { RECORD_SENT_PATIENCE_MS, type ClaimResult } from './notification.store';
import type { LifecycleEmailKind } from './order-lifecycle-email';

/** How long a claim protects an email being sent: as for order confirmations (see NotificationStore). */
const CLAIM_LEASE_SECONDS = 25;

const ClaimRow = z.object({ claimed: z.boolean(), status: z.string().nullable() });

/**
 * The order_lifecycle_emails row that makes each lifecycle email idempotent: one row per (order, kind),
 * claimed before the SMTP conversation and marked sent after it, so duplicates and redeliveries of an
 * event (whatever their message ids) never mail twice. No address is stored.
 */
@Injectable()
export class OrderLifecycleEmailStore {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Takes this email for this worker, unless it was sent or another worker holds a live claim. */
  async claim(orderId: string, kind: LifecycleEmailKind, messageId: string): Promise<ClaimResult> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'claim-order-lifecycle-email-v1',
      text: `WITH claimed AS (
               INSERT INTO order_lifecycle_emails (order_id, kind, message_id, status, claimed_until)
               VALUES ($1::uuid, $2::text, $3::uuid, 'sending', now() + make_interval(secs => $4::int))
               ON CONFLICT (order_id, kind) DO UPDATE
                  SET message_id = EXCLUDED.message_id, claimed_until = EXCLUDED.claimed_until
                WHERE order_lifecycle_emails.status = 'sending'
                  AND order_lifecycle_emails.claimed_until < now()
               RETURNING order_id
             )
             SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
                    (SELECT status::text FROM order_lifecycle_emails
                      WHERE order_id = $1::uuid AND kind = $2::text) AS status`,
      values: [orderId, kind, messageId, CLAIM_LEASE_SECONDS],
    });
    const row = ClaimRow.parse(rows[0]);
    if (row.claimed) return 'claimed';
    return row.status === 'sent' ? 'already-sent' : 'in-progress-elsewhere';
  }

  /** Gives the claim up at once after a failed send, so the retry does not wait for the lease. */
  async release(orderId: string, kind: LifecycleEmailKind): Promise<void> {
    await queryKeepingConnection(this.pool, {
      text: `UPDATE order_lifecycle_emails SET claimed_until = now()
              WHERE order_id = $1::uuid AND kind = $2::text AND status = 'sending'`,
      values: [orderId, kind],
    });
  }

  /** Records the accepted email; the server has it already, so a lost database is waited out, not retried. */
  async markSent(orderId: string, kind: LifecycleEmailKind, smtpMessageId: string): Promise<void> {
    await retryWhileDatabaseUnavailable(
      () =>
        queryKeepingConnection(this.pool, {
          text: `UPDATE order_lifecycle_emails
                    SET status = 'sent', sent_at = now(), claimed_until = NULL, smtp_message_id = $3::text
                  WHERE order_id = $1::uuid AND kind = $2::text`,
          values: [orderId, kind, smtpMessageId],
        }),
      { giveUpAfterMs: RECORD_SENT_PATIENCE_MS },
    );
  }
}
