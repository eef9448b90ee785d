import type { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { deadLetterQueueOf, FailureHeaders, type ParkingQueueSource } from '@shop/contracts';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';

/**
 * When a message was parked: our x-failed-at, or the time of the broker's own dead-lettering (x-death,
 * an AMQP timestamp in seconds). Undefined when it says neither.
 */
export function parkedAt(message: GetMessage): Date | undefined {
  const headers = message.properties.headers ?? {};
  const failedAt = headers[FailureHeaders.failedAt];
  if (failedAt !== undefined) {
    const time = new Date(String(failedAt));
    return Number.isNaN(time.getTime()) ? undefined : time;
  }
  const death = Array.isArray(headers['x-death']) ? (headers['x-death'][0] as { time?: unknown }) : undefined;
  const time = death?.time;
  if (time instanceof Date) return time;
  if (typeof time === 'number') return new Date(time * 1000);
  if (typeof time === 'object' && time !== null && typeof (time as { value?: unknown }).value === 'number')
    return new Date((time as { value: number }).value * 1000);
  return undefined;
}

/**
 * Removes the parked messages of `source`'s dead-letter queue parked before `cutoff`. A queue is first
 * in, first out, so it takes messages from the head while they are older and stops at the first that is
 * not (or says no time): that one is handed back unacked by closing the channel, which leaves it at the
 * head without counting as a failed delivery. Owns `channel` (a channel of its own) and closes it.
 */
export async function removeParkedOlderThan(
  channel: Channel,
  source: ParkingQueueSource,
  cutoff: Date,
  { limit = 100_000 }: { limit?: number } = {},
): Promise<number> {
  const queue = deadLetterQueueOf(source);
  let removed = 0;
  // A refused or missing queue closes the channel: the rejected get says so, the event needs no one.
  channel.on('error', () => undefined);
  try {
    while (removed < limit) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      const time = parkedAt(message);
      if (time === undefined || time >= cutoff) break;
      channel.ack(message);
      removed++;
    }
  } finally {
    // Acks are sent before the close, which returns the one message kept.
    await channel.close().catch(() => undefined);
  }
  return removed;
}

/**
 * A plain channel on the service's own connection, once it is up (a retention run at start comes before
 * the broker connection is ready); fails after `timeoutMs` so a run never waits forever.
 */
export async function channelWhenConnected(amqp: AmqpConnection, timeoutMs = 60_000): Promise<Channel> {
  const manager = amqp.managedConnection;
  if (!manager.isConnected()) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        manager.removeListener('connect', connected);
        reject(new Error(`no broker connection within ${timeoutMs} ms`));
      }, timeoutMs);
      // Never what keeps a stopping process alive.
      timer.unref();
      const connected = () => {
        clearTimeout(timer);
        resolve();
      };
      manager.once('connect', connected);
    });
  }
  // golevelup's current connection is amqplib's ChannelModel (typed as the bare Connection).
  return (amqp.connection as unknown as ChannelModel).createChannel();
}
