import { Exchanges, LogRecordV1 } from '@shop/contracts';
import { attachLogPublisher, JsonLogger } from '@shop/logging';
import {
  BrokerProbe,
  createTestPool,
  insertProduct,
  SmtpSink,
  startWorkerProcesses,
  testConfig,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import type { ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { SERVICE_NAME } from '../app.module';
import { startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

/**
 * Logs follow an order: order-api logs under the request's correlation id, which the outbox puts on
 * the order's messages, under which the workers log in turn. Records are read from the `logs` exchange.
 */
describe('order logs on the logs exchange, by correlation id (real PostgreSQL and RabbitMQ)', () => {
  const sku = `LOG-${randomBytes(4).toString('hex').toUpperCase()}`;
  const customer = { email: 'Wang.Xiaoming@Example.cn', name: '王小明' };
  const received: ConsumeMessage[] = [];
  const stdout: string[] = [];
  let pool: Pool;
  let broker: BrokerProbe;
  let api: OrderApiHarness;
  let smtp: SmtpSink | undefined;
  let workers: ServiceProcess[] = [];

  beforeAll(async () => {
    pool = createTestPool();
    await insertProduct(pool, { sku, name: 'Log spec tea', priceCents: 1250, stock: 1_000 });
    broker = await BrokerProbe.connect();
    await broker.channel.assertExchange(Exchanges.logs, 'topic', { durable: true });
    const { queue } = await broker.channel.assertQueue('', { exclusive: true, autoDelete: true });
    await broker.channel.bindQueue(queue, Exchanges.logs, '#');
    await broker.channel.consume(queue, (message) => message && received.push(message), { noAck: true });

    const logger = new JsonLogger(SERVICE_NAME, { write: (line) => stdout.push(line) });
    attachLogPublisher(logger, { url: testConfig.rabbitmqUrl, declareExchange: true });
    api = await startOrderApi({}, { logger });
  });

  afterAll(async () => {
    await api?.close();
    await Promise.all(workers.map((worker) => worker.stop()));
    await smtp?.stop();
    await broker?.close();
    await pool?.end();
  });

  const recordsWith = (correlationId: string) =>
    received
      .filter((message) => message.properties.correlationId === correlationId)
      .map((message) => ({ message, record: JSON.parse(message.content.toString()) as LogRecordV1 }));

  const placeOrder = (correlationId: string, quantity = 3) =>
    api.post('/orders', { customer, items: [{ sku, quantity }] }, { 'x-correlation-id': correlationId });

  it("publishes the accepted order's info record under the request's X-Correlation-Id, email masked", async () => {
    const response = await placeOrder('corr-xyz');
    expect(response.status).toBe(201);
    const orderId: string = response.body.id;

    const [placed] = await waitFor('the "order placed" record', () => {
      const found = recordsWith('corr-xyz').filter(({ record }) => record.message.includes(orderId));
      return found.length > 0 && found;
    });
    expect(placed.message.fields.routingKey).toBe('order-api.info');
    expect(placed.record).toMatchObject({
      service: 'order-api',
      level: 'info',
      context: 'OrdersService',
      message: `order ${orderId} placed (3 items, €37.50)`,
      correlationId: 'corr-xyz',
    });
    expect(stdout).toContain(placed.message.content.toString());
    const everything = [...received.map((m) => m.content.toString()), ...stdout].join('\n');
    expect(everything).not.toMatch(/xiaoming/i);
  });

  it('keeps concurrent requests apart', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `corr-parallel-${i}-${randomBytes(3).toString('hex')}`);
    const responses = await Promise.all(ids.map((id, i) => placeOrder(id, i + 1)));
    expect(responses.map((r) => r.status)).toEqual(ids.map(() => 201));
    for (const [i, id] of ids.entries()) {
      const orderId: string = responses[i].body.id;
      const [placed] = await waitFor(`the record of ${id}`, () => {
        const found = recordsWith(id);
        return found.length > 0 && found;
      });
      expect(placed.record.message).toBe(
        `order ${orderId} placed (${i + 1} items, €${(12.5 * (i + 1)).toFixed(2)})`,
      );
    }
  });

  it('follows one order through order-api, notify-worker and report-worker', async () => {
    smtp = new SmtpSink();
    await smtp.start();
    const reportsDir = await mkdtemp(join(tmpdir(), 'order-logging-reports-'));
    workers = await startWorkerProcesses({ smtpUrl: smtp.url, reportsDir });
    const correlationId = `trace-${randomBytes(6).toString('hex')}`;
    const response = await placeOrder(correlationId, 1);
    expect(response.status).toBe(201);
    const orderId: string = response.body.id;

    const services = await waitFor(
      'records of the order from all three services',
      () => {
        const records = recordsWith(correlationId).map(({ record }) => record);
        const found = new Set(records.filter((r) => r.message.includes(orderId)).map((r) => r.service));
        return found.size === 3 && records;
      },
      { timeoutMs: 30_000 },
    );
    expect(services).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'order-api', message: expect.stringContaining('placed') }),
        expect.objectContaining({ service: 'notify-worker', message: expect.stringContaining('email') }),
        expect.objectContaining({ service: 'report-worker', message: expect.stringContaining('report') }),
      ]),
    );
  });
});
