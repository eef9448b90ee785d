import type { PoolClient } from 'pg';
import type { OutboxRecord } from './outbox-record';

/**
 * Writes messages to the outbox inside the caller's transaction: they commit or roll back with its
 * other writes. After COMMIT, hand the same records to `OutboxRelay.relayCommitted` to publish them at
 * once; whatever that misses, the relay's sweep publishes.
 */
export async function addToOutbox(
  client: Pick<PoolClient, 'query'>,
  records: readonly OutboxRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await client.query({
    name: 'add-to-outbox-v1',
    text: `INSERT INTO outbox_messages (id, exchange, routing_key, message_type, payload, headers, created_at,
                                        next_attempt_at)
           SELECT m.id, m.exchange, m.routing_key, m.message_type, m.payload, m.headers, m.created_at, m.created_at
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::timestamptz[])
                  AS m(id, exchange, routing_key, message_type, payload, headers, created_at)`,
    values: [
      records.map((record) => record.id),
      records.map((record) => record.exchange),
      records.map((record) => record.routingKey),
      records.map((record) => record.messageType),
      records.map((record) => JSON.stringify(record.data)),
      records.map((record) => JSON.stringify(record.headers)),
      records.map((record) => record.createdAt),
    ],
  });
}
