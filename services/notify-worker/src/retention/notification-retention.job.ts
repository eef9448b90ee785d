import { Queues, type WorkQueueName } from '@shop/contracts';
import { deleteRowsOlderThan } from '@shop/db';
import { removeParkedOlderThan } from '@shop/messaging';
import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import type { Channel } from 'amqplib';
import type { Pool } from 'pg';

/** The dead-letter queues of the work queues notify-worker consumes: their messages carry addresses. */
const PARKING_OF: readonly WorkQueueName[] = [Queues.orderNotify, Queues.customerNotify];

/**
 * The column one row of each table is deleted by. order_lifecycle_emails has one row per (order, kind),
 * so its rows go by their physical address: by order_id, an old row would take its order's newer ones.
 */
const ROW_KEY_OF = {
  order_notifications: 'order_id',
  sign_in_code_emails: 'code_id',
  order_lifecycle_emails: 'ctid',
} as const;

/**
 * Removes what notify-worker keeps about people once it is older than RETENTION_DAYS: order_notifications
 * rows (each holds the recipient's address), sign_in_code_emails and order_lifecycle_emails rows (where
 * those tables exist), and the parked messages of order_notify.dlq and customer_notify.dlq. The mails
 * themselves are the mailbox's.
 */
export class NotificationRetentionJob extends RetentionJob {
  constructor(
    private readonly pool: Pool,
    /** A channel of its own per dead-letter queue, closed after it. */
    private readonly openChannel: () => Promise<Channel>,
    retention: RetentionOptions,
  ) {
    super(retention);
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    const notifications = await this.removeRows('order_notifications', cutoff);
    const signInCodeEmails = (await this.tableExists('sign_in_code_emails'))
      ? await this.removeRows('sign_in_code_emails', cutoff)
      : 0;
    const lifecycleEmails = (await this.tableExists('order_lifecycle_emails'))
      ? await this.removeRows('order_lifecycle_emails', cutoff)
      : 0;
    let parked = 0;
    for (const queue of PARKING_OF) parked += await this.removeParked(queue, cutoff);
    return {
      'notification rows': notifications,
      'sign-in code email rows': signInCodeEmails,
      'lifecycle email rows': lifecycleEmails,
      'parked messages': parked,
    };
  }

  private removeRows(table: keyof typeof ROW_KEY_OF, cutoff: Date): Promise<number> {
    return deleteRowsOlderThan(
      this.pool,
      { table, key: ROW_KEY_OF[table], timeColumn: 'created_at' },
      cutoff,
    );
  }

  private async tableExists(table: string): Promise<boolean> {
    const { rows } = await this.pool.query<{ found: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS found',
      [table],
    );
    return rows[0]?.found === true;
  }

  /** One queue's old parked messages; a queue this user may not read is logged, and the others still run. */
  private async removeParked(queue: WorkQueueName, cutoff: Date): Promise<number> {
    try {
      return await removeParkedOlderThan(await this.openChannel(), queue, cutoff);
    } catch (error) {
      this.logger.warn(`retention: could not read ${queue}.dlq (${(error as Error).message})`);
      return 0;
    }
  }
}
