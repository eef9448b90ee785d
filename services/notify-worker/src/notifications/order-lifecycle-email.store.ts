import { Inject, Injectable } from '@nestjs/common';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  isStatementError,
  type ItemResult,
  PG_POOL,
  queryKeepingConnection,
  retryWhileDatabaseUnavailable,
} from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';
import { RECORD_SENT_PATIENCE_MS, type ClaimResult } from './notification.store';
import type { LifecycleEmailKind } from './order-lifecycle-email';

/** How long a claim protects an email being sent: as for order confirmations (see NotificationStore). */
const CLAIM_LEASE_SECONDS = 25;

/** Most claims, and most sent emails, one statement takes. */
const MAX_PER_STATEMENT = 200;

interface ClaimRequest {
  orderId: string;
  kind: LifecycleEmailKind;
  messageId: string;
}

interface SentMark {
  orderId: string;
  kind: LifecycleEmailKind;
  smtpMessageId: string;
}

const ClaimRow = z.object({
  order_id: z.string(),
  kind: z.string(),
  claimed_by: z.string().nullable(),
  status: z.string().nullable(),
});

const keyOf = (orderId: string, kind: string) => `${orderId.toLowerCase()}/${kind}`;

/**
 * The order_lifecycle_emails row that makes each lifecycle email idempotent: one row per (order, kind),
 * claimed before the SMTP conversation and marked sent after it, so duplicates and redeliveries of an
 * event (whatever their message ids) never mail twice. No address is stored.
 *
 * The claims in hand at once share one statement, and so do the sent marks (GroupCommit), as the
 * placement email's store does: a flash sale's payments bring one lifecycle email per order, and two
 * commits per email were most of what they cost PostgreSQL. A batch PostgreSQL refuses is applied again
 * one item at a time.
 */
@Injectable()
export class OrderLifecycleEmailStore {
  private readonly claims = new GroupCommit<ClaimRequest, ClaimResult>(
    eachAloneIfBatchFails((batch) => this.claimBatch(batch), isStatementError),
    // No waiting bound: the consumer's prefetch bounds how many claims can wait.
    { maxBatchSize: MAX_PER_STATEMENT, maxWaiting: Number.POSITIVE_INFINITY },
  );

  private readonly marks = new GroupCommit<SentMark, void>(
    eachAloneIfBatchFails((batch) => this.markBatch(batch), isStatementError),
    // Refusing a mark would have the retry send the email again: the prefetch bounds these too.
    { maxBatchSize: MAX_PER_STATEMENT, maxWaiting: Number.POSITIVE_INFINITY },
  );

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Takes this email for this worker, unless it was sent or another worker holds a live claim. */
  claim(orderId: string, kind: LifecycleEmailKind, messageId: string): Promise<ClaimResult> {
    return this.claims.submit({ orderId, kind, messageId });
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
    await retryWhileDatabaseUnavailable(() => this.marks.submit({ orderId, kind, smtpMessageId }), {
      giveUpAfterMs: RECORD_SENT_PATIENCE_MS,
    });
  }

  /**
   * One statement for every claim in hand: the first request for an (order, kind) inserts or takes over
   * an expired claim; the status it reports is the one before the statement (a data-modifying CTE's
   * rows are not visible to the rest of its statement), as a lone claim would see it.
   */
  private async claimBatch(batch: ClaimRequest[]): Promise<ItemResult<ClaimResult>[]> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'claim-order-lifecycle-emails-v2',
      text: `WITH wanted AS (
               SELECT DISTINCT ON (w.order_id, w.kind) w.order_id, w.kind, w.message_id
                 FROM unnest($1::uuid[], $2::text[], $3::uuid[]) WITH ORDINALITY AS w(order_id, kind, message_id, ord)
                ORDER BY w.order_id, w.kind, w.ord
             ),
             claimed AS (
               INSERT INTO order_lifecycle_emails (order_id, kind, message_id, status, claimed_until)
               SELECT order_id, kind, message_id, 'sending', now() + make_interval(secs => $4::int)
                 FROM wanted
                ORDER BY order_id, kind
               ON CONFLICT (order_id, kind) DO UPDATE
                  SET message_id = EXCLUDED.message_id, claimed_until = EXCLUDED.claimed_until
                WHERE order_lifecycle_emails.status = 'sending'
                  AND order_lifecycle_emails.claimed_until < now()
               RETURNING order_id, kind, message_id
             )
             SELECT w.order_id::text AS order_id, w.kind, c.message_id::text AS claimed_by, e.status::text AS status
               FROM wanted w
               LEFT JOIN claimed c ON c.order_id = w.order_id AND c.kind = w.kind
               LEFT JOIN order_lifecycle_emails e ON e.order_id = w.order_id AND e.kind = w.kind`,
      values: [
        batch.map((claim) => claim.orderId),
        batch.map((claim) => claim.kind),
        batch.map((claim) => claim.messageId),
        CLAIM_LEASE_SECONDS,
      ],
    });
    const byKey = new Map(
      rows.map((raw) => {
        const row = ClaimRow.parse(raw);
        return [keyOf(row.order_id, row.kind), row] as const;
      }),
    );
    // The same email twice in one batch (a redelivery beside the first delivery): one claim only.
    const credited = new Set<string>();
    return batch.map((claim): ItemResult<ClaimResult> => {
      const key = keyOf(claim.orderId, claim.kind);
      const row = byKey.get(key);
      if (row?.claimed_by?.toLowerCase() === claim.messageId.toLowerCase() && !credited.has(key)) {
        credited.add(key);
        return { ok: true, value: 'claimed' };
      }
      return { ok: true, value: row?.status === 'sent' ? 'already-sent' : 'in-progress-elsewhere' };
    });
  }

  private async markBatch(batch: SentMark[]): Promise<ItemResult<void>[]> {
    await queryKeepingConnection(this.pool, {
      name: 'mark-order-lifecycle-emails-sent-v2',
      text: `UPDATE order_lifecycle_emails e
                SET status = 'sent', sent_at = now(), claimed_until = NULL, smtp_message_id = m.smtp_message_id
               FROM unnest($1::uuid[], $2::text[], $3::text[]) AS m(order_id, kind, smtp_message_id)
              WHERE e.order_id = m.order_id AND e.kind = m.kind`,
      values: [
        batch.map((mark) => mark.orderId),
        batch.map((mark) => mark.kind),
        batch.map((mark) => mark.smtpMessageId),
      ],
    });
    return batch.map(() => ({ ok: true, value: undefined }));
  }
}
