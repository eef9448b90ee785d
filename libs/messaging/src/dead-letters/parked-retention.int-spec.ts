import { FailureHeaders, Queues } from '@shop/contracts';
import { BrokerProbe, testConfig } from '@shop/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { listParked } from './dead-letter-queue';
import { removeParkedOlderThan } from './parked-retention';

describe('removeParkedOlderThan (real RabbitMQ)', () => {
  let broker: BrokerProbe;
  let connection: ChannelModel;

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    connection = await amqp.connect(testConfig.rabbitmqUrl);
  });
  afterAll(async () => {
    await connection.close();
    await broker.close();
  });
  beforeEach(() => broker.purge(Queues.orderNotifyDeadLetter));

  const park = (messageId: string, failedAt: string) =>
    broker.publishConfirmed('order.dlx', 'order_notify', Buffer.from('{}'), {
      persistent: true,
      messageId,
      headers: {
        [FailureHeaders.deadLetterReason]: 'retries-exhausted',
        [FailureHeaders.failedAt]: failedAt,
        [FailureHeaders.originalQueue]: 'order_notify',
      },
    });

  it('removes the parked messages older than the cutoff and keeps the rest, in order', async () => {
    await park('old-1', '2026-10-01T00:00:00.000Z');
    await park('old-2', '2026-11-06T23:59:59.999Z');
    await park('new-1', '2026-11-07T00:00:00.000Z');
    await park('new-2', '2026-12-01T00:00:00.000Z');

    const cutoff = new Date('2026-11-07T00:00:00.000Z');
    expect(await removeParkedOlderThan(await connection.createChannel(), 'order_notify', cutoff)).toBe(2);

    const left = await listParked(await connection.createChannel(), 'order_notify');
    expect(left.map((message) => message.messageId)).toEqual(['new-1', 'new-2']);
    expect(await removeParkedOlderThan(await connection.createChannel(), 'order_notify', cutoff)).toBe(0);
  });
});
