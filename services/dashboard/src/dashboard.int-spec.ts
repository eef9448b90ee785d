import { DEFAULT_PAYMENT_WINDOW_MS, paymentDueQueueOf, SANDBOX_CARDS } from '@shop/contracts';
import { insertProduct, parsePrometheusText, sampleValue, testSecrets, waitFor } from '@shop/testing';
import type { DashboardSnapshot, SaleStatus } from './snapshot/snapshot';
import { DashboardSystem, type PlacedOrder } from './testing/dashboard-system.harness';
import { readEventStream, type ServerSentEvent } from './testing/event-stream.reader';

/** Tools use the dashboard with the operator token itself (the browser signs in for a cookie instead). */
const operator = { authorization: `Bearer ${testSecrets.OPS_TOKEN}` };

/** Reads `count` events from GET /events (sending `lastEventId` as a reconnecting browser does), then hangs up. */
async function readEvents(baseUrl: string, count: number, lastEventId?: string): Promise<ServerSentEvent[]> {
  const stream = await readEventStream(
    `${baseUrl}/events`,
    lastEventId ? { ...operator, 'last-event-id': lastEventId } : operator,
  );
  try {
    expect(stream.status).toBe(200);
    expect(stream.contentType).toBe('text/event-stream; charset=utf-8');
    await waitFor(`${count} events`, () => stream.events.length >= count);
  } finally {
    stream.close();
  }
  return stream.events.slice(0, count);
}

