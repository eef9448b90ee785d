import { Inject, Injectable } from '@nestjs/common';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  isDatabaseUnavailableError,
  type ItemResult,
  PG_POOL,
  queryKeepingConnection,
} from '@shop/db';
import type { Pool } from 'pg';

/** One status event as the store applies it: the order and when it was notified or reported. */
export interface StatusChange {
  orderId: string;
  notifiedAt?: Date;
  reportedAt?: Date;
}

/** 'applied': the order moved on; 'unchanged': it had that step already (a duplicate); 'unknown-order'. */
export type StatusOutcome = 'applied' | 'unchanged' | 'unknown-order';

/** Most events one statement applies. */
const MAX_EVENTS_PER_STATEMENT = 500;
/** How long an idle store lets events gather before it applies them (a status shows this much later). */
const STATUS_LINGER_MS = 20;

/**
 * Applies the workers' status events to `orders`: placed → notified / reported → completed. Each step
 * is set once and never changed (several events for it in one batch: the earliest time), so the events
 * may come in any order and any number of times;
 * the status follows from which steps are set. The events in hand at once share one statement
 * (GroupCommit): a flash sale brings two per order. A batch PostgreSQL refuses is applied again one
 * event at a time, so a bad event fails only its own message.
 */
@Injectable()
export class OrderStatusStore {
  private readonly changes = new GroupCommit<StatusChange, StatusOutcome>(
    eachAloneIfBatchFails(
      (changes) => this.applyBatch(changes),
      (error) => !isDatabaseUnavailableError(error),
    ),
    // No waiting bound: the consumer's prefetch bounds how many events can wait. Nobody waits on a
    // status event, so events gather for STATUS_LINGER_MS: the workers' trickle becomes batches too.
    {
      maxBatchSize: MAX_EVENTS_PER_STATEMENT,
      maxWaiting: Number.POSITIVE_INFINITY,
      lingerMs: STATUS_LINGER_MS,
    },
  );

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  apply(change: StatusChange): Promise<StatusOutcome> {
    return this.changes.submit(change);
  }

  private async applyBatch(changes: StatusChange[]): Promise<ItemResult<StatusOutcome>[]> {
    const { rows } = await queryKeepingConnection<{ order_id: string; known: boolean; changed: boolean }>(
      this.pool,
      {
        name: 'apply-order-status-v1',
        // Rows are locked in id order, so batches of several order-api instances cannot deadlock.
        text: `WITH events AS (
               SELECT id, min(notified_at) AS notified_at, min(reported_at) AS reported_at
                 FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS e(id, notified_at, reported_at)
                GROUP BY id
             ),
             locked AS (
               SELECT o.id FROM orders o JOIN events e ON e.id = o.id ORDER BY o.id FOR UPDATE OF o
             ),
             changed AS (
               UPDATE orders o
                  SET notified_at = coalesce(o.notified_at, e.notified_at),
                      reported_at = coalesce(o.reported_at, e.reported_at),
                      status = CASE
                        WHEN coalesce(o.notified_at, e.notified_at) IS NOT NULL
                         AND coalesce(o.reported_at, e.reported_at) IS NOT NULL THEN 'completed'
                        WHEN coalesce(o.notified_at, e.notified_at) IS NOT NULL THEN 'notified'
                        ELSE 'reported'
                      END::order_status,
                      updated_at = now()
                 FROM events e
                WHERE o.id = e.id
                  AND o.id IN (SELECT id FROM locked)
                  AND ((o.notified_at IS NULL AND e.notified_at IS NOT NULL)
                    OR (o.reported_at IS NULL AND e.reported_at IS NOT NULL))
               RETURNING o.id
             )
             SELECT e.id::text AS order_id,
                    EXISTS (SELECT 1 FROM locked l WHERE l.id = e.id) AS known,
                    EXISTS (SELECT 1 FROM changed c WHERE c.id = e.id) AS changed
               FROM events e`,
        values: [
          changes.map((change) => change.orderId),
          changes.map((change) => change.notifiedAt ?? null),
          changes.map((change) => change.reportedAt ?? null),
        ],
      },
    );
    const byOrder = new Map(rows.map((row) => [row.order_id, row]));
    // Several events for one order in a batch: the first that moved it is 'applied', the rest 'unchanged'.
    const credited = new Set<string>();
    return changes.map((change): ItemResult<StatusOutcome> => {
      const key = change.orderId.toLowerCase();
      const row = byOrder.get(key);
      if (!row?.known) return { ok: true, value: 'unknown-order' };
      if (!row.changed || credited.has(key)) return { ok: true, value: 'unchanged' };
      credited.add(key);
      return { ok: true, value: 'applied' };
    });
  }
}
