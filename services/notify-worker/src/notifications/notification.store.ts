import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { performance } from 'node:perf_hooks';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  isDatabaseUnavailableError,
  isStatementError,
  type ItemResult,
  PG_POOL,
  queryKeepingConnection,
  retryWhileDatabaseUnavailable,
} from '@shop/db';

export type ClaimResult = 'claimed' | 'already-sent' | 'in-progress-elsewhere';

/**
 * How long a claim protects an email being sent; a worker that dies mid-send loses it after this.
 * Longer than one send can take (the mailer's timeouts: 5 s connect, 5 s greeting, 15 s idle socket),
 * and shorter than the redelivered message's retries (1 s + 5 s + 30 s): with 60 s, a worker killed
 * mid-send left its order parked in the dead-letter queue before the claim expired (fault drill 3).
 */
const CLAIM_LEASE_SECONDS = 25;

/**
 * How long recording an accepted email may wait for PostgreSQL to come back. Well inside the lease,
 * so nobody re-sends meanwhile: giving up would have the redelivery send the email a second time.
 */
export const RECORD_SENT_PATIENCE_MS = 15_000;

/** Most accepted emails one UPDATE records. */
const MAX_MARKS_PER_STATEMENT = 500;

interface SentMark {
  orderId: string;
  smtp: { messageId: string; response: string };
  /** performance.now() past which this email stops waiting for the database. */
  giveUpAt: number;
}

interface ClaimRequest {
  orderId: string;
  messageId: string;
  recipient: string;
}

/** Most claims one statement takes. */
const MAX_CLAIMS_PER_STATEMENT = 200;

const RECORDED: ItemResult<void> = { ok: true, value: undefined };

/**
 * The order_notifications row that makes sending idempotent: one row per order, claimed before the
 * SMTP conversation and marked sent after it, so duplicates and redeliveries never send twice.
 */
@Injectable()
export class NotificationStore {
  private readonly logger = new Logger(NotificationStore.name);
  /**
   * Accepted emails whose 250 came while the previous UPDATE ran are recorded by the next one. No
   * waiting bound: the prefetch bounds it, and refusing a mark would have the retry send again.
   */
  private readonly sentMarks = new GroupCommit<SentMark, void>((marks) => this.recordSentBatch(marks), {
    maxBatchSize: MAX_MARKS_PER_STATEMENT,
    maxWaiting: Number.POSITIVE_INFINITY,
  });

  /** The claims of the messages in hand share a statement; the prefetch bounds how many wait. */
  private readonly claims = new GroupCommit<ClaimRequest, ClaimResult>(
    eachAloneIfBatchFails((requests) => this.claimBatch(requests), isStatementError),
    { maxBatchSize: MAX_CLAIMS_PER_STATEMENT, maxWaiting: Number.POSITIVE_INFINITY },
  );

  // Plain pg, no Prisma: the worker never loads Prisma's query compiler (about 40 MB of its memory).
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Takes the order's email for this worker, unless it was sent or another worker holds a live claim.
   * The claims of the messages in hand at once share one statement (see claimBatch).
   */
  claim(orderId: string, messageId: string, recipient: string): Promise<ClaimResult> {
    return this.claims.submit({ orderId, messageId, recipient });
  }

  /**
   * One statement for a batch of claims; its final SELECT sees each row as it was before the statement's
   * own INSERT. A second copy of an order in the same batch finds the first copy's claim, as it would
   * in the next statement: 'in-progress-elsewhere' (or 'already-sent' when the email went out before).
   * A batch that PostgreSQL refuses (one claim's value does not fit its column) is claimed again one
   * order at a time, so only that order's message fails.
   */
  private async claimBatch(requests: ClaimRequest[]): Promise<ItemResult<ClaimResult>[]> {
    const firstCopies = new Map<string, ClaimRequest>();
    for (const request of requests) {
      const key = request.orderId.toLowerCase();
      if (!firstCopies.has(key)) firstCopies.set(key, request);
    }
    const leaders = [...firstCopies.values()];
    const { rows } = await queryKeepingConnection<{
      order_id: string;
      claimed: boolean;
      status: string | null;
    }>(this.pool, {
      name: 'claim-notifications-v1',
      text: `WITH wanted AS (
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS w(order_id, message_id, recipient)
               ),
               claimed AS (
                 INSERT INTO order_notifications (order_id, message_id, status, recipient, claimed_until)
                 SELECT order_id, message_id, 'sending', recipient, now() + make_interval(secs => $4::int)
                   FROM wanted
                 ON CONFLICT (order_id) DO UPDATE
                    SET message_id = EXCLUDED.message_id,
                        attempts = order_notifications.attempts + 1,
                        claimed_until = EXCLUDED.claimed_until
                  WHERE order_notifications.status = 'sending' AND order_notifications.claimed_until < now()
                 RETURNING order_id
               )
               SELECT w.order_id::text AS order_id,
                      EXISTS (SELECT 1 FROM claimed c WHERE c.order_id = w.order_id) AS claimed,
                      n.status::text AS status
                 FROM wanted w LEFT JOIN order_notifications n ON n.order_id = w.order_id`,
      values: [
        leaders.map((request) => request.orderId),
        leaders.map((request) => request.messageId),
        leaders.map((request) => request.recipient),
        CLAIM_LEASE_SECONDS,
      ],
    });
    const outcomes = new Map<string, ClaimResult>();
    for (const row of rows) {
      outcomes.set(
        row.order_id,
        row.claimed ? 'claimed' : row.status === 'sent' ? 'already-sent' : 'in-progress-elsewhere',
      );
    }
    return requests.map((request) => {
      const key = request.orderId.toLowerCase();
      const outcome = outcomes.get(key);
      if (!outcome)
        return { ok: false, error: new Error(`the claim statement returned no row for order ${key}`) };
      if (firstCopies.get(key) === request) return { ok: true, value: outcome };
      return { ok: true, value: outcome === 'claimed' ? 'in-progress-elsewhere' : outcome };
    });
  }

