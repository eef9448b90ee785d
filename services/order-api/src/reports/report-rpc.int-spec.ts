import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  closeBrokerConnections,
  createOrderFixture,
  createTestPool,
  freePort,
  resetDatabase,
  startServiceProcess,
  testConfig,
  vhostOf,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { asOperator, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

// Long enough for `rabbitmqctl close_all_connections` (a CLI that takes a second or two to start) to land mid-call.
const TIMEOUT_MS = 4_000;

/** Stands in for report-worker on report_rpc, so a spec decides when and what it replies. */
class ScriptedRpcServer {
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: Channel,
  ) {}
  readonly requests: ConsumeMessage[] = [];

  static async start(onRequest: (server: ScriptedRpcServer, request: ConsumeMessage) => void) {
    const connection = await connect(testConfig.rabbitmqUrl);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const server = new ScriptedRpcServer(connection, channel);
    await channel.consume(
      Queues.reportRpc,
      (request) => {
        if (!request) return;
        server.requests.push(request);
        onRequest(server, request);
      },
      { noAck: true },
    );
    return server;
  }

  reply(request: ConsumeMessage, body: Buffer, type: string, contentType: string): void {
    this.channel.sendToQueue(String(request.properties.replyTo), body, {
      correlationId: request.properties.correlationId,
      type,
      contentType,
    });
  }

  replyPdf(request: ConsumeMessage): void {
    this.reply(request, Buffer.from('%PDF-1.7 scripted'), 'report.pdf.v1', 'application/pdf');
  }

  close(): Promise<void> {
    return this.connection.close().catch(() => undefined);
  }
}

