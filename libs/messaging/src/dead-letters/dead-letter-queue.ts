import {
  copiedMessageProperties,
  deadLetterQueueOf,
  FailureHeaders,
  ParkingQueueSources,
  type ParkingQueueSource,
} from '@shop/contracts';
import { maskEmails } from '@shop/logging';
import type { Channel, ConfirmChannel, GetMessage } from 'amqplib';

/** One parked message, as `npm run dlq -- list` shows it. */
export interface ParkedMessage {
  messageId: string;
  type: string;
  correlationId: string;
  reason: string;
  attempts: number | undefined;
  lastError: string;
  failedAt: string | undefined;
  originalQueue: ParkingQueueSource;
  body: string;
}

/**
 * Accepts a queue that parks what it refuses (`order_notify`, `order_requests`) or its dead-letter queue
 * (`order_notify.dlq`), and returns the queue the parked messages came from.
 */
export function resolveParkingSource(name: string): ParkingQueueSource {
  const source = name.endsWith('.dlq') ? name.slice(0, -'.dlq'.length) : name;
  const known = ParkingQueueSources.find((queue) => queue === source);
  if (!known) {
    throw new Error(
      `Unknown queue "${name}". Use one of: ${ParkingQueueSources.map((q) => `${q}, ${deadLetterQueueOf(q)}`).join(', ')}`,
    );
  }
  return known;
}

/** What a parked message says about itself: our own headers, or the broker's x-death when it dead-lettered it. */
export function describeParked(message: GetMessage, source: ParkingQueueSource): ParkedMessage {
  const headers = message.properties.headers ?? {};
  const death = Array.isArray(headers['x-death'])
    ? (headers['x-death'][0] as unknown as Record<string, unknown>)
    : undefined;
  return {
    messageId: String(message.properties.messageId ?? '(none)'),
    type: String(message.properties.type ?? '(none)'),
    correlationId: String(message.properties.correlationId ?? ''),
    reason: String(
      headers[FailureHeaders.deadLetterReason] ?? (death ? `broker: ${death.reason}` : 'unknown'),
    ),
    attempts:
      headers[FailureHeaders.attempts] !== undefined
        ? Number(headers[FailureHeaders.attempts])
        : death?.count !== undefined
          ? Number(death.count)
          : undefined,
    // Masked again on reading: a message parked before x-last-error was masked may still hold an address.
    lastError: maskEmails(String(headers[FailureHeaders.lastError] ?? '')),
    failedAt: headers[FailureHeaders.failedAt] ? String(headers[FailureHeaders.failedAt]) : undefined,
    originalQueue: source,
    body: message.content.toString('utf8'),
  };
}

/**
 * Reads every parked message without removing it: each is taken unacked and all are returned to the
 * queue at the end, so listing twice shows the same messages.
 */
export async function listParked(
  channel: Channel,
  source: ParkingQueueSource,
  limit = 1_000,
): Promise<ParkedMessage[]> {
  const taken: GetMessage[] = [];
  try {
    while (taken.length < limit) {
      const message = await channel.get(deadLetterQueueOf(source), { noAck: false });
      if (message === false) break;
      taken.push(message);
    }
    return taken.map((message) => describeParked(message, source));
  } finally {
    if (taken.length > 0) channel.nackAll(true);
  }
}

/**
 * Sends parked messages back to the queue that refused them for another try, with their retry history
 * cleared and a replay count added. Each is acked from the dead-letter queue only after the broker confirmed the copy.
 * `userId` is the channel's RabbitMQ user (brokerUserOf its URL): the replayed copy's `user_id`. A status
 * event or a waiting-room ticket replayed by anyone but its consumer's own user is therefore parked again
 * as FORBIDDEN_PUBLISHER.
 */
export async function replayParked(
  channel: ConfirmChannel,
  source: ParkingQueueSource,
  {
    limit = Number.POSITIVE_INFINITY,
    messageId,
    userId,
  }: { limit?: number; messageId?: string; userId: string },
): Promise<{ replayed: string[]; skipped: number }> {
  const replayed: string[] = [];
  const skipped: GetMessage[] = [];
  try {
    while (replayed.length < limit) {
      const message = await channel.get(deadLetterQueueOf(source), { noAck: false });
      if (message === false) break;
      if (messageId && message.properties.messageId !== messageId) {
        skipped.push(message);
        continue;
      }
      const { properties } = message;
      const headers = { ...(properties.headers ?? {}) };
      for (const name of Object.values(FailureHeaders)) delete headers[name];
      delete headers['x-death'];
      headers['x-replay-count'] = Number(properties.headers?.['x-replay-count'] ?? 0) + 1;
      headers['x-replayed-at'] = new Date().toISOString();
      // The default exchange routes by queue name: straight back into the queue it was refused from.
      channel.publish('', source, message.content, copiedMessageProperties(properties, headers, userId));
      await channel.waitForConfirms();
      channel.ack(message);
      replayed.push(String(properties.messageId ?? '(none)'));
    }
  } finally {
    for (const message of skipped) channel.nack(message, false, true);
  }
  return { replayed, skipped: skipped.length };
}