  /** When the order's email was recorded as sent; null while it is not. */
  async sentAt(orderId: string): Promise<Date | null> {
    const { rows } = await queryKeepingConnection<{ sent_at: Date | null }>(this.pool, {
      text: 'SELECT sent_at FROM order_notifications WHERE order_id = $1::uuid',
      values: [orderId],
    });
    return rows[0]?.sent_at ?? null;
  }

  /** Gives the claim up at once after a failed send, so the retry does not wait for the lease. */
  async release(orderId: string): Promise<void> {
    await queryKeepingConnection(this.pool, {
      text: `UPDATE order_notifications SET claimed_until = now() WHERE order_id = $1::uuid AND status = 'sending'`,
      values: [orderId],
    });
  }

  /**
   * Records the accepted email, together with the other emails accepted meanwhile, in one statement; resolves once that committed. The SMTP server has the email already,
   * so a lost database connection is waited out (RECORD_SENT_PATIENCE_MS from this call) rather than
   * turned into a retry that would send it again.
   */
  markSent(orderId: string, smtp: { messageId: string; response: string }): Promise<void> {
    return this.sentMarks.submit({ orderId, smtp, giveUpAt: performance.now() + RECORD_SENT_PATIENCE_MS });
  }

  private async recordSentBatch(marks: SentMark[]): Promise<ItemResult<void>[]> {
    const results = new Map<SentMark, ItemResult<void>>();
    let waiting = marks;
    while (waiting.length > 0) {
      const giveUpAt = Math.min(...waiting.map((mark) => mark.giveUpAt));
      try {
        await retryWhileDatabaseUnavailable(() => this.recordSent(waiting), {
          giveUpAfterMs: giveUpAt - performance.now(),
          onRetry: (error, attempt, delayMs) =>
            this.logger.warn(
              `${describe(waiting)}: email accepted but not yet recorded (${(error as Error).message}); ` +
                `attempt ${attempt + 1} in ${delayMs} ms`,
            ),
        });
        for (const mark of waiting) results.set(mark, RECORDED);
        waiting = [];
      } catch (error) {
        if (!isDatabaseUnavailableError(error)) {
          // Something about one email (a value a column refuses, say) must fail that email alone.
          if (waiting.length === 1) results.set(waiting[0], { ok: false, error });
          else for (const mark of waiting) results.set(mark, await this.recordAlone(mark));
          break;
        }
        // Each email keeps its own patience: only those out of it give up, the rest keep waiting.
        const now = performance.now();
        for (const mark of waiting) if (mark.giveUpAt <= now) results.set(mark, { ok: false, error });
        waiting = waiting.filter((mark) => mark.giveUpAt > now);
      }
    }
    return marks.map((mark) => results.get(mark)!);
  }

  private recordAlone(mark: SentMark): Promise<ItemResult<void>> {
    return retryWhileDatabaseUnavailable(() => this.recordSent([mark]), {
      giveUpAfterMs: mark.giveUpAt - performance.now(),
    }).then(
      () => RECORDED,
      (error: unknown) => ({ ok: false, error }),
    );
  }

  private async recordSent(marks: SentMark[]): Promise<void> {
    await queryKeepingConnection(this.pool, {
      name: 'record-sent-notifications-v2',
      text: `UPDATE order_notifications n
                SET status = 'sent', sent_at = now(), claimed_until = NULL,
                    smtp_message_id = a.smtp_message_id, smtp_response = a.smtp_response
               FROM unnest($1::uuid[], $2::text[], $3::text[]) AS a(order_id, smtp_message_id, smtp_response)
              WHERE n.order_id = a.order_id`,
      values: [
        marks.map((mark) => mark.orderId),
        marks.map((mark) => mark.smtp.messageId),
        marks.map((mark) => mark.smtp.response),
      ],
    });
  }
}

function describe(marks: SentMark[]): string {
  if (marks.length === 1) return `order ${marks[0].orderId}`;
  return `${marks.length} orders (${marks[0].orderId}, …)`;
}
