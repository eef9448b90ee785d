/** One row of `outbox_messages`: a message to publish once the transaction that wrote it committed. */
export interface OutboxRecord {
  /** The message id. */
  id: string;
  exchange: string;
  routingKey: string;
  messageType: string;
  /** The message's data (the `payload` column); the relay wraps it in its envelope (envelopeOf) to publish. */
  data: unknown;
  /** `correlationId` becomes the AMQP property and the envelope's; every other entry becomes an AMQP header. */
  headers: { correlationId: string } & Record<string, string>;
  /** When the event happened: the envelope's `occurredAt`. */
  createdAt: Date;
}

/** A row as the relay's sweep and place_orders return it (snake_case, straight from pg). */
export interface OutboxRow {
  id: string;
  exchange: string;
  routing_key: string;
  message_type: string;
  payload: unknown;
  headers: OutboxRecord['headers'];
}

export function outboxRecordFromRow(row: OutboxRow, createdAt: Date): OutboxRecord {
  return {
    id: row.id,
    exchange: row.exchange,
    routingKey: row.routing_key,
    messageType: row.message_type,
    data: row.payload,
    headers: row.headers,
    createdAt,
  };
}
