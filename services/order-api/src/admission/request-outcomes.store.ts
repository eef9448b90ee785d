import { Inject, Injectable } from '@nestjs/common';
import { GroupCommit, PG_POOL, queryKeepingConnection, type ItemResult } from '@shop/db';
import type { Pool } from 'pg';

/** How one ticket of the waiting room ended. */
export type TicketOutcome =
  | { ticket: string; customerId: string; kind: 'placed'; orderId: string }
  | { ticket: string; customerId: string; kind: 'refused'; code: string; message: string };

interface OutcomeRow {
  customer_id: string;
  order_id: string | null;
  refusal_code: string | null;
  refusal_message: string | null;
}

/** Most outcomes one statement writes: the waiting room's consumer holds at most its prefetch anyway. */
const MAX_OUTCOMES_PER_STATEMENT = 500;

/**
 * order_request_outcomes: written once per ticket, after its placement committed, and before its
 * message is acknowledged. The outcomes of the requests in hand share one statement (group commit).
 */
@Injectable()
export class RequestOutcomesStore {
  private readonly writes: GroupCommit<TicketOutcome, void>;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {
    this.writes = new GroupCommit((outcomes) => this.writeBatch(outcomes), {
      maxBatchSize: MAX_OUTCOMES_PER_STATEMENT,
      maxWaiting: Number.POSITIVE_INFINITY,
    });
  }

  record(outcome: TicketOutcome): Promise<void> {
    return this.writes.submit(outcome);
  }

  async find(ticket: string): Promise<TicketOutcome | undefined> {
    const { rows } = await queryKeepingConnection<OutcomeRow>(this.pool, {
      name: 'ticket-outcome-v1',
      text: `SELECT customer_id, order_id, refusal_code, refusal_message
               FROM order_request_outcomes WHERE ticket = $1`,
      values: [ticket],
    });
    const [row] = rows;
    if (!row) return undefined;
    return row.order_id
      ? { ticket, customerId: row.customer_id, kind: 'placed', orderId: row.order_id }
      : {
          ticket,
          customerId: row.customer_id,
          kind: 'refused',
          code: row.refusal_code ?? '',
          message: row.refusal_message ?? '',
        };
  }

  /** A redelivered request writes nothing new: its first outcome stays (the same order, by its key). */
  private async writeBatch(outcomes: TicketOutcome[]): Promise<ItemResult<void>[]> {
    await queryKeepingConnection(this.pool, {
      name: 'record-ticket-outcomes-v1',
      text: `INSERT INTO order_request_outcomes (ticket, customer_id, order_id, refusal_code, refusal_message)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])
             ON CONFLICT (ticket) DO NOTHING`,
      values: [
        outcomes.map((o) => o.ticket),
        outcomes.map((o) => o.customerId),
        outcomes.map((o) => (o.kind === 'placed' ? o.orderId : null)),
        outcomes.map((o) => (o.kind === 'refused' ? o.code : null)),
        outcomes.map((o) => (o.kind === 'refused' ? o.message.slice(0, 500) : null)),
      ],
    });
    return outcomes.map(() => ({ ok: true, value: undefined }));
  }
}
