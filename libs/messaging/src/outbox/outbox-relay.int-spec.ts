import { Test } from '@nestjs/testing';
import { DbModule } from '@shop/db';
import { createTestPool, resetDatabase, testConfig } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { MessagingModule } from '../messaging.module';
import { OutboxRelay } from './outbox-relay';
import { OutboxRelayModule } from './outbox-relay.module';

describe('OutboxRelay while the broker is unreachable', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = createTestPool();
  });
  afterAll(() => pool.end());
  beforeEach(() => resetDatabase(pool));

  it('records the failure and backs off instead of retrying at once', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({ databaseUrl: testConfig.databaseUrl, applicationName: 'outbox-spec' }),
        // Nothing listens on port 1: every publish times out.
        MessagingModule.forRoot({
          url: 'amqp://guest:guest@127.0.0.1:1',
          appId: 'outbox-spec',
          publishTimeoutMs: 200,
        }),
        OutboxRelayModule.forRoot({
          databaseUrl: testConfig.databaseUrl,
          applicationName: 'outbox-spec',
          sweepIntervalMs: 0,
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
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
