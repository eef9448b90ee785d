import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable } from '@nestjs/common';
import { Queues } from '@shop/contracts';
import { deleteRowsOlderThan, PG_POOL } from '@shop/db';
import { channelWhenConnected, removeParkedOlderThan } from '@shop/messaging';
import { DAY_MS, RetentionJob } from '@shop/service-kit';
import type { Pool } from 'pg';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';

/**
 * Removes, daily, the outcomes of waiting-room tickets decided more than RETENTION_DAYS ago (a spike of
 * a queued sale leaves one row per request, most of them refusals) and the requests parked in
 * order_requests.dlq as long ago (each names a customer). The orders themselves stay.
 */
@Injectable()
export class TicketOutcomeRetentionJob extends RetentionJob {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly amqp: AmqpConnection,
    @Inject(ORDER_API_CONFIG) config: OrderApiConfig,
  ) {
    super({ retentionDays: config.RETENTION_DAYS, intervalMs: DAY_MS });
  }

  protected async removeOlderThan(cutoff: Date): Promise<Record<string, number>> {
    const rows = { table: 'order_request_outcomes', key: 'ticket', timeColumn: 'decided_at' };
    return {
      'waiting-room ticket outcomes': await deleteRowsOlderThan(this.pool, rows, cutoff),
      'parked order requests': await removeParkedOlderThan(
        await channelWhenConnected(this.amqp),
        Queues.orderRequests,
        cutoff,
      ),
    };
  }
}
