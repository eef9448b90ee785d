import { MessageTypes, Queues, REPORT_DEADLINE_HEADER } from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  extractPdfText,
  freePort,
  parsePrometheusText,
  publishOrderPlaced,
  resetDatabase,
  sampleValue,
  startServiceProcess,
  testConfig,
  waitFor,
} from '@shop/testing';
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { startReportWorker, type ReportWorkerHarness } from '../testing/report-worker.harness';
import { ReportRpcServer } from './report-rpc.server';

const REPORT_CLI = join(__dirname, '../cli/report.cli.ts');

/**
 * report_rpc as the seeds' rpc_client.py calls it: a plain amqplib client with its own exclusive
 * reply queue, `reply_to` + `correlation_id`, publishing to the default exchange.
 */
class SeedsStyleRpcClient {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly replies: ConsumeMessage[],
    private readonly replyQueue: string,
  ) {}

  static async open(): Promise<SeedsStyleRpcClient> {
    const connection = await connect(testConfig.rabbitmqUrl);
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    const replies: ConsumeMessage[] = [];
    await channel.consume(queue, (message) => message && replies.push(message), { noAck: true });
    const client = new SeedsStyleRpcClient(connection, replies, queue);
    client.channel = channel;
    return client;
  }

  channel!: Awaited<ReturnType<ChannelModel['createChannel']>>;

  async call(body: object, options: { deadlineAt?: number; expirationMs?: number } = {}): Promise<string> {
    const correlationId = randomUUID();
    this.channel.sendToQueue(Queues.reportRpc, Buffer.from(JSON.stringify(body)), {
      replyTo: this.replyQueue,
      correlationId,
      type: MessageTypes.reportRequestV1,
      contentType: 'application/json',
      expiration: String(options.expirationMs ?? 10_000),
      headers: options.deadlineAt ? { [REPORT_DEADLINE_HEADER]: options.deadlineAt } : {},
    });
    return correlationId;
  }

  reply(correlationId: string): Promise<ConsumeMessage> {
    return waitFor(`the reply to ${correlationId}`, () =>
      this.replies.find((reply) => reply.properties.correlationId === correlationId),
    );
  }

  hasReply(correlationId: string): boolean {
    return this.replies.some((reply) => reply.properties.correlationId === correlationId);
  }

  close(): Promise<void> {
    return this.connection.close().catch(() => undefined);
  }
}

