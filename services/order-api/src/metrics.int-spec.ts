import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  insertProduct,
  parsePrometheusText,
  resetDatabase,
  sampleValue,
  waitFor,
} from '@shop/testing';
import type { Pool } from 'pg';
import { asOperator, startOrderApi, type OrderApiHarness } from './testing/order-api.harness';

describe("order-api's GET /metrics (real PostgreSQL and RabbitMQ)", () => {
  let api: OrderApiHarness;
  let pool: Pool;
  let broker: BrokerProbe;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    await resetDatabase(pool);
    await broker.purge(Queues.orderNotify, Queues.orderReport);
    // Nobody serves report_rpc here: a report request times out after this long.
    api = await startOrderApi({ REPORT_RPC_TIMEOUT_MS: '300' });
    await waitFor('order-api health', async () => (await api.get('/health')).status === 200);
  });
  afterAll(async () => {
    await api?.close();
    await broker?.close();
    await pool?.end();
  });

  it('counts the orders accepted, refused and rejected, by status, under the route pattern', async () => {
    await insertProduct(pool, { sku: 'METRIC-1', name: '指标 metric tea', priceCents: 990, stock: 2 });
    const order = {
      customer: { email: 'li.na@example.cn', name: '李娜' },
      items: [{ sku: 'METRIC-1', quantity: 1 }],
    };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api.post('/orders', order)).status);
    statuses.push((await api.post('/orders', { customer: order.customer, items: [] })).status);
    expect(statuses).toEqual([201, 201, 409, 400]);
    const placed = await pool.query<{ id: string }>('SELECT id FROM orders');
    expect((await api.get(`/orders/${placed.rows[0].id}`, asOperator)).status).toBe(200);

    const response = await api.get('/metrics');
    expect(response.status).toBe(200);
    const samples = parsePrometheusText(String(response.body));
    const answered = (route: string, method: string, status: number) =>
      sampleValue(samples, 'http_requests_total', {
        service: 'order-api',
        route,
        method,
        status: String(status),
      });
    expect(answered('/orders', 'POST', 201)).toBe(2);
    expect(answered('/orders', 'POST', 409)).toBe(1);
    expect(answered('/orders', 'POST', 400)).toBe(1);
    expect(answered('/orders/:id', 'GET', 200)).toBe(1);
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', { route: '/orders', method: 'POST' }),
    ).toBe(4);
  });

  it('reports the outbox backlog: the rows not yet published', async () => {
    const unpublished = async () =>
      (
        await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox_messages WHERE published_at IS NULL',
        )
      ).rows[0].n;
    // The relay publishes within moments: wait until it has, then the gauge says 0.
    await waitFor('the outbox drained', async () => (await unpublished()) === 0);
    const drained = parsePrometheusText(String((await api.get('/metrics')).body));
    expect(sampleValue(drained, 'outbox_unpublished_messages', { service: 'order-api' })).toBe(0);
    // Two rows the relay will not pick up yet (next attempt in an hour), as after failed publishes.
    await pool.query(
      `UPDATE outbox_messages SET published_at = NULL, next_attempt_at = now() + interval '1 hour'
        WHERE id IN (SELECT id FROM outbox_messages ORDER BY id LIMIT 2)`,
    );
    const backlog = parsePrometheusText(String((await api.get('/metrics')).body));
    expect(sampleValue(backlog, 'outbox_unpublished_messages')).toBe(await unpublished());
    expect(sampleValue(backlog, 'outbox_unpublished_messages')).toBe(2);
  });

  it('counts the orders by status and the events the outbox relay had confirmed', async () => {
    await pool.query(`UPDATE orders SET status = 'completed' WHERE id = (SELECT id FROM orders LIMIT 1)`);
    const byStatus = await pool.query<{ status: string; n: number }>(
      'SELECT status::text AS status, count(*)::int AS n FROM orders GROUP BY status',
    );
    expect(byStatus.rows.length).toBe(2);
    // The gauge recounts at most every 5 s: poll until the scrape shows the update.
    await waitFor('orders_by_status shows the completed order', async () => {
      const samples = parsePrometheusText(String((await api.get('/metrics')).body));
      return byStatus.rows.every(
        ({ status, n }) => sampleValue(samples, 'orders_by_status', { service: 'order-api', status }) === n,
      );
    });

    // Two orders, each one order.notify and one order.report event, confirmed by the broker.
    const samples = parsePrometheusText(String((await api.get('/metrics')).body));
    for (const routingKey of ['order.notify', 'order.report']) {
      expect(
        sampleValue(samples, 'messages_published_total', {
          exchange: 'order',
          routing_key: routingKey,
          outcome: 'confirmed',
        }),
      ).toBe(2);
    }
  });

  it('counts report_rpc calls by outcome and times them', async () => {
    await broker.purge(Queues.reportRpc);
    const [order] = (await pool.query<{ id: string }>('SELECT id FROM orders LIMIT 1')).rows;
    expect((await api.get(`/orders/${order.id}/report`, asOperator)).status).toBe(504);

    const samples = parsePrometheusText(String((await api.get('/metrics')).body));
    expect(sampleValue(samples, 'report_rpc_calls_total', { service: 'order-api', outcome: 'timeout' })).toBe(
      1,
    );
    expect(sampleValue(samples, 'report_rpc_call_seconds_count', { outcome: 'timeout' })).toBe(1);
    // The whole 300 ms timeout, give or take the millisecond libuv rounds its timers' clock to (a timer
    // may fire up to 1 ms early by the high-resolution clock the histogram reads).
    expect(
      sampleValue(samples, 'report_rpc_call_seconds_sum', { outcome: 'timeout' }),
    ).toBeGreaterThanOrEqual(0.299);
    await broker.purge(Queues.reportRpc);
  });
});
