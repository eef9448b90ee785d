import { Injectable, Logger } from '@nestjs/common';
import { PrismaService, retryWhileDatabaseUnavailable } from '@shop/db';

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

/**
 * The order_notifications row that makes sending idempotent: one row per order, claimed before the
 * SMTP conversation and marked sent after it, so duplicates and redeliveries never send twice.
 */
@Injectable()
export class NotificationStore {
  private readonly logger = new Logger(NotificationStore.name);

  constructor(private readonly prisma: PrismaService) {}

  /** Takes the order's email for this worker, unless it was sent or another worker holds a live claim. */
  async claim(orderId: string, messageId: string, recipient: string): Promise<ClaimResult> {
    const claimed = await this.prisma.$queryRaw<{ attempts: number }[]>`
      INSERT INTO order_notifications (order_id, message_id, status, recipient, claimed_until)
      VALUES (${orderId}::uuid, ${messageId}::uuid, 'sending', ${recipient},
              now() + make_interval(secs => ${CLAIM_LEASE_SECONDS}))
      ON CONFLICT (order_id) DO UPDATE
         SET message_id = EXCLUDED.message_id,
             attempts = order_notifications.attempts + 1,
             claimed_until = EXCLUDED.claimed_until
       WHERE order_notifications.status = 'sending' AND order_notifications.claimed_until < now()
      RETURNING attempts`;
    if (claimed.length > 0) return 'claimed';
    const existing = await this.prisma.orderNotification.findUnique({
      where: { orderId },
      select: { status: true },
    });
    return existing?.status === 'sent' ? 'already-sent' : 'in-progress-elsewhere';
  }

  /** Gives the claim up at once after a failed send, so the retry does not wait for the lease. */
  async release(orderId: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE order_notifications SET claimed_until = now() WHERE order_id = ${orderId}::uuid AND status = 'sending'`;
  }

  /**
   * Records the accepted email and moves the order's status on, in one statement. The SMTP server has
   * the email already, so a lost database connection is waited out (RECORD_SENT_PATIENCE_MS) rather
   * than turned into a retry that would send it again.
   */
  async markSent(orderId: string, smtp: { messageId: string; response: string }): Promise<void> {
    await retryWhileDatabaseUnavailable(() => this.recordSent(orderId, smtp), {
      giveUpAfterMs: RECORD_SENT_PATIENCE_MS,
      onRetry: (error, attempt, delayMs) =>
        this.logger.warn(
          `order ${orderId}: email accepted but not yet recorded (${(error as Error).message}); ` +
            `attempt ${attempt + 1} in ${delayMs} ms`,
        ),
    });
  }

  private async recordSent(orderId: string, smtp: { messageId: string; response: string }): Promise<void> {
    await this.prisma.$executeRaw`
      WITH sent AS (
        UPDATE order_notifications
           SET status = 'sent', sent_at = now(), claimed_until = NULL,
               smtp_message_id = ${smtp.messageId}, smtp_response = ${smtp.response}
         WHERE order_id = ${orderId}::uuid
        RETURNING order_id
      )
      UPDATE orders o
         SET notified_at = now(), updated_at = now(),
             status = CASE WHEN o.reported_at IS NOT NULL THEN 'completed' ELSE 'notified' END::order_status
        FROM sent
       WHERE o.id = sent.order_id`;
  }
}