describe('dashboard (real services, broker, database and SMTP)', () => {
  let system: DashboardSystem;
  let dashboard: string;
  const snapshot = async (): Promise<DashboardSnapshot> =>
    (await (await fetch(`${dashboard}/api/snapshot`, { headers: operator })).json()) as DashboardSnapshot;
  const postSale = (body: unknown) =>
    fetch(`${dashboard}/sales`, {
      method: 'POST',
      headers: { ...operator, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const stopSale = () =>
    fetch(`${dashboard}/sales/current/stop`, {
      method: 'POST',
      headers: { ...operator, 'content-type': 'application/json' },
      body: '{}',
    });

  const currentSale = async () =>
    (await (await fetch(`${dashboard}/sales/current`, { headers: operator })).json()) as SaleStatus;
  /** The current sale once it has a verdict (or could not run). */
  const verdict = () =>
    waitFor(
      'the sale’s verdict',
      async () => {
        const sale = await currentSale();
        return sale.verdict || sale.state === 'error' ? sale : undefined;
      },
      { timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    system = await DashboardSystem.start();
    dashboard = system.url('dashboard');
  });
  afterAll(() => system?.stop());

  it('streams a snapshot a second with event ids, and a reconnecting client resumes after its Last-Event-ID', async () => {
    const first = await readEvents(dashboard, 3);
    expect(first.map((e) => e.event)).toEqual(['snapshot', 'snapshot', 'snapshot']);
    const times = first.map((e) => Date.parse((JSON.parse(e.data) as DashboardSnapshot).at));
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(900);
    expect(times[2] - times[1]).toBeLessThan(3_000);

    // Reconnect from the first event: the next one it gets is the second, replayed, then the third.
    const resumed = await readEvents(dashboard, 2, first[0].id);
    expect(resumed.map((e) => e.id)).toEqual([first[1].id, first[2].id]);
    expect(resumed[0].data).toBe(first[1].data);

    // Without an id: the newest snapshot at once, not the history.
    const [fresh] = await readEvents(dashboard, 1);
    expect(Number(fresh.id.split('-')[1])).toBeGreaterThanOrEqual(Number(first[2].id.split('-')[1]));
  });

  it('shows what happened: orders accepted, events published, emails and PDFs, orders by every status, their deadlines', async () => {
    await insertProduct(system.pool, { sku: 'DASH-TEA', name: '대시보드 tea', priceCents: 700, stock: 100 });
    for (let i = 0; i < 5; i++) expect(await system.placeOrder('DASH-TEA', i)).toBe(201);

    const seen = await waitFor('the snapshot shows the five orders done', async () => {
      const s = await snapshot();
      return s.orders.acceptedTotal === 5 && s.workers.emailsTotal === 5 && s.workers.pdfsTotal === 5
        ? s
        : undefined;
    });
    expect(seen.services.map((s) => [s.instance, s.health, s.metrics])).toEqual([
      ['order-api', 'up', true],
      ['notify-worker', 'up', true],
      ['report-worker', 'up', true],
      ['log-aggregator', 'up', true],
      ['payment', 'up', true],
      ['identity', 'up', true],
    ]);
    expect(seen.broker).toMatchObject({ source: 'amqp', nodes: [{ up: true }] });
    const orderNotify = seen.queues.find((q) => q.name === 'order_notify')!;
    expect(orderNotify).toMatchObject({ consumers: 1 });
    const { rows } = await system.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders`);
    expect(rows[0].n).toBe(5);

    // Nobody pays them: emailed and reported, each stays placed, its deadline waiting in the default
    // window's delay queue. orders_by_status is recounted every few seconds.
    const reserved = await waitFor(
      'five placed orders',
      async () => {
        const s = await snapshot();
        return s.orders.byStatus.placed === 5 ? s : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(reserved.orders.byStatus).toEqual({
      placed: 5,
      paid: 0,
      completed: 0,
      cancelled: 0,
      expired: 0,
      refunded: 0,
    });
    const delayQueue = paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS);
    const deadlines = await waitFor('the five deadlines waiting', async () => {
      const s = await snapshot();
      const waiting = s.deadlines.delayQueues.find((q) => q.name === delayQueue)?.waiting;
      return waiting === 5 ? s.deadlines : undefined;
    });
    expect(deadlines.delayQueues).toEqual([
      { name: delayQueue, waiting: 5, publishRate: expect.any(Number) },
    ]);
    expect((await system.broker.channel.checkQueue(delayQueue)).messageCount).toBe(5);
  });

  it('shows payments per second by outcome and refunds per second from the payment service', async () => {
    await insertProduct(system.pool, { sku: 'DASH-PAY', name: '결제 tea', priceCents: 900, stock: 100 });
    const orders: PlacedOrder[] = [];
    for (let i = 0; i < 5; i++) orders.push(await system.placeOrderToPay('DASH-PAY', i));
    // Four charged with the sandbox's success card, one declined; then one paid order cancelled: a refund.
    for (const [i, order] of orders.entries()) {
      const card = i < 4 ? SANDBOX_CARDS.succeeds : SANDBOX_CARDS.declined;
      expect(await system.act(order, { pay: card })).toBe(202);
    }
    const charged = await waitFor('five charges counted', async () => {
      const s = await snapshot();
      return s.payments.chargesTotal === 5 ? s.payments : undefined;
    });
    // All five inside one rate window: the rates are in exactly the proportions they were charged.
    expect(charged.byOutcome.succeeded! / charged.byOutcome.declined!).toBeCloseTo(4);
    expect(charged.byOutcome.timeout).toBe(0);
    expect(charged.byOutcome.already_paid).toBe(0);
    expect(charged.chargesPerSecond).toBeCloseTo(charged.byOutcome.succeeded! + charged.byOutcome.declined!);

    // Paid, then completed once emailed and reported: four either way.
    const paidOrDone = ({ paid, completed }: DashboardSnapshot['orders']['byStatus']) =>
      (paid ?? 0) + (completed ?? 0);
    await waitFor('the four paid', async () => paidOrDone((await snapshot()).orders.byStatus) === 4, {
      timeoutMs: 20_000,
    });
    expect(await system.act(orders[0], 'cancel')).toBe(202);
    const refunded = await waitFor('the refund counted', async () => {
      const s = await snapshot();
      return s.payments.refundsTotal === 1 ? s.payments : undefined;
    });
    expect(refunded.refundsPerSecond).toBeGreaterThan(0);
    const settled = await waitFor(
      'the rates back at 0',
      async () => {
        const s = await snapshot();
        return s.payments.chargesPerSecond === 0 && s.payments.refundsPerSecond === 0 ? s : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(settled.payments).toMatchObject({ chargesTotal: 5, refundsTotal: 1 });
    const byStatus = await waitFor('the cancellation counted', async () => {
      const s = await snapshot();
      return s.orders.byStatus.cancelled === 1 ? s.orders.byStatus : undefined;
    });
    expect([paidOrDone(byStatus), byStatus.cancelled]).toEqual([3, 1]);
  });

  it('serves Prometheus text at /metrics whose counters match what it answered', async () => {
    expect((await postSale({ stock: -1 })).status).toBe(400);
    expect((await postSale({ requests: 'many' })).status).toBe(400);
    const samples = parsePrometheusText(await (await fetch(`${dashboard}/metrics`)).text());
    expect(
      sampleValue(samples, 'http_requests_total', {
        service: 'dashboard',
        route: '/sales',
        method: 'POST',
        status: '400',
      }),
    ).toBe(2);
    expect(sampleValue(samples, 'dashboard_snapshot_seconds_count')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'dashboard_sse_clients')).toBe(0);
  });

  it('runs a flash sale: a code per bad field, 409 SALE_RUNNING while it runs, then PASS with its report', async () => {
    const invalid = await postSale({ stock: 10, requests: 0, connections: 5.5, retryShare: 2 });
    expect(invalid.status).toBe(400);
    const problems = (await invalid.json()) as { code: string; errors: { field: string; code: string }[] };
    expect(problems.code).toBe('VALIDATION_FAILED');
    expect(problems.errors.map((e) => [e.field, e.code])).toEqual([
      ['requests', 'OUT_OF_RANGE'],
      ['connections', 'NOT_A_WHOLE_NUMBER'],
      ['retryShare', 'OUT_OF_RANGE'],
    ]);

    const started = await postSale({ stock: 40, requests: 600, connections: 20, retryShare: 0.05 });
    expect(started.status).toBe(202);
    const sale = (await started.json()) as SaleStatus;
    const second = await postSale({ stock: 1, requests: 1, connections: 1 });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { code: string }).code).toBe('SALE_RUNNING');
    expect((await currentSale()).id).toBe(sale.id);

    const finished = await verdict();
    expect(finished.error).toBeUndefined();
    expect(finished.state).toBe('passed');
    expect(finished.verdict).toMatchObject({
      passed: true,
      violations: [],
      reportUrl: `/sales/${sale.id}/report.html`,
    });
    // Every unit sold, and the units cancelled orders gave back sold again: at least the 40 in stock (the
    // invariants, passed above, prove stock = 40 − units held).
    const sold = /^(\d+) orders, (\d+) units$/.exec(
      finished.verdict!.summary.find((row) => row.label === 'sold (database)')?.value ?? '',
    );
    expect(Number(sold?.[2])).toBeGreaterThanOrEqual(40);
    expect(finished.firing).toMatchObject({ done: 600, total: 600 });

    const report = await fetch(`${dashboard}${finished.verdict!.reportUrl}`, { headers: operator });
    expect(report.status).toBe(200);
    expect(await report.text()).toContain('PASS');
    expect(report.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(report.headers.get('x-content-type-options')).toBe('nosniff');
    expect(
      (await fetch(`${dashboard}/sales/sale-20200101T000000000Z/report.html`, { headers: operator })).status,
    ).toBe(404);
  });

  it('Stop ends the firing early; the orders accepted until then are drained and checked', async () => {
    // 20,000: a sale signs in a customer per request before firing, which Stop then cuts short.
    const started = await postSale({ stock: 20, requests: 20_000, connections: 10, retryShare: 0 });
    expect(started.status).toBe(202);
    // Bounded as the verdict is: the load test's process boots and signs customers in first, which on a
    // busy machine takes longer than waitFor's default 10 s.
    await waitFor('firing under way', async () => ((await currentSale()).firing?.done ?? 0) > 50, {
      timeoutMs: 60_000,
    });
    const stop = await stopSale();
    expect(stop.status).toBe(202);
    expect(((await stop.json()) as SaleStatus).stopRequested).toBe(true);

    const finished = await verdict();
    expect(finished.state).toBe('passed');
    expect(finished.firing!.done).toBeLessThan(20_000);
    expect(finished.verdict!.summary.find((row) => row.label === 'stopped')).toBeDefined();
    const again = await stopSale();
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('NO_SALE_RUNNING');
  });
});
