import { FailureHeaders, Queues } from '@shop/contracts';
import { brokerUserOf } from '@shop/broker';
import { BrokerProbe, waitFor } from '@shop/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { testConfig } from '@shop/testing';
import { listParked, replayParked, resolveParkingSource } from './dead-letter-queue';

describe('dead-letter queue tools (npm run dlq)', () => {
  let broker: BrokerProbe;
  let connection: ChannelModel;

  // What the specs park or replay is theirs: nothing is left for the next file's consumers.
  const queues = [
    Queues.orderNotify,
    Queues.orderNotifyDeadLetter,
    Queues.orderRequests,
    Queues.orderRequestsDeadLetter,
  ];

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    connection = await amqp.connect(testConfig.rabbitmqUrl);
  });
  afterAll(async () => {
    await broker.purge(...queues);
    await connection.close();
    await broker.close();
  });
  beforeEach(() => broker.purge(...queues));

  const park = (messageId: string, reason: string) =>
    broker.publishConfirmed('order.dlx', 'order_notify', Buffer.from(`{"id":"${messageId}"}`), {
      persistent: true,
      messageId,
      type: 'order.placed.v1',
      correlationId: `corr-${messageId}`,
      headers: {
        [FailureHeaders.deadLetterReason]: reason,
        [FailureHeaders.attempts]: 4,
        [FailureHeaders.lastError]: 'SMTP: 451 try later',
        [FailureHeaders.retryCount]: 3,
        [FailureHeaders.originalQueue]: 'order_notify',
      },
    });

  it('lists parked messages with their reasons without removing them', async () => {
    await park('m-1', 'retries-exhausted');
    await park('m-2', 'invalid-message');

    const first = await listParked(
      await connection.createChannel(),
      resolveParkingSource('order_notify.dlq'),
    );
    expect(first.map((m) => [m.messageId, m.reason, m.attempts, m.lastError])).toEqual([
      ['m-1', 'retries-exhausted', 4, 'SMTP: 451 try later'],
      ['m-2', 'invalid-message', 4, 'SMTP: 451 try later'],
    ]);
    const again = await listParked(await connection.createChannel(), resolveParkingSource('order_notify'));
    expect(again.map((m) => m.messageId)).toEqual(['m-1', 'm-2']);
  });

  it('replays parked messages into the work queue with their retry history cleared', async () => {
    await park('m-1', 'retries-exhausted');
    await park('m-2', 'retries-exhausted');

    const result = await replayParked(await connection.createConfirmChannel(), 'order_notify', {
      messageId: 'm-2',
      userId: brokerUserOf(testConfig.rabbitmqUrl),
    });
    expect(result).toEqual({ replayed: ['m-2'], skipped: 1 });

    const [replayed] = await broker.waitForMessages(Queues.orderNotify, 1);
    expect(replayed.properties.messageId).toBe('m-2');
    expect(replayed.properties.correlationId).toBe('corr-m-2');
    expect(replayed.properties.headers?.[FailureHeaders.retryCount]).toBeUndefined();
    expect(replayed.properties.headers?.[FailureHeaders.deadLetterReason]).toBeUndefined();
    expect(replayed.properties.headers?.['x-replay-count']).toBe(1);
    // The broker took the replaying connection's own user_id, as it must.
    expect(replayed.properties.userId).toBe(brokerUserOf(testConfig.rabbitmqUrl));
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(1);
  });

  it("lists and replays the waiting room's parked tickets, one the broker dead-lettered itself too", async () => {
    // A ticket nacked without requeue: the broker parks it in order_requests.dlq with its x-death record.
    await broker.publishConfirmed('', Queues.orderRequests, Buffer.from('{"not":"a ticket"}'), {
      persistent: true,
      messageId: 'ticket-1',
      type: 'order.requested.v1',
      correlationId: 'corr-ticket-1',
    });
    const channel = await connection.createChannel();
    const taken = await waitFor('the ticket in order_requests', () => channel.get(Queues.orderRequests));
    channel.nack(taken, false, false);
    await waitFor(
      'the ticket parked in order_requests.dlq',
      async () => (await broker.messageCount(Queues.orderRequestsDeadLetter)) === 1,
    );

    const parked = await listParked(
      await connection.createChannel(),
      resolveParkingSource('order_requests.dlq'),
    );
    expect(parked.map((m) => [m.messageId, m.reason, m.attempts, m.originalQueue, m.body])).toEqual([
      ['ticket-1', 'broker: rejected', 1, 'order_requests', '{"not":"a ticket"}'],
    ]);

    const result = await replayParked(await connection.createConfirmChannel(), 'order_requests', {
      userId: brokerUserOf(testConfig.rabbitmqUrl),
    });
    expect(result).toEqual({ replayed: ['ticket-1'], skipped: 0 });
    const [replayed] = await broker.waitForMessages(Queues.orderRequests, 1);
    expect(replayed.properties.headers?.['x-death']).toBeUndefined();
    expect(replayed.properties.headers?.['x-replay-count']).toBe(1);
    expect(await broker.messageCount(Queues.orderRequestsDeadLetter)).toBe(0);
  });

  it('names the queues it knows when given another', () => {
    expect(() => resolveParkingSource('log_archive')).toThrow(
      /Unknown queue "log_archive". Use one of: order_notify, order_notify.dlq, .*order_requests, order_requests.dlq/,
    );
  });
});
