import { OrderSteps, SANDBOX_CARDS, type LogRecordV1 } from '@shop/contracts';
import {
  insertProduct,
  launchChromium,
  queueExists,
  saveScreenshot,
  testSecrets,
  waitFor,
} from '@shop/testing';
import { DashboardSystem } from '../testing/dashboard-system.harness';
import { readEventStream, type EventStreamReader } from '../testing/event-stream.reader';
import { FOLLOW_LIMITS } from './order-follows';

const operator = { authorization: `Bearer ${testSecrets.OPS_TOKEN}` };

type Step = LogRecordV1 & { earlier: boolean };

describe('dashboard: follow an order (real services, broker, database and SMTP)', () => {
  let system: DashboardSystem;
  const open: EventStreamReader[] = [];
  const followStream = async (orderId: string) => {
    const stream = await readEventStream(`${system.url('dashboard')}/follow/${orderId}/events`, operator);
    open.push(stream);
    return stream;
  };
  const stepsOf = (stream: EventStreamReader): Step[] =>
    stream.events.filter((e) => e.event === 'step').map((e) => JSON.parse(e.data) as Step);
  const queueOf = (stream: EventStreamReader) =>
    waitFor('the follow’s queue', () => {
      const event = stream.events.find((e) => e.event === 'follow');
      return event && (JSON.parse(event.data) as { queue: string }).queue;
    });

  beforeAll(async () => {
    system = await DashboardSystem.start();
    await insertProduct(system.pool, { sku: 'FOLLOW-TEA', name: '跟踪 tea', priceCents: 650, stock: 20 });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(() => system?.stop());

  it("streams a real order's journey from a headers-bound queue: its steps so far, then its payment live from three services, none of another order's; the queue goes with the page", async () => {
    const [order, other] = [
      await system.placeOrderToPay('FOLLOW-TEA', 1),
      await system.placeOrderToPay('FOLLOW-TEA', 2),
    ];
    // Fulfilled and archived before the follow begins, so those steps can only come from the log-aggregator.
    const fulfilment = [
      OrderSteps.placed,
      OrderSteps.outboxPublished,
      OrderSteps.emailSent,
      OrderSteps.pdfWritten,
      OrderSteps.statusApplied,
    ];
    await waitFor(
      'the fulfilment archived',
      async () => {
        const response = await fetch(`${system.url('log-aggregator')}/logs?orderId=${order.id}`, {
          headers: operator,
        });
        const { records } = (await response.json()) as { records: LogRecordV1[] };
        return fulfilment.every((step) => records.some((record) => record.step === step));
      },
      { timeoutMs: 20_000 },
    );
    const stream = await followStream(order.id);
    expect(stream.status).toBe(200);
    const queue = await queueOf(stream);
    expect(queue).toMatch(/^amq\.gen-/);
    expect(await queueExists(queue)).toBe(true);

    // What happened before the follow began: placed, both events published, the email, the PDF, both applied.
    const named = (steps: Step[]) => new Set(steps.flatMap((step) => step.step ?? []));
    await waitFor('the fulfilment steps', () => fulfilment.every((step) => named(stepsOf(stream)).has(step)));
    expect(stepsOf(stream).filter((step) => step.step === OrderSteps.pdfWritten)).toEqual([
      expect.objectContaining({
        earlier: true,
        service: 'report-worker',
        exchange: 'order',
        routingKey: 'order.report',
        queue: 'order_report',
      }),
    ]);

    // Then both orders are paid at once; only this one's payment reaches this follow, as it happens.
    expect(await system.act(order, { pay: SANDBOX_CARDS.succeeds })).toBe(202);
    expect(await system.act(other, { pay: SANDBOX_CARDS.succeeds })).toBe(202);
    const live = await waitFor(
      'the payment steps, live',
      () => {
        const steps = stepsOf(stream).filter((step) => !step.earlier);
        const names = named(steps);
        return names.has(OrderSteps.paymentCharged) &&
          names.has(OrderSteps.paymentApplied) &&
          steps.some((step) => step.step === OrderSteps.emailSent)
          ? steps
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(new Set(live.map((step) => step.service))).toEqual(
      new Set(['order-api', 'payment', 'notify-worker']),
    );
    expect(stepsOf(stream).every((step) => step.orderId === order.id)).toBe(true);

    // Each step names where its message went: the exchange and the queue it crossed.
    const stepOf = (name: string, service: string) =>
      live.find((step) => step.step === name && step.service === service);
    expect(stepOf(OrderSteps.paymentCharged, 'payment')).toMatchObject({
      exchange: 'payment',
      routingKey: 'payment.requested',
      queue: 'payment_requests',
    });
    expect(stepOf(OrderSteps.paymentApplied, 'order-api')).toMatchObject({
      exchange: 'payment',
      routingKey: 'payment.succeeded',
      queue: 'order_payments',
    });
    expect(stepOf(OrderSteps.emailSent, 'notify-worker')).toMatchObject({
      exchange: 'order',
      routingKey: 'order.paid',
      queue: 'order_notify',
    });
    expect(live.find((step) => step.step === OrderSteps.outboxPublished)).toMatchObject({
      service: 'order-api',
      exchange: 'payment',
      routingKey: 'payment.requested',
    });

    // The page goes away: the follow ends and its queue with it.
    stream.close();
    await waitFor('the follow’s queue to be gone', async () => !(await queueExists(queue)));
  });

  it('the page (Chromium) follows a pasted order id: its timeline grows live, its queue goes when the page does', async () => {
    const order = await system.placeOrderToPay('FOLLOW-TEA', 4);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const policyViolations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy|Content-Security-Policy/i.test(message.text()))
          policyViolations.push(message.text());
      });
      await page.goto(system.url('dashboard'));
      await page.fill('input[name="token"]', testSecrets.OPS_TOKEN);
      await Promise.all([
        page.waitForURL(`${system.url('dashboard')}/`),
        page.click('[data-testid="sign-in-submit"]'),
      ]);
      await page.fill('[data-testid="follow-order-id"]', order.id);
      await page.click('[data-testid="follow-start"]');
      const queue = await waitFor(
        'the follow’s queue on the page',
        async () =>
          (await page.locator('[data-testid="follow-state"]').getAttribute('data-queue')) ?? undefined,
      );
      expect(await queueExists(queue)).toBe(true);

      expect(await system.act(order, { pay: SANDBOX_CARDS.succeeds })).toBe(202);
      const timeline = page.locator('[data-testid="follow-timeline"] li');
      await waitFor('the payment on the timeline', async () =>
        (await timeline.evaluateAll((items) => items.map((item) => item.getAttribute('data-step')))).includes(
          OrderSteps.paymentApplied,
        ),
      );
      const charged = page.locator(
        `[data-testid="follow-timeline"] li[data-step="${OrderSteps.paymentCharged}"]`,
      );
      expect(await charged.getAttribute('data-service')).toBe('payment');
      expect(await charged.textContent()).toContain('payment · payment.requested → payment_requests');
      expect(policyViolations).toEqual([]);
      await saveScreenshot(page, 'dashboard-follow-an-order');

      await page.close();
      await waitFor('the follow’s queue to be gone with the page', async () => !(await queueExists(queue)));
    } finally {
      await browser.close();
    }
  });

  it(`allows ${FOLLOW_LIMITS.perSession} follows per session at once, refuses one more with 429 TOO_MANY_FOLLOWS, and a bad id with 400`, async () => {
    const order = await system.placeOrderToPay('FOLLOW-TEA', 3);
    const streams = await Promise.all(
      Array.from({ length: FOLLOW_LIMITS.perSession }, () => followStream(order.id)),
    );
    expect(streams.map((s) => s.status)).toEqual(Array(FOLLOW_LIMITS.perSession).fill(200));
    const refused = await fetch(`${system.url('dashboard')}/follow/${order.id}/events`, {
      headers: operator,
    });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ code: 'TOO_MANY_FOLLOWS' });

    // One closes: its place is free again.
    const queue = await queueOf(streams[0]);
    streams[0].close();
    await waitFor('the closed follow’s queue to be gone', async () => !(await queueExists(queue)));
    const again = await followStream(order.id);
    expect(again.status).toBe(200);

    const bad = await fetch(`${system.url('dashboard')}/follow/not-an-order/events`, { headers: operator });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
