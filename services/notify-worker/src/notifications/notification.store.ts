import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { performance } from 'node:perf_hooks';
import {
  GroupCommit,
  isDatabaseUnavailableError,
  type ItemResult,
  PG_POOL,
  PrismaService,
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

  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /**
   * Takes the order's email for this worker, unless it was sent or another worker holds a live claim.
   * One round trip: the statement's final SELECT sees the row as it was before its own INSERT.
   */
  async claim(orderId: string, messageId: string, recipient: string): Promise<ClaimResult> {
    const { rows } = await queryKeepingConnection<{ claimed: boolean; status: string | null }>(this.pool, {
      name: 'claim-notification-v1',
      text: `WITH claimed AS (
               INSERT INTO order_notifications (order_id, message_id, status, recipient, claimed_until)
               VALUES ($1::uuid, $2::uuid, 'sending', $3, now() + make_interval(secs => $4::int))
               ON CONFLICT (order_id) DO UPDATE
                  SET message_id = EXCLUDED.message_id,
                      attempts = order_notifications.attempts + 1,
                      claimed_until = EXCLUDED.claimed_until
                WHERE order_notifications.status = 'sending' AND order_notifications.claimed_until < now()
               RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
                    (SELECT status FROM order_notifications WHERE order_id = $1::uuid) AS status`,
      values: [orderId, messageId, recipient, CLAIM_LEASE_SECONDS],
    });
    if (rows[0].claimed) return 'claimed';
    return rows[0].status === 'sent' ? 'already-sent' : 'in-progress-elsewhere';
  }

  /** Gives the claim up at once after a failed send, so the retry does not wait for the lease. */
  async release(orderId: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE order_notifications SET claimed_until = now() WHERE order_id = ${orderId}::uuid AND status = 'sending'`;
  }

  /**
   * Records the accepted email and moves the order's status on, together with the other emails accepted
   * meanwhile, in one statement; resolves once that committed. The SMTP server has the email already,
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
    await this.prisma.$executeRaw`
      WITH accepted AS (
        SELECT * FROM unnest(${marks.map((mark) => mark.orderId)}::uuid[],
                             ${marks.map((mark) => mark.smtp.messageId)}::text[],
                             ${marks.map((mark) => mark.smtp.response)}::text[])
                   AS a(order_id, smtp_message_id, smtp_response)
      ),
      sent AS (
        UPDATE order_notifications n
           SET status = 'sent', sent_at = now(), claimed_until = NULL,
               smtp_message_id = a.smtp_message_id, smtp_response = a.smtp_response
          FROM accepted a
         WHERE n.order_id = a.order_id
        RETURNING n.order_id
      )
      UPDATE orders o
         SET notified_at = now(), updated_at = now(),
             status = CASE WHEN o.reported_at IS NOT NULL THEN 'completed' ELSE 'notified' END::order_status
        FROM sent
       WHERE o.id = sent.order_id`;
  }
}

function describe(marks: SentMark[]): string {
  if (marks.length === 1) return `order ${marks[0].orderId}`;
  return `${marks.length} orders (${marks[0].orderId}, …)`;
}
