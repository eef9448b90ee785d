import {
  DEFAULT_PAYMENT_WINDOW_MS,
  ORDER_STATUSES,
  paymentDueQueueOf,
  Queues,
  SANDBOX_CARDS,
  TOPOLOGY,
} from '@shop/contracts';
import {
  insertProduct,
  launchChromium,
  publishOrderPlaced,
  recordRequests,
  saveScreenshot,
  testSecrets,
  waitFor,
} from '@shop/testing';
import type { Browser, Page } from 'playwright-core';
import { DashboardSystem } from './testing/dashboard-system.harness';

/**
 * The dashboard page in a real Chromium (Debian's, through playwright-core) against the whole system
 * running as processes: what the page shows must follow what happens. Each spec saves a screenshot
 * under var/screenshots/.
 */
describe('dashboard page (Chromium, real services, broker, database and SMTP)', () => {
  let system: DashboardSystem;
  let browser: Browser;
  let page: Page;
  let requested: string[];
  /** What the browser reports refusing under the pages' Content-Security-Policy: must stay empty. */
  const policyViolations: string[] = [];
  let ordersPlaced = 0;

  const queue = (name: string) => page.locator(`[data-queue="${name}"]`);
  const textOf = async (selector: string) => (await page.locator(selector).textContent())?.trim() ?? '';
  const numberOf = async (selector: string) => Number((await textOf(selector)).replace(/,/g, ''));
  const placeOrders = async (count: number) => {
    for (let i = 0; i < count; i++) expect(await system.placeOrder('PAGE-TEA', ordersPlaced++)).toBe(201);
  };

  beforeAll(async () => {
    system = await DashboardSystem.start();
    await insertProduct(system.pool, { sku: 'PAGE-TEA', name: '페이지 tea', priceCents: 700, stock: 10_000 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    requested = recordRequests(page);
    page.on('console', (message) => {
      if (/Content Security Policy|Content-Security-Policy/i.test(message.text()))
        policyViolations.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it('asks for the operator token first: a wrong one is refused, the right one opens the page', async () => {
    const first = await page.goto(system.url('dashboard'));
    expect(first?.status()).toBe(401);
    expect(first?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.fill('input[name="token"]', `${testSecrets.OPS_TOKEN}-wrong`);
    await page.click('[data-testid="sign-in-submit"]');
    expect(await textOf('[data-testid="sign-in-message"]')).toBe('That is not the operator token.');

    await page.fill('input[name="token"]', testSecrets.OPS_TOKEN);
    await Promise.all([
      page.waitForURL(`${system.url('dashboard')}/`),
      page.click('[data-testid="sign-in-submit"]'),
    ]);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({
      name: 'shop_dashboard_session',
      httpOnly: true,
      sameSite: 'Strict',
      secure: false,
    });
    expect(cookie.value).not.toContain(testSecrets.OPS_TOKEN);
    await saveScreenshot(page, 'dashboard-signed-in');
  });

  it('loads with every request to localhost only, and draws every queue of the topology', async () => {
    await page.goto(system.url('dashboard'));
    await waitFor(
      'two snapshots rendered',
      async () => Number(await page.locator('body').getAttribute('data-snapshots')) >= 2,
    );

    expect(await page.locator('[data-queue]').count()).toBe(TOPOLOGY.queues.length);
    expect(await page.locator('[data-exchange]').count()).toBe(TOPOLOGY.exchanges.length + 1); // + the default exchange
    expect(await page.locator('#service-chips [data-state="up"]').count()).toBe(6);
    expect(await textOf('#stream-state')).toBe('live');
    // With a few seconds of points, each chart's time axis spans the last minute (not uPlot's padding of years).
    for (const chart of ['orders-chart', 'workers-chart', 'payments-chart']) {
      const windowSeconds = Number(await page.locator(`#${chart}`).getAttribute('data-time-window-s'));
      expect(windowSeconds).toBeGreaterThanOrEqual(60);
      expect(windowSeconds).toBeLessThan(120);
    }
    const hosts = new Set(requested.map((url) => new URL(url).hostname));
    expect([...hosts]).toEqual(['127.0.0.1']);
    for (const asset of ['dashboard.js', 'dashboard.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
      expect(requested.some((url) => url.endsWith(`/assets/${asset}`))).toBe(true);
    }
    await saveScreenshot(page, 'dashboard-loaded');
  });

  it('placing orders moves the accepted counter and the queues’ rates', async () => {
    const acceptedBefore = await numberOf('#orders-accepted-total');
    await placeOrders(30);

    await waitFor(
      'the accepted counter shows the 30 orders',
      async () => (await numberOf('#orders-accepted-total')) === acceptedBefore + 30,
    );
    // Rates are over the last few seconds: order_notify's publishes and deliveries show while they last.
    const rates = await waitFor('order_notify shows messages flowing in and out', async () => {
      const text = await queue('order_notify').locator('[data-field="rates"]').textContent();
      const [, into, out] = /in ([\d.]+)\/s · out ([\d.]+)\/s/.exec(text ?? '') ?? [];
      return Number(into) > 0 && Number(out) > 0 ? text : undefined;
    });
    expect(rates).toMatch(/^in [\d.]+\/s · out [\d.]+\/s$/);
    expect(await page.locator('path.edge.flowing').count()).toBeGreaterThan(0);
    await waitFor('the emails counted', async () => (await numberOf('#emails-total')) >= 30);
    await saveScreenshot(page, 'dashboard-orders-flowing');
  });

  it('shows orders by every status, the reservations waiting in the delay queue, and payments per second', async () => {
    // Nobody paid the orders above: each is placed, its deadline waiting in the default window's delay queue.
    const { rows } = await system.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status = 'placed'`,
    );
    const placed = rows[0].n;
    expect(placed).toBe(ordersPlaced);
    // orders_by_status is recounted every few seconds.
    await waitFor(
      'the page counts the placed orders',
      async () => (await textOf('#orders-by-status [data-status="placed"]')) === `placed ${placed}`,
      { timeoutMs: 20_000 },
    );
    const statuses = page.locator('#orders-by-status [data-status]');
    expect(
      await statuses.evaluateAll((spans) => spans.map((span) => span.getAttribute('data-status'))),
    ).toEqual([...ORDER_STATUSES]);
    expect(await statuses.allTextContents()).toEqual([
      `placed ${placed}`,
      'paid 0',
      'completed 0',
      'cancelled 0',
      'expired 0',
      'refunded 0',
    ]);

    const delayQueue = paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS);
    const waiting = page.locator(`#delay-queues [data-delay-queue="${delayQueue}"]`);
    await waitFor(
      'the delay queue holds every reservation',
      async () => (await waiting.getAttribute('data-waiting')) === String(placed),
    );
    expect(await waiting.textContent()).toBe(
      `${delayQueue}: ${placed} reservations waiting for their deadline`,
    );
    // In the diagram: waiting without a consumer is what a delay queue does, not a fault; expired, its
    // messages are dead-lettered on to order_deadlines, which order-api consumes.
    expect(await queue(delayQueue).locator('[data-field="figures"]').textContent()).toBe(
      `${placed} reservations waiting for their deadline`,
    );
    expect(await queue(delayQueue).getAttribute('class')).not.toContain('no-consumer');
    expect(await page.locator(`[data-dead-letter="${delayQueue} → ${Queues.orderDeadlines}"]`).count()).toBe(
      1,
    );
    expect(await page.locator('[data-consumer="payment"] [data-field="instances"]').textContent()).toBe(
      '1/1 up',
    );

    // Real charges through the payment service's sandbox: four succeed, one is declined; then a refund.
    await insertProduct(system.pool, { sku: 'PAGE-PAY', name: '결제 tea', priceCents: 900, stock: 100 });
    const orders = [];
    for (let i = 0; i < 5; i++) orders.push(await system.placeOrderToPay('PAGE-PAY', i));
    for (const [i, order] of orders.entries()) {
      expect(await system.act(order, { pay: i < 4 ? SANDBOX_CARDS.succeeds : SANDBOX_CARDS.declined })).toBe(
        202,
      );
    }
    await waitFor('payments per second on the page', async () => {
      const declined = /^declined ([\d.]+)\/s$/.exec(
        await textOf('#payment-outcomes [data-outcome="declined"]'),
      );
      return Number(declined?.[1]) > 0 && (await numberOf('#payments-total')) === 5;
    });
    const outcomes = await page.locator('#payment-outcomes [data-outcome]').allTextContents();
    expect(outcomes).toEqual([
      expect.stringMatching(/^succeeded [\d.]+\/s$/),
      expect.stringMatching(/^declined [\d.]+\/s$/),
      'timeout 0.0/s',
      'already paid 0.0/s',
    ]);
    expect(Number(await textOf('#payments-rate'))).toBeGreaterThan(0);
    // Paid, then completed once emailed and reported: four either way.
    const paidOrDone = async () =>
      Number((await textOf('#orders-by-status [data-status="paid"]')).replace('paid ', '')) +
      Number((await textOf('#orders-by-status [data-status="completed"]')).replace('completed ', ''));
    await waitFor('the paid orders on the page', async () => (await paidOrDone()) === 4, {
      timeoutMs: 20_000,
    });
    expect(await system.act(orders[0], 'cancel')).toBe(202);
    await waitFor('the refund on the page', async () => (await numberOf('#refunds-total')) === 1);
    await saveScreenshot(page, 'dashboard-lifecycle');
  });

  it('with notify-worker stopped, order_notify has 0 consumers and a growing backlog; a restart drains it', async () => {
    await system.stopService('notify-worker');
    await waitFor(
      'order_notify without consumers',
      async () => (await queue('order_notify').getAttribute('data-consumers')) === '0',
    );
    expect(await page.locator('#service-chips [data-name="notify-worker"]').getAttribute('data-state')).toBe(
      'down',
    );

    await placeOrders(5);
    const backlog = await waitFor('five waiting', async () => {
      const ready = Number(await queue('order_notify').getAttribute('data-ready'));
      return ready >= 5 ? ready : undefined;
    });
    await placeOrders(5);
    await waitFor(
      'the backlog grows',
      async () => Number(await queue('order_notify').getAttribute('data-ready')) >= backlog + 5,
    );
    expect(await queue('order_notify').getAttribute('class')).toContain('no-consumer');
    await saveScreenshot(page, 'dashboard-notify-worker-stopped');

    const emailsBefore = system.mail.smtp.messages.length;
    await system.startService('notify-worker');
    await waitFor(
      'order_notify drained by the restarted worker',
      async () =>
        (await queue('order_notify').getAttribute('data-ready')) === '0' &&
        (await queue('order_notify').getAttribute('data-consumers')) === '1',
      { timeoutMs: 20_000 },
    );
    await waitFor('the backlog’s emails sent', () => system.mail.smtp.messages.length >= emailsBefore + 10);
    await saveScreenshot(page, 'dashboard-notify-worker-back');
  });

  it('a poison message shows in the dead-letter panel with its reason', async () => {
    await publishOrderPlaced(
      system.broker,
      'order.notify',
      {},
      { body: Buffer.from('{"not": "an order"'), messageId: 'poison-on-the-page' },
    );

    const dlq = page.locator('[data-dlq="order_notify.dlq"]');
    await waitFor(
      'order_notify.dlq lists the poison message',
      async () => (await dlq.locator('[data-message-id="poison-on-the-page"]').count()) === 1,
      {
        timeoutMs: 15_000,
      },
    );
    expect(await dlq.getAttribute('data-depth')).toBe('1');
    expect(await dlq.locator('[data-reason="invalid-message"]').textContent()).toBe('invalid-message ×1');
    expect(await queue('order_notify.dlq').getAttribute('class')).toContain('parked');
    await saveScreenshot(page, 'dashboard-dead-letter');
    // Left parked: the sale below must pass with it there, since it belongs to no order of that sale.
  });

  it('a queued flash sale started from the page: field errors, its rules, the waiting room and answers by code live, a reload mid-sale shows it, then PASS with its charts', async () => {
    const field = (name: string) => page.locator(`#sale-form [name="${name}"]`);
    await field('requests').fill('0');
    await field('limitPerCustomer').fill('11');
    await page.click('#sale-start');
    const errorCode = (name: string) => page.locator(`[data-error-for="${name}"]`).getAttribute('data-code');
    await waitFor('the field errors', async () => (await errorCode('requests')) === 'OUT_OF_RANGE');
    expect(await errorCode('limitPerCustomer')).toBe('OUT_OF_RANGE');
    expect(await textOf('#sale-message')).toMatch(/^VALIDATION_FAILED: /);

    await field('stock').fill('50');
    await field('requests').fill('8000');
    await field('connections').fill('20');
    await field('retryShare').fill('0.05');
    await field('admission').selectOption('queued');
    await field('limitPerCustomer').fill('1');
    await field('opensInSeconds').fill('1.5');
    await page.click('#sale-start');
    const saleId = await waitFor('the sale running', async () => {
      const state = await page.locator('#sale-state').getAttribute('data-state');
      return state && state !== 'error' ? (await textOf('#sale-state')).split(':')[0] : undefined;
    });
    expect(saleId).toMatch(/^sale-/);
    expect(await page.locator('#sale-start').isDisabled()).toBe(true);
    // The rules reached the load test: its sale is queued, so order-api answers 202 with a ticket.
    expect(await page.locator('#sale-mode').getAttribute('data-admission')).toBe('queued');
    expect(await textOf('#sale-mode')).toMatch(
      /^queued admission · 1 per customer · opens 1.5 s after the start/,
    );
    const tickets = await waitFor(
      '202s among the answers by code',
      async () => {
        const chip = await page
          .locator('#sale-answers [data-answer="202"]')
          .textContent({ timeout: 100 })
          .catch(() => null);
        const n = /^202 ×([\d,]+)$/.exec(chip ?? '')?.[1];
        return n ? Number(n.replace(/,/g, '')) : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(tickets).toBeGreaterThan(0);
    // The customers who tried before the sale opened were turned away (at once, or their tickets refused).
    await waitFor(
      'SALE_NOT_OPEN among the answers',
      async () => (await page.locator('#sale-answers [data-answer$="SALE_NOT_OPEN"]').count()) > 0,
    );
    const depth = await page.locator('#sale-waiting-room').getAttribute('data-depth');
    expect(depth).toMatch(/^\d+$/);
    expect(await textOf('#sale-waiting-room')).toMatch(/^[\d,]+ waiting( · [\d,]+ being placed)?$/);

    await page.reload();
    await waitFor('the reloaded page shows the same sale', async () =>
      (await textOf('#sale-state')).startsWith(`${saleId}:`),
    );

    await waitFor(
      'the verdict',
      async () =>
        ['passed', 'failed', 'error'].includes(
          (await page.locator('#sale-state').getAttribute('data-state')) ?? '',
        ),
      {
        timeoutMs: 90_000,
      },
    );
    expect(await textOf('[data-testid="sale-verdict-line"]')).toBe(
      'PASS: nothing oversold, lost or duplicated',
    );
    // The summary has the sale's rows: its tickets, the refusals by code and the fairness.
    const labels = await page.locator('#sale-verdict td:first-child').allTextContents();
    expect(labels).toEqual(
      expect.arrayContaining(['sale', 'tickets', 'refusals by code', 'fairness (arrival vs acceptance)']),
    );
    expect(await page.locator('#sale-answers [data-answer^="ticket placed"]').count()).toBe(1);
    expect(await textOf('#sale-outcome-latency')).toMatch(/^[\d.,]+ ms \/ [\d.,]+ ms$/);
    expect(await page.locator('#sale-state').getAttribute('data-state')).toBe('passed');
    for (const chart of ['sale-rate-chart', 'sale-latency-chart', 'sale-queues-chart']) {
      expect(Number(await page.locator(`#${chart}`).getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await page.locator(`#${chart} canvas`).count()).toBe(1);
    }
    const href = await page.locator('[data-testid="sale-report-link"]').getAttribute('href');
    expect(href).toBe(`/sales/${saleId}/report.html`);
    const report = await page.request.get(`${system.url('dashboard')}${href}`);
    expect(report.status()).toBe(200);
    expect(await page.locator('#sale-start').isDisabled()).toBe(false);
    await saveScreenshot(page, 'dashboard-flash-sale');

    expect([...new Set(requested.map((url) => new URL(url).hostname))]).toEqual(['127.0.0.1']);

    // The report, opened in the browser under its own policy (its inline styles allowed by hash).
    await page.goto(`${system.url('dashboard')}${href}`);
    expect(await page.locator('h1').textContent()).toMatch(/^Flash sale /);
    await page.goto(system.url('dashboard'));
    expect(policyViolations).toEqual([]);
    // Bounded by its own waits (up to 60 s for the first tickets, 90 s for the verdict), not jest's default:
    // on a loaded machine the 8,000-request sale alone outlasts one minute.
  }, 240_000);

  it('signs out: the sign-in form again, and the old cookie opens nothing', async () => {
    const [cookie] = await page.context().cookies();
    await Promise.all([
      page.waitForURL(`${system.url('dashboard')}/`),
      page.click('[data-testid="sign-out"]'),
    ]);
    await page.locator('[data-testid="sign-in-form"]').waitFor();
    const events = await fetch(`${system.url('dashboard')}/events`, {
      headers: { cookie: `${cookie.name}=${cookie.value}` },
    });
    expect(events.status).toBe(401);
    expect(policyViolations).toEqual([]);
  });
});
