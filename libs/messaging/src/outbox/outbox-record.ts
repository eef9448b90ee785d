/** One row of `outbox_messages`, as the relay needs it. */
export interface OutboxRecord {
  id: string;
  exchange: string;
  routingKey: string;
  messageType: string;
  /** The message body as stored (jsonb); published as JSON. */
  payload: unknown;
  /** `correlationId` becomes the AMQP property; every other entry becomes an AMQP header. */
  headers: { correlationId: string } & Record<string, string>;
  createdAt: Date;
}

/** Reads a row selected with the relay's column list (snake_case, straight from pg). */
export function outboxRecordFromRow(row: {
  id: string;
  exchange: string;
  routing_key: string;
  message_type: string;
  payload: unknown;
  headers: OutboxRecord['headers'];
  created_at: Date;
}): OutboxRecord {
  return {
    id: row.id,
    exchange: row.exchange,
    routingKey: row.routing_key,
    messageType: row.message_type,
    payload: row.payload,
    headers: row.headers,
    createdAt: row.created_at,
  };
}
