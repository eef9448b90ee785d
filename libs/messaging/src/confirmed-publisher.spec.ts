import type { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { MAX_MESSAGE_BYTES, PublisherHeaders } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { EventEmitter } from 'node:events';
import { ConfirmedPublisher } from './confirmed-publisher';

/** What the publisher handed to its channel's publish. */
interface Sent {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: Record<string, unknown>;
}

/** golevelup's connection, whose manager hands out one channel wrapper that records each publish. */
function publisherOn(url: string): { publisher: ConfirmedPublisher; sent: Sent[] } {
  const sent: Sent[] = [];
  const wrapper = Object.assign(new EventEmitter(), {
    publish: async (exchange: string, routingKey: string, body: Buffer, options: Record<string, unknown>) => {
      sent.push({ exchange, routingKey, body, options });
      return true;
    },
  });
  const amqp = { managedConnection: { createChannel: () => wrapper } } as unknown as AmqpConnection;
  return { publisher: new ConfirmedPublisher(amqp, { url, appId: 'notify-worker' }), sent };
}

const message = (body: Buffer) => ({
  exchange: 'order',
  routingKey: 'order.notified',
  body,
  messageId: 'm-1',
  correlationId: 'c-1',
  type: 'order.notified.v1',
  occurredAt: new Date('2026-12-07T10:00:00Z'),
});

describe('ConfirmedPublisher (what it hands the broker, without one)', () => {
  it('sets user_id to the login of its RABBITMQ_URL on every message', async () => {
    const { publisher, sent } = publisherOn('amqp://notify-worker:secret@127.0.0.1:5672/shop');
    await publisher.publish(message(Buffer.from('{}')));
    expect(sent[0].options).toMatchObject({
      userId: 'notify-worker',
      appId: 'notify-worker',
      mandatory: true,
    });
  });

  it('forwards a consumed message as itself, keeping the first publisher in x-original-user-id', async () => {
    const { publisher, sent } = publisherOn('amqp://order-api:secret@127.0.0.1:5672/shop');
    const consumed = {
      content: Buffer.from('{}'),
      properties: { messageId: 'm-2', userId: 'report-worker', headers: {} },
    } as unknown as ConsumeMessage;
    await publisher.forward('order_status.retry', '1s', consumed, { 'x-retry-count': 1 });
    expect(sent[0].options).toMatchObject({
      userId: 'order-api',
      headers: { 'x-retry-count': 1, [PublisherHeaders.originalUserId]: 'report-worker' },
    });
  });

  it('refuses a body above MAX_MESSAGE_BYTES before sending it, with MESSAGE_TOO_LARGE', async () => {
    const { publisher, sent } = publisherOn('amqp://guest:guest@127.0.0.1:5672/shop_test');
    await expect(publisher.publish(message(Buffer.alloc(MAX_MESSAGE_BYTES + 1)))).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(sent).toEqual([]);
  });
});
