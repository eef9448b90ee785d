import { Queues } from '@shop/contracts';
import { removeParkedOlderThan } from '@shop/messaging';
import { RetentionJob, type RetentionOptions } from '@shop/service-kit';
import type { Channel } from 'amqplib';

/**
 * Removes the parked messages of payment_requests.dlq older than RETENTION_DAYS: a parked request
 * carries the card it was for. The payments rows stay: they are the record of money taken and given
 * back (a refund may be asked for long after the charge), and hold a card's last four digits only.
 */
export class PaymentRetentionJob extends RetentionJob {
  constructor(
    /** A channel of its own, closed after the run. */
    private readonly openChannel: () => Promise<Channel>,
    retention: RetentionOptions,
  ) {
    super(retention);
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    return {
      'parked payment requests': await removeParkedOlderThan(
        await this.openChannel(),
        Queues.paymentRequests,
        cutoff,
      ),
    };
  }
}