describe('GET /orders/:id/report over report_rpc (real RabbitMQ and PostgreSQL)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let api: OrderApiHarness;
  let server: ScriptedRpcServer | undefined;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    api = await startOrderApi({ REPORT_RPC_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await api?.close();
    await broker?.close();
    await pool?.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.reportRpc, Queues.orderReport, Queues.orderStatus);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await worker?.stop('SIGKILL');
    worker = undefined;
  });

  const anOrder = () =>
    createOrderFixture(pool, {
      customer: { email: 'chen.jing@example.cn', name: '陈静' },
      items: [{ sku: 'TEA-001', name: '龙井茶 Longjing tea', quantity: 1, unitPriceCents: 1250 }],
    });
  const rpcDetails = async () =>
    ((await api.get('/health')).body as { checks: { reportRpc: { details: Record<string, number> } } }).checks
      .reportRpc.details;
  const timed = async (path: string) => {
    const started = Date.now();
    const response = await api.get(path, asOperator);
    return { ...response, ms: Date.now() - started };
  };

  it('serves the PDF report-worker renders, byte for byte the file it wrote; 404 for no order', async () => {
    const reportsDir = await mkdtemp(join(tmpdir(), 'reports-'));
    worker = await startServiceProcess(
      'report-worker',
      {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        REPORTS_DIR: reportsDir,
      },
      { port: await freePort() },
    );
    await broker.waitForConsumer(Queues.reportRpc);
    const order = await anOrder();
    // Its order_report message was never published: report-worker renders it from the request.
    const response = await fetch(`${api.baseUrl}/orders/${order.orderId}/report`, { headers: asOperator });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await response.arrayBuffer());
    expect(pdf.equals(await readFile(join(reportsDir, `${order.orderId}.pdf`)))).toBe(true);

    const calls = (await rpcDetails()).calls;
    const missing = await api.get('/orders/2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11/report', asOperator);
    expect([missing.status, (missing.body as { code: string }).code]).toEqual([404, 'ORDER_NOT_FOUND']);
    expect((await rpcDetails()).calls).toBe(calls); // order-api knows its orders: no call made
  });

  it('answers 504 REPORT_TIMEOUT within the deadline when nobody serves report_rpc', async () => {
    const order = await anOrder();
    const response = await timed(`/orders/${order.orderId}/report`);
    expect([response.status, (response.body as { code: string }).code]).toEqual([504, 'REPORT_TIMEOUT']);
    expect(response.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(response.ms).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it('answers 504 while report-worker is paused; resumed, it drops the expired request and serves the next', async () => {
    worker = await startServiceProcess(
      'report-worker',
      {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        REPORTS_DIR: await mkdtemp(join(tmpdir(), 'reports-')),
      },
      { port: await freePort() },
    );
    await broker.waitForConsumer(Queues.reportRpc);
    const order = await anOrder();
    process.kill(worker.pid, 'SIGSTOP');
    try {
      const paused = await timed(`/orders/${order.orderId}/report`);
      expect([paused.status, paused.ms < TIMEOUT_MS + 1_000]).toEqual([504, true]);
    } finally {
      process.kill(worker.pid, 'SIGCONT');
    }
    const next = await api.get(`/orders/${order.orderId}/report`, asOperator);
    expect(next.status).toBe(200);
    // The paused request was past its deadline when the worker got to it: no reply to it ever came.
    expect((await rpcDetails()).lateReplies).toBe(0);
  });

  it('discards a late reply and a duplicate reply, counts them, and keeps serving', async () => {
    const order = await anOrder();
    const before = await rpcDetails();
    // First request: answered after its deadline. Every later one: answered twice.
    server = await ScriptedRpcServer.start((scripted, request) => {
      if (scripted.requests.length === 1) setTimeout(() => scripted.replyPdf(request), TIMEOUT_MS + 300);
      else {
        scripted.replyPdf(request);
        scripted.replyPdf(request);
      }
    });
    await broker.waitForConsumer(Queues.reportRpc);

    expect((await api.get(`/orders/${order.orderId}/report`, asOperator)).status).toBe(504);
    await waitFor(
      'the late reply to be counted',
      async () => (await rpcDetails()).lateReplies === before.lateReplies + 1,
    );

    const served = await fetch(`${api.baseUrl}/orders/${order.orderId}/report`, { headers: asOperator });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).toString()).toBe('%PDF-1.7 scripted');
    await waitFor(
      'the duplicate to be counted',
      async () => (await rpcDetails()).unknownReplies === before.unknownReplies + 1,
    );
    expect((await rpcDetails()).timeouts).toBe(before.timeouts + 1);
  });

  it('answers 502 REPORT_FAILED for an error reply', async () => {
    const order = await anOrder();
    server = await ScriptedRpcServer.start((scripted, request) =>
      scripted.reply(
        request,
        Buffer.from(JSON.stringify({ code: 'RENDER_FAILED', message: 'no font' })),
        'report.error.v1',
        'application/json',
      ),
    );
    await broker.waitForConsumer(Queues.reportRpc);
    const response = await api.get(`/orders/${order.orderId}/report`, asOperator);
    expect([response.status, response.body]).toEqual([
      502,
      expect.objectContaining({ code: 'REPORT_FAILED', message: expect.stringContaining('no font') }),
    ]);
  });

  it('fails a call cleanly when the connection drops mid-call, and the next call works', async () => {
    const order = await anOrder();
    // Never replies, so the call is in flight when the connections are closed.
    server = await ScriptedRpcServer.start(() => undefined);
    await broker.waitForConsumer(Queues.reportRpc);
    const inFlight = timed(`/orders/${order.orderId}/report`);
    await waitFor('the request to reach the server', () => server!.requests.length === 1);
    await closeBrokerConnections(vhostOf(testConfig.rabbitmqUrl), 'spec: connection dropped mid-call');
    const dropped = await inFlight;
    expect([dropped.status, (dropped.body as { code: string }).code]).toEqual([502, 'REPORT_FAILED']);
    expect(dropped.ms).toBeLessThan(TIMEOUT_MS);

    await server.close();
    broker = await BrokerProbe.connect();
    server = await ScriptedRpcServer.start((scripted, request) => scripted.replyPdf(request));
    await waitFor('order-api to be connected again', async () => (await api.get('/health')).status === 200);
    await waitFor(
      'a call to work again',
      async () => (await api.get(`/orders/${order.orderId}/report`, asOperator)).status === 200,
      {
        timeoutMs: 15_000,
      },
    );
  });
});
