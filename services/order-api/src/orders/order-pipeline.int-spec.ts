import { Queues, SANDBOX_CARDS } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  extractPdfText,
  freePort,
  insertProduct,
  resetDatabase,
  SmtpSink,
  startServiceProcess,
  startWorkerProcesses,
  testConfig,
  testRabbitmqUrlAs,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { asOperator, bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

/**
 * The whole journey: POST /orders on the real order-api, with notify-worker, report-worker and the
 * payment service running as their own processes → the reservation email and one PDF, then the payment
 * (the sandbox provider's success card) → paid, its email, and completed once both steps are done.
 */
describe('order pipeline: POST /orders → email and PDF report', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let smtp: SmtpSink;
  let api: OrderApiHarness;
  let workers: ServiceProcess[] = [];
  let payment: ServiceProcess | undefined;
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
    payment = await startServiceProcess(
      'payment',
      { RABBITMQ_URL: testRabbitmqUrlAs('payment'), DATABASE_URL: testConfig.databaseUrlOf('payment') },
      { port: await freePort() },
    );
    api = await startOrderApi();
  });
  afterAll(async () => {
    await api?.close();
    await Promise.all([...workers, payment].map((worker) => worker?.stop()));
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

    const fulfilled = await waitFor(
      'the reservation emailed and its PDF written',
      async () => {
        const response = await api.get(`/orders/${orderId}`, bearer(placed.body.accessToken));
        return response.body.notifiedAt && response.body.reportedAt && response.body;
      },
      { timeoutMs: 20_000 },
    );
    // Not completed before it is paid.
    expect(fulfilled.status).toBe('placed');

    const [mail] = smtp.messages;
    expect(smtp.messages).toHaveLength(1);
    expect(mail.to).toEqual([{ address: 'wang.fang@example.cn', name: '王芳' }]);
    expect(mail.subject).toMatch(
      new RegExp(`^Your order ${orderId.slice(0, 8).toUpperCase()} is reserved: please pay by .* UTC$`),
    );
    expect(mail.text).toContain(
      '2 × 龙井茶 Longjing green tea, 100 g (TEA-LONGJING-100G) at €18.90 = €37.80',
    );
    expect(mail.text).toContain('1 × 배추김치 Napa cabbage kimchi, 500 g (KIMCHI-500G) at €7.90 = €7.90');
    expect(mail.text).toContain('Total: €45.70');

    const paying = await api.post(
      `/orders/${orderId}/payment`,
      { card: SANDBOX_CARDS.succeeds },
      bearer(placed.body.accessToken),
    );
    expect(paying.status).toBe(202);
    const completed = await waitFor(
      'the order to be completed (paid, notified and reported)',
      async () => {
        const response = await api.get(`/orders/${orderId}`, bearer(placed.body.accessToken));
        return response.body.status === 'completed' && response.body;
      },
      { timeoutMs: 20_000 },
    );
    expect(completed.payment).toEqual({ status: 'succeeded', paymentId: paying.body.paymentId });
    expect(Date.parse(completed.paidAt)).not.toBeNaN();
    const [, paidMail] = await smtp.waitForMessages(2, 15_000);
    expect(paidMail.subject).toBe(`Your order ${orderId.slice(0, 8).toUpperCase()} is paid`);

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
    // Made for the reservation, as the order stood when it was placed.
    expect(text).toMatch(/Reserved – awaiting payment until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

    // Nothing more arrives, nothing was parked.
    await expect(smtp.waitForMessages(3, 1_000)).rejects.toThrow();
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    expect(await broker.messageCount(Queues.orderReportDeadLetter)).toBe(0);
  });

  it('answers 404 ORDER_NOT_FOUND for an order it does not have', async () => {
    const missing = await api.get('/orders/2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11/report', asOperator);
    expect([missing.status, missing.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
  });
});
