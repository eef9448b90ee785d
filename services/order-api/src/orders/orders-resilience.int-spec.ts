import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  insertProduct,
  resetDatabase,
  startBrokerApp,
  stopBrokerApp,
  waitFor,
} from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

const order = {
  customer: { email: 'kim@example.kr', name: '김민지' },
  items: [{ sku: 'TEA-001', quantity: 1 }],
};

describe('order-api when its dependencies fail', () => {
  let pool: Pool;

  beforeAll(() => {
    pool = createTestPool();
  });
  afterAll(async () => {
    await pool.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await insertProduct(pool, { sku: 'TEA-001', name: '龙井茶', priceCents: 1250, stock: 100 });
  });

  describe('with the broker', () => {
    let api: OrderApiHarness;
    let broker: BrokerProbe;

    beforeAll(async () => {
      api = await startOrderApi();
      broker = await BrokerProbe.connect();
      await broker.purge(Queues.orderNotify, Queues.orderReport);
    });
    afterAll(async () => {
      await api.close();
      await broker.close();
    });

    it('reports healthy when PostgreSQL and RabbitMQ are up', async () => {
      const health = await waitFor('health 200', async () => {
        const response = await api.get('/health');
        return response.status === 200 && response;
      });
      expect(health.body).toEqual({
        status: 'ok',
        checks: {
          database: { status: 'up' },
          broker: { status: 'up' },
          // Always up (orders do not need report-worker); its counters show beside it.
          reportRpc: {
            status: 'up',
            details: { calls: 0, timeouts: 0, failed: 0, lateReplies: 0, unknownReplies: 0, inFlight: 0 },
          },
        },
      });
    });

    it('publishes rows the fast path left behind exactly once, even with sweeps running side by side', async () => {
      // 40 committed-but-unpublished rows, as after a crash between commit and publish.
      const ids = Array.from({ length: 40 }, () => randomUUID());
      await pool.query(
        `INSERT INTO outbox_messages (id, exchange, routing_key, message_type, payload, headers, created_at)
         SELECT id, 'order', 'order.notify', 'order.placed.v1', jsonb_build_object('n', ord), '{"correlationId":"sweep-test"}',
                now() - interval '1 minute'
           FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, ord)`,
        [ids],
      );
      const swept = await Promise.all([api.relay.sweep(), api.relay.sweep(), api.relay.sweep()]);
      const messages = await broker.waitForMessages(Queues.orderNotify, 40);
      // The background sweep may have taken some rows first; together every row went out once.
      expect(swept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(40);
      expect(messages.map((m) => m.properties.messageId).sort()).toEqual([...ids].sort());
      expect(new Set(messages.map((m) => m.properties.messageId)).size).toBe(40);
      const { rows } = await pool.query(
        'SELECT count(*) AS n FROM outbox_messages WHERE published_at IS NULL',
      );
      expect(Number(rows[0].n)).toBe(0);
      expect(await broker.messageCount(Queues.orderNotify)).toBe(0);
    });

    it('accepts orders (201) while RabbitMQ is stopped and publishes them once it is back', async () => {
      await broker.close();
      let restored = false;
      try {
        await stopBrokerApp();
        await waitFor(
          'health to report the broker down',
          async () => (await api.get('/health')).status === 503,
        );

        const placed = await Promise.all([
          api.post('/orders', order),
          api.post('/orders', order),
          api.post('/orders', order),
        ]);
        expect(placed.map((r) => r.status)).toEqual([201, 201, 201]);

        await startBrokerApp();
        restored = true;
      } finally {
        if (!restored) await startBrokerApp();
      }

      broker = await BrokerProbe.connect();
      const notify = await broker.waitForMessages(Queues.orderNotify, 3, 60_000);
      const report = await broker.waitForMessages(Queues.orderReport, 3, 60_000);
      expect(new Set(notify.map((m) => JSON.parse(m.content.toString()).data.orderId)).size).toBe(3);
      expect(new Set(report.map((m) => JSON.parse(m.content.toString()).data.orderId)).size).toBe(3);
      await waitFor('all outbox rows marked published', async () => {
        const { rows } = await pool.query(
          'SELECT count(*) AS n FROM outbox_messages WHERE published_at IS NULL',
        );
        return Number(rows[0].n) === 0;
      });
      await waitFor('health back to 200', async () => (await api.get('/health')).status === 200, {
        timeoutMs: 30_000,
      });
    }, 180_000);
  });

  describe('without the database', () => {
    it('answers 503 DATABASE_UNAVAILABLE quickly and reports unhealthy', async () => {
      // Port 1 on loopback refuses connections: the database is "down" for this instance only.
      const api = await startOrderApi({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/orders_test' });
      try {
        const started = Date.now();
        const response = await api.post('/orders', order);
        expect(response.status).toBe(503);
        expect(response.body.code).toBe('DATABASE_UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(3_000);

        const health = await api.get('/health');
        expect(health.status).toBe(503);
        expect(health.body.checks.database.status).toBe('down');

        expect((await api.get('/products')).status).toBe(503);
      } finally {
        await api.close();
      }
    });
  });
});
