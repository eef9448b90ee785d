import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  extractPdfText,
  insertProduct,
  resetDatabase,
  SmtpSink,
  startWorkerProcesses,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { asOperator, bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

/**
 * The whole journey: POST /orders on the real order-api, with notify-worker and report-worker running as
 * their own processes → one email at the SMTP server, one PDF on disk, and the order's status showing both.
 */
describe('order pipeline: POST /orders → email and PDF report', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let smtp: SmtpSink;
  let api: OrderApiHarness;
  let workers: ServiceProcess[] = [];
  let reportsDir: string;

  beforeAll(async () => {
    pool = createTestPool();
    await resetDatabase(pool);
    broker = await BrokerProbe.connect();
    await broker.purge(
      Queues.orderNotify,
      Queues.orderReport,
      Queues.orderNotifyDeadLetter,
      Queues.orderReportDeadLetter,
    );
    smtp = new SmtpSink();
    await smtp.start();
    reportsDir = await mkdtemp(join(tmpdir(), 'pipeline-reports-'));
    workers = await startWorkerProcesses({ smtpUrl: smtp.url, reportsDir });
    api = await startOrderApi();
  });
  afterAll(async () => {
    await api?.close();
    await Promise.all(workers.map((worker) => worker.stop()));
    await smtp?.stop();
    await broker?.close();
    await pool?.end();
  });

  it('emails the customer once, writes one PDF and shows both in the order status', async () => {
    await insertProduct(pool, {
      sku: 'TEA-LONGJING-100G',
      name: '龙井茶 Longjing green tea, 100 g',
      priceCents: 1890,
      stock: 10,
    });
    await insertProduct(pool, {
      sku: 'KIMCHI-500G',
      name: '배추김치 Napa cabbage kimchi, 500 g',
      priceCents: 790,
      stock: 10,
    });

    const placed = await api.post(
      '/orders',
      {
        customer: { email: 'wang.fang@example.cn', name: '王芳' },
        items: [
          { sku: 'TEA-LONGJING-100G', quantity: 2 },
          { sku: 'KIMCHI-500G', quantity: 1 },
        ],
      },
      { 'idempotency-key': 'pipeline-1' },
    );
    expect(placed.status).toBe(201);
    const orderId: string = placed.body.id;

    const completed = await waitFor(
      'the order to be completed (notified and reported)',
      async () => {
        const response = await api.get(`/orders/${orderId}`, bearer(placed.body.accessToken));
        return response.body.status === 'completed' && response.body;
      },
      { timeoutMs: 20_000 },
    );
    expect(Date.parse(completed.notifiedAt)).not.toBeNaN();
    expect(Date.parse(completed.reportedAt)).not.toBeNaN();

    const [mail] = smtp.messages;
    expect(smtp.messages).toHaveLength(1);
    expect(mail.to).toEqual([{ address: 'wang.fang@example.cn', name: '王芳' }]);
    expect(mail.subject).toBe(`Your order ${orderId.slice(0, 8).toUpperCase()} is confirmed`);
    expect(mail.text).toContain(
      '2 × 龙井茶 Longjing green tea, 100 g (TEA-LONGJING-100G) at €18.90 = €37.80',
    );
    expect(mail.text).toContain('1 × 배추김치 Napa cabbage kimchi, 500 g (KIMCHI-500G) at €7.90 = €7.90');
    expect(mail.text).toContain('Total: €45.70');

    // As a browser opens the PDF link: the access token in the query string.
    const report = await fetch(
      `${api.baseUrl}/orders/${orderId}/report?accessToken=${placed.body.accessToken}`,
    );
    expect([report.status, report.status === 200 ? '' : await report.clone().text()]).toEqual([200, '']);
    expect(report.headers.get('content-type')).toBe('application/pdf');
    const text = await extractPdfText(new Uint8Array(await report.arrayBuffer()));
    expect(text).toContain(orderId);
    expect(text).toContain('王芳');
    expect(text).toContain('龙井茶 Longjing green tea, 100 g');
    expect(text).toContain('배추김치 Napa cabbage kimchi, 500 g');
    expect(text).toContain('€45.70');

    // Nothing more arrives, nothing was parked.
    await expect(smtp.waitForMessages(2, 1_000)).rejects.toThrow();
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    expect(await broker.messageCount(Queues.orderReportDeadLetter)).toBe(0);
  });

  it('answers 404 ORDER_NOT_FOUND for an order it does not have', async () => {
    const missing = await api.get('/orders/2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11/report', asOperator);
    expect([missing.status, missing.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
  });
});
