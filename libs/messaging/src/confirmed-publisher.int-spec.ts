import { Test } from '@nestjs/testing';
import { OrderNotifiedV1 } from '@shop/contracts';
import { BrokerProbe, testConfig, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { ConfirmedPublisher, type OutgoingMessage } from './confirmed-publisher';
import { MessagingModule } from './messaging.module';

describe('ConfirmedPublisher (real RabbitMQ)', () => {
  // An exchange and queues of this spec's own in the test vhost.
  const exchange = 'publisher_spec.renewal';
  const refusing = 'publisher_spec.refusing';
  const accepting = 'publisher_spec.accepting';
  let broker: BrokerProbe;

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await broker.channel.assertExchange(exchange, 'direct', { durable: false });
    // Full at 0 with reject-publish: the broker nacks every message routed to it.
    await broker.channel.assertQueue(refusing, {
      durable: false,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await broker.channel.bindQueue(refusing, exchange, 'order.notify');
    await broker.channel.assertQueue(accepting, { durable: false });
    await broker.channel.purgeQueue(accepting);
  });

  afterAll(async () => {
    await broker.channel.deleteQueue(refusing);
    await broker.channel.deleteQueue(accepting);
    await broker.channel.deleteExchange(exchange);
    await broker.close();
  });

  /** MessagingModule alone, as a service starts it. */
  const startMessaging = async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ url: testConfig.rabbitmqUrl, appId: 'publisher-spec' })],
    }).compile();
    return moduleRef.init();
  };

  const message = (routingKey: string): OutgoingMessage => ({
    exchange,
    routingKey,
    body: Buffer.from('{"n":1}'),
    messageId: randomUUID(),
    correlationId: randomUUID(),
    type: 'order.placed.v1',
    occurredAt: new Date(),
  });

  it('replaces a channel the broker nacked everything on for 2 s; the new one confirms and still reports unroutable messages', async () => {
    const app = await startMessaging();
    try {
      const publisher = app.get(ConfirmedPublisher);
      const failures = new Set<string>();
      await waitFor(
        'the publishing channel replaced',
        async () => {
          await publisher
            .publish(message('order.notify'))
            .catch((error: Error) => failures.add(error.message));
          return publisher.channelRenewals >= 1;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      // Nacked until then (the first may time out while the connection comes up).
      expect(failures).toContain('message nacked');

      await broker.channel.unbindQueue(refusing, exchange, 'order.notify');
      await broker.channel.bindQueue(accepting, exchange, 'order.notify');
      const accepted = message('order.notify');
      await publisher.publish(accepted);
      const delivered = await waitFor('the message in the accepting queue', async () => {
        const got = await broker.channel.get(accepting, { noAck: true });
        return got === false ? undefined : got;
      });
      expect(delivered.properties).toMatchObject({ messageId: accepted.messageId, appId: 'publisher-spec' });

      // The new channel watches for returns as the first did.
      await expect(publisher.publish(message('nobody.bound'))).rejects.toThrow(/^unroutable/);
      expect(publisher.channelRenewals).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('publishes an event as its envelope, and refuses one its schema refuses before sending anything', async () => {
    await broker.channel.bindQueue(accepting, exchange, 'order.event');
    const app = await startMessaging();
    try {
      const publisher = app.get(ConfirmedPublisher);
      const event = {
        exchange,
        routingKey: 'order.event',
        messageId: randomUUID(),
        correlationId: randomUUID(),
        type: 'order.notified.v1',
        occurredAt: new Date('2026-12-08T10:00:00.250Z'),
        data: { orderId: randomUUID(), notifiedAt: '2026-12-08T10:00:00.000Z' },
        headers: { 'order-id': 'x' },
        schema: OrderNotifiedV1,
      };
      await publisher.publishEvent(event);
      const delivered = await waitFor('the event in the accepting queue', async () => {
        const got = await broker.channel.get(accepting, { noAck: true });
        return got === false ? undefined : got;
      });
      expect(JSON.parse(delivered.content.toString())).toEqual({
        messageId: event.messageId,
        type: 'order.notified.v1',
        version: 1,
        occurredAt: '2026-12-08T10:00:00.250Z',
        correlationId: event.correlationId,
        data: event.data,
      });
      expect(delivered.properties).toMatchObject({
        messageId: event.messageId,
        correlationId: event.correlationId,
        type: 'order.notified.v1',
        appId: 'publisher-spec',
        contentType: 'application/json',
        headers: expect.objectContaining({ 'order-id': 'x' }),
      });

      const invalid = { ...event, messageId: randomUUID(), data: { orderId: 'not-a-uuid' } };
      await expect(publisher.publishEvent(invalid)).rejects.toThrow();
      // Had the refused event been sent, it would be in the queue ahead of this probe.
      const probe = { ...event, messageId: randomUUID() };
      await publisher.publishEvent(probe);
      const next = await waitFor('the probe in the accepting queue', async () => {
        const got = await broker.channel.get(accepting, { noAck: true });
        return got === false ? undefined : got;
      });
      expect(next.properties.messageId).toBe(probe.messageId);
    } finally {
      await app.close();
      await broker.channel.unbindQueue(accepting, exchange, 'order.event');
    }
  });
});