describe('report_rpc (real RabbitMQ, PostgreSQL and disk)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let reports: ReportWorkerHarness;
  let client: SeedsStyleRpcClient;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    reports = await startReportWorker();
    await broker.waitForConsumer(Queues.reportRpc);
    client = await SeedsStyleRpcClient.open();
  });
  afterAll(async () => {
    await client?.close();
    await reports?.close();
    await broker?.close();
    await pool?.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.orderReport, Queues.orderStatus, Queues.reportRpc);
  });

  const anOrder = () =>
    createOrderFixture(pool, {
      customer: { email: 'kim.minji@example.kr', name: '김민지' },
      items: [{ sku: 'GIM-002', name: '한국 김 seaweed', quantity: 2, unitPriceCents: 480 }],
    });
  const pdfPath = (orderId: string) => join(reports.reportsDir, `${orderId}.pdf`);
  // This order's row: a message an earlier spec left in a retry queue may bring another order's.
  const waitUntilReported = (orderId: string) =>
    waitFor(
      `the report of ${orderId}`,
      async () =>
        (await pool.query('SELECT 1 FROM order_reports WHERE order_id = $1', [orderId])).rowCount === 1,
    );

  it('answers with the stored PDF, byte for byte, to a client with its own reply queue', async () => {
    const order = await anOrder();
    await publishOrderPlaced(broker, 'order.report', order.event);
    await waitUntilReported(order.orderId);

    const reply = await client.reply(await client.call({ orderId: order.orderId }));
    expect(reply.properties).toMatchObject({
      type: 'report.pdf.v1',
      contentType: 'application/pdf',
      appId: 'report-worker',
    });
    expect(reply.content.equals(await readFile(pdfPath(order.orderId)))).toBe(true);
  });

  it('renders an order it has not seen from the request, once: the later order_report message writes nothing', async () => {
    const order = await anOrder();
    const reply = await client.reply(await client.call({ orderId: order.orderId, order: order.event.data }));
    expect(reply.properties.type).toBe('report.pdf.v1');
    expect(await extractPdfText(reply.content)).toContain('김민지');
    const onDisk = await readFile(pdfPath(order.orderId));
    expect(reply.content.equals(onDisk)).toBe(true);
    const written = await stat(pdfPath(order.orderId));
    // It is reported now, so it is announced like a work-queue report.
    const [announced] = await broker.waitForMessages(Queues.orderStatus, 1);
    expect(announced.properties.type).toBe('order.reported.v1');

    await publishOrderPlaced(broker, 'order.report', order.event);
    await waitFor(
      'the message to be acked',
      async () => (await broker.messageCount(Queues.orderReport)) === 0,
    );
    await broker.waitForMessages(Queues.orderStatus, 1); // re-announced, at least once
    expect((await stat(pdfPath(order.orderId))).mtimeMs).toBe(written.mtimeMs);
    expect((await pool.query('SELECT count(*)::int AS n FROM order_reports')).rows[0].n).toBe(1);
  });

  it("renders the status from the request's order data: a reservation shows until when it awaits payment", async () => {
    const order = await anOrder();
    const data = { ...order.event.data, payBy: '2026-12-07T05:15:42.000+01:00' };
    const reply = await client.reply(await client.call({ orderId: order.orderId, order: data }));
    expect(reply.properties.type).toBe('report.pdf.v1');
    const text = await extractPdfText(reply.content);
    expect(text).toContain('Status Reserved – awaiting payment until 2026-12-07 04:15 UTC');
    expect(text).toContain('김민지');
  });

  it('answers ORDER_NOT_FOUND for an order it has no report of and no data for, and INVALID_REQUEST for a bad body', async () => {
    const notFound = await client.reply(await client.call({ orderId: randomUUID() }));
    expect(notFound.properties).toMatchObject({ type: 'report.error.v1', contentType: 'application/json' });
    expect(JSON.parse(notFound.content.toString())).toMatchObject({ code: 'ORDER_NOT_FOUND' });

    const invalid = await client.reply(await client.call({ orderId: 'not-a-uuid' }));
    expect(JSON.parse(invalid.content.toString())).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('orderId'),
    });
  });

  it('drops a request whose deadline has passed without answering it, and without requeueing it', async () => {
    const server = reports.worker.app.get(ReportRpcServer);
    const dropped = server.counts.dropped;
    const order = await anOrder();
    const call = await client.call(
      { orderId: order.orderId, order: order.event.data },
      { deadlineAt: Date.now() - 1 },
    );
    await waitFor('the request to be dropped', () => server.counts.dropped === dropped + 1);
    expect(await broker.messageCount(Queues.reportRpc)).toBe(0);
    expect(client.hasReply(call)).toBe(false);
    const recorded = await pool.query('SELECT 1 FROM order_reports WHERE order_id = $1', [order.orderId]);
    expect(recorded.rowCount).toBe(0);
  });

  it('counts the requests it answered and dropped in GET /metrics, as its own counts say', async () => {
    const server = reports.worker.app.get(ReportRpcServer);
    const metric = async (outcome: string) =>
      sampleValue(
        parsePrometheusText(String((await reports.worker.get('/metrics')).body)),
        'report_rpc_requests_total',
        {
          service: 'report-worker',
          outcome,
        },
      ) ?? 0;
    const [answered, dropped] = [await metric('answered'), await metric('dropped')];
    const order = await anOrder();
    await client.reply(await client.call({ orderId: order.orderId, order: order.event.data }));
    await client.call({ orderId: order.orderId }, { deadlineAt: Date.now() - 1 });
    await waitFor('the late request dropped', async () => (await metric('dropped')) === dropped + 1);
    expect(await metric('answered')).toBe(answered + 1);
    expect([await metric('answered'), await metric('dropped')]).toEqual([
      server.counts.answered,
      server.counts.dropped,
    ]);
  });

  it('is what `npm run report` asks: it writes the stored PDF and says how it went', async () => {
    const order = await anOrder();
    await publishOrderPlaced(broker, 'order.report', order.event);
    await waitUntilReported(order.orderId);
    const out = join(reports.reportsDir, 'from-cli.pdf');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((settle) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', REPORT_CLI, ...args],
          { env: { ...process.env, RABBITMQ_URL: testConfig.rabbitmqUrl }, timeout: 30_000 },
          (error, stdout, stderr) => settle({ code: error ? (error.code as number) : 0, stdout, stderr }),
        ),
      );

    const written = await run([order.orderId, '--out', out, '--timeout', '5000']);
    expect(written.code).toBe(0);
    expect(written.stdout).toMatch(/correlation id [0-9a-f-]{36}/);
    expect(written.stdout).toContain(`written to ${out}`);
    expect((await readFile(out)).equals(await readFile(pdfPath(order.orderId)))).toBe(true);

    const unknown = await run([randomUUID(), '--out', out]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('ORDER_NOT_FOUND')]);
  });

  it('consumes again when the broker cancels its consumer (the queue went away, as with its node on a cluster)', async () => {
    // Deleting the queue makes the broker cancel every consumer of it, as a lost node does to a classic queue.
    await broker.channel.deleteQueue(Queues.reportRpc);
    // The worker declares its queue (RABBITMQ_DECLARE_TOPOLOGY) and consumes again by itself.
    await broker.waitForConsumer(Queues.reportRpc, 10_000);
    const order = await anOrder();
    const reply = await client.reply(await client.call({ orderId: order.orderId, order: order.event.data }));
    expect(reply.properties.type).toBe('report.pdf.v1');
    expect(await extractPdfText(reply.content)).toContain('김민지');
  });

  it('shares the queue between two report-workers under load', async () => {
    // The second one as its own process, as it would run: two Nest apps in one process share golevelup's
    // connection registry.
    const second = await startServiceProcess(
      'report-worker',
      {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        REPORTS_DIR: reports.reportsDir,
      },
      { port: await freePort() },
    );
    try {
      await waitFor('two consumers on report_rpc', async () => {
        const { consumerCount } = await broker.channel.checkQueue(Queues.reportRpc);
        return consumerCount === 2;
      });
      const server = reports.worker.app.get(ReportRpcServer);
      const before = server.counts.answered;
      const orders = await Promise.all(Array.from({ length: 30 }, () => anOrder()));
      const calls = orders.map((order) => client.call({ orderId: order.orderId, order: order.event.data }));
      const replies = await Promise.all(calls.map(async (call) => client.reply(await call)));
      expect(replies.every((reply) => reply.properties.type === 'report.pdf.v1')).toBe(true);
      // This process answered some, the other process the rest.
      const answeredHere = server.counts.answered - before;
      expect(answeredHere).toBeGreaterThan(0);
      expect(answeredHere).toBeLessThan(30);
      expect((await pool.query('SELECT count(*)::int AS n FROM order_reports')).rows[0].n).toBe(30);
    } finally {
      await second.stop();
    }
  });
});
