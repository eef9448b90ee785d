import { Queues, retryQueuesOf } from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  describeStatusEvent,
  extractPdfText,
  publishOrderPlaced,
  resetDatabase,
  waitFor,
} from '@shop/testing';
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { startReportWorker, type ReportWorkerHarness } from '../testing/report-worker.harness';

const retryQueues = retryQueuesOf(Queues.orderReport);

describe('report-worker (real RabbitMQ, PostgreSQL and disk)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let reports: ReportWorkerHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
  });
  afterAll(async () => {
    await broker.close();
    await pool.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    // No order-api here: order_status keeps the events of the last spec.
    await broker.purge(Queues.orderReport, Queues.orderReportDeadLetter, ...retryQueues, Queues.orderStatus);
  });
  afterEach(() => reports?.close());

  const wangsOrder = () =>
    createOrderFixture(pool, {
      customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
      items: [
        { sku: 'TEA-001', name: '龙井茶 Longjing tea', quantity: 2, unitPriceCents: 1250 },
        { sku: 'GIM-002', name: '한국 김 seaweed', quantity: 1, unitPriceCents: 480 },
      ],
    });
  /** 'reported' once the worker recorded the order's PDF (the order's own status is order-api's). */
  const statusOf = async (orderId: string) =>
    (await pool.query('SELECT 1 FROM order_reports WHERE order_id = $1', [orderId])).rowCount === 1
      ? 'reported'
      : 'to do';

  it('writes the PDF atomically, records it and announces order.reported.v1', async () => {
    reports = await startReportWorker();
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.report', order.event);

    await waitFor('the report to be recorded', async () => (await statusOf(order.orderId)) === 'reported');
    const [announced] = await broker.waitForMessages(Queues.orderStatus, 1);
    expect(describeStatusEvent(announced)).toMatchObject({
      routingKey: 'order.reported',
      properties: {
        type: 'order.reported.v1',
        contentType: 'application/json',
        deliveryMode: 2,
        correlationId: order.event.correlationId,
        appId: 'report-worker',
      },
      sameMessageId: true,
      body: {
        type: 'order.reported.v1',
        version: 1,
        data: { orderId: order.orderId, reportedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      },
    });
    const pdf = await readFile(join(reports.reportsDir, `${order.orderId}.pdf`));
    const text = await extractPdfText(pdf);
    expect(text).toContain(order.orderId);
    expect(text).toContain('王小明');
    expect(text).toContain('龙井茶 Longjing tea');
    expect(text).toContain('한국 김 seaweed');
    expect(text).toContain('TEA-001');
    expect(text).toContain('€29.80');

    const { rows } = await pool.query('SELECT file_name, bytes, sha256, message_id FROM order_reports');
    expect(rows).toEqual([
      {
        file_name: `${order.orderId}.pdf`,
        bytes: pdf.length,
        sha256: createHash('sha256').update(pdf).digest('hex'),
        message_id: order.event.messageId,
      },
    ]);
    expect(await readdir(reports.reportsDir)).toEqual([`${order.orderId}.pdf`]);
    await waitFor(
      'the message to be acked',
      async () => (await broker.messageCount(Queues.orderReport)) === 0,
    );
  });

  it('states in the PDF that the order is reserved until its pay-by time when the message carries one', async () => {
    reports = await startReportWorker();
    const order = await wangsOrder();
    const payBy = '2026-12-07T05:15:42.000Z';
    await publishOrderPlaced(broker, 'order.report', {
      ...order.event,
      data: { ...order.event.data, payBy },
    });

    await waitFor('the report to be recorded', async () => (await statusOf(order.orderId)) === 'reported');
    const text = await extractPdfText(await readFile(join(reports.reportsDir, `${order.orderId}.pdf`)));
    expect(text).toContain('Status Reserved – awaiting payment until 2026-12-07 05:15 UTC');
    expect(text).toContain('王小明');
  });

  it('writes one PDF when the same order arrives twice', async () => {
    reports = await startReportWorker();
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.report', order.event);
    await waitFor('the first report', async () => (await statusOf(order.orderId)) === 'reported');
    const first = await stat(join(reports.reportsDir, `${order.orderId}.pdf`));

    await publishOrderPlaced(broker, 'order.report', order.event);
    await publishOrderPlaced(broker, 'order.report', {
      ...order.event,
      messageId: '5f1d7c1e-9a0b-4c3d-8e2f-1a2b3c4d5e6f',
    });
    await waitFor(
      'both duplicates to be acked',
      async () => (await broker.messageCount(Queues.orderReport)) === 0,
    );

    const again = await stat(join(reports.reportsDir, `${order.orderId}.pdf`));
    expect(again.mtimeMs).toBe(first.mtimeMs);
    expect(Number((await pool.query('SELECT count(*) AS n FROM order_reports')).rows[0].n)).toBe(1);
    expect(await readdir(reports.reportsDir)).toHaveLength(1);
    expect(await broker.messageCount(Queues.orderReportDeadLetter)).toBe(0);
    // Each copy announced the report again (at least once), all with the time it was first recorded.
    const events = (await broker.waitForMessages(Queues.orderStatus, 3)).map((m) =>
      JSON.parse(m.content.toString()),
    );
    expect(events.map((event) => event.data.orderId)).toEqual([order.orderId, order.orderId, order.orderId]);
    expect(new Set(events.slice(1).map((event) => event.data.reportedAt)).size).toBe(1);
  });

  it('writes the PDF once when copies of one message are handled at the same time', async () => {
    // The outbox publishes at least once and a returning broker redelivers what it had handed out, so
    // copies of one order's message can sit side by side in the queue and reach the worker together.
    const reportsDir = await mkdtemp(join(tmpdir(), 'reports-copies-'));
    const order = await wangsOrder();
    const copies = 8;
    for (let copy = 0; copy < copies; copy++) await publishOrderPlaced(broker, 'order.report', order.event);
    // Every write goes through its own temporary file: count them as the disk sees them.
    const temporaryFiles = new Set<string>();
    const watcher = watch(reportsDir, (_event, name) => {
      if (name?.endsWith('.tmp')) temporaryFiles.add(name);
    });
    try {
      // Started after the copies are queued: with prefetch 10 it receives all of them at once.
      reports = await startReportWorker({ REPORTS_DIR: reportsDir, PREFETCH: '10' });
      await waitFor('the report', async () => (await statusOf(order.orderId)) === 'reported');
      // A graceful stop finishes (and acks) every copy the worker holds before it returns.
      await reports.close();
    } finally {
      watcher.close();
    }

    expect(temporaryFiles.size).toBe(1);
    expect(await readdir(reportsDir)).toEqual([`${order.orderId}.pdf`]);
    expect(Number((await pool.query('SELECT count(*) AS n FROM order_reports')).rows[0].n)).toBe(1);
    for (const queue of [Queues.orderReport, Queues.orderReportDeadLetter, ...retryQueues])
      expect(await broker.messageCount(queue)).toBe(0);
  });

  it('retries a disk error with backoff and writes the PDF once the disk is back', async () => {
    const base = await mkdtemp(join(tmpdir(), 'reports-broken-'));
    const reportsDir = join(base, 'reports');
    // A file where the folder should be: every write fails (ENOTDIR/EEXIST), as a broken mount would.
    await writeFile(reportsDir, 'not a folder');
    reports = await startReportWorker({ REPORTS_DIR: reportsDir });
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.report', order.event);

    await waitFor('a failed attempt waiting in a retry queue', async () => {
      const counts = await Promise.all(retryQueues.map((queue) => broker.messageCount(queue)));
      return counts.some((count) => count > 0);
    });
    expect(await statusOf(order.orderId)).toBe('to do');
    await rm(reportsDir);
    await mkdir(reportsDir);

    await waitFor(
      'the order to be marked reported',
      async () => (await statusOf(order.orderId)) === 'reported',
      {
        timeoutMs: 20_000,
      },
    );
    expect(await readdir(reportsDir)).toEqual([`${order.orderId}.pdf`]);
    expect(await broker.messageCount(Queues.orderReportDeadLetter)).toBe(0);
  });
});
