import { Test } from '@nestjs/testing';
import { DbModule } from '@shop/db';
import { BrokerProbe, createTestPool, resetDatabase, testConfig, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { MessagingModule } from '../messaging.module';
import { addToOutbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { OutboxRelayModule } from './outbox-relay.module';

/** The relay with its own modules, on the test database and the given broker; no timed sweep. */
async function startRelay(brokerUrl: string, publishTimeoutMs?: number) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DbModule.forRoot({ databaseUrl: testConfig.databaseUrl, applicationName: 'outbox-spec' }),
      MessagingModule.forRoot({ url: brokerUrl, appId: 'outbox-spec', publishTimeoutMs }),
      OutboxRelayModule.forRoot({
        databaseUrl: testConfig.databaseUrl,
        applicationName: 'outbox-spec',
        sweepIntervalMs: 0,
      }),
    ],
  }).compile();
  return moduleRef.init();
}

describe('OutboxRelay while the broker is unreachable', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = createTestPool();
  });
  afterAll(() => pool.end());
  beforeEach(() => resetDatabase(pool));

  it('records the failure and backs off instead of retrying at once', async () => {
    // Nothing listens on port 1: every publish times out.
    const app = await startRelay('amqp://guest:guest@127.0.0.1:1', 200);
    try {
      const id = randomUUID();
      await pool.query(
        `INSERT INTO outbox_messages (id, exchange, routing_key, message_type, payload, headers, created_at)
         VALUES ($1, 'order', 'order.notify', 'order.placed.v1', '{}', '{"correlationId":"c"}', now() - interval '1 minute')`,
        [id],
      );
      const relay = app.get(OutboxRelay);

      expect(await relay.sweep()).toBe(0);
      const { rows } = await pool.query(
        `SELECT attempts, last_error, published_at, next_attempt_at > now() AS backing_off,
                next_attempt_at < now() + interval '2 seconds' AS within_first_step
           FROM outbox_messages WHERE id = $1`,
        [id],
      );
      expect(rows[0]).toEqual({
        attempts: 1,
        last_error: 'timeout',
        published_at: null,
        backing_off: true,
        within_first_step: true,
      });

      // Still backing off: a second sweep does not even try.
      expect(await relay.sweep()).toBe(0);
      expect(
        (await pool.query('SELECT attempts FROM outbox_messages WHERE id = $1', [id])).rows[0].attempts,
      ).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe('OutboxRelay when no queue is bound for a message', () => {
  // An exchange of this spec's own in the test vhost: a binding that is missing, then added.
  const exchange = 'outbox_spec.unbound';
  const queue = 'outbox_spec.bound_later';
  let pool: Pool;
  let broker: BrokerProbe;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
  });
  afterAll(async () => {
    await broker.channel.deleteQueue(queue);
    await broker.channel.deleteExchange(exchange);
    await broker.close();
    await pool.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.channel.deleteQueue(queue);
    await broker.channel.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
  });

  it('keeps the row unpublished (the broker would confirm and drop it) and delivers it once bound', async () => {
    const app = await startRelay(testConfig.rabbitmqUrl);
    try {
      const id = randomUUID();
      // Written by the outbox call inside a transaction, as a service writes it; old enough for the sweep.
      const createdAt = new Date(Date.now() - 60_000);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await addToOutbox(client, [
          {
            id,
            exchange,
            routingKey: 'order.notify',
            messageType: 'order.placed.v1',
            data: { n: 1 },
            headers: { correlationId: 'c', 'order-id': 'o-1' },
            createdAt,
          },
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const relay = app.get(OutboxRelay);
      const row = async () =>
        (
          await pool.query('SELECT attempts, last_error, published_at FROM outbox_messages WHERE id = $1', [
            id,
          ])
        ).rows[0];

      // The connection comes up in the background: until it does, a publish times out instead.
      await waitFor('the unroutable publish to be refused', async () => {
        await relay.sweep();
        await pool.query('UPDATE outbox_messages SET next_attempt_at = now() WHERE id = $1', [id]);
        return /^unroutable/.test((await row()).last_error ?? '');
      });
      expect(await row()).toMatchObject({ published_at: null });
      expect((await row()).last_error).toContain(`exchange "${exchange}" for routing key "order.notify"`);

      await broker.channel.assertQueue(queue, { durable: false });
      await broker.channel.bindQueue(queue, exchange, 'order.notify');
      expect(await relay.sweep()).toBe(1);

      expect((await row()).published_at).not.toBeNull();
      const [delivered] = await broker.waitForMessages(queue, 1);
      expect(delivered.properties).toMatchObject({
        messageId: id,
        correlationId: 'c',
        type: 'order.placed.v1',
      });
      expect(delivered.properties.headers).toMatchObject({ 'order-id': 'o-1' });
      // The relay wraps the row's data in the envelope.
      expect(JSON.parse(delivered.content.toString())).toEqual({
        messageId: id,
        type: 'order.placed.v1',
        version: 1,
        occurredAt: createdAt.toISOString(),
        correlationId: 'c',
        data: { n: 1 },
      });
    } finally {
      await app.close();
    }
  });
});
