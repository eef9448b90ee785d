import type { FlashSaleResults } from '../flash-sale.results';
import { escapeHtml, niceTicks, renderReportHtml } from './report-html';

/** A run of 500 orders (+50 re-sends) against 100 units: 250 ms firing slices, 500 ms pipeline polls. */
function flashSaleResults(overrides: Partial<FlashSaleResults> = {}): FlashSaleResults {
  const acceptedPerSlice = [40, 35, 15, 10, 0, 0, 0, 0];
  const timeline = acceptedPerSlice.map((accepted, i) => {
    const completed = [120, 110, 90, 80, 60, 50, 30, 10][i];
    const errors = i === 2 ? 2 : 0;
    return { atMs: i * 250, completed, accepted, soldOut: completed - accepted - errors, errors };
  });
  const samples = Array.from({ length: 12 }, (_, i) => ({
    atMs: i * 500,
    emails: Math.min(100, i * 12),
    pdfs: Math.min(100, i * 9),
    queueDepths: {
      'order.placed.notify': Math.max(0, 100 - i * 12),
      'order.placed.report': Math.max(0, 100 - i * 9),
    },
  }));
  const acceptedOrders = Array.from({ length: 100 }, (_, i) => ({
    orderId: `order-${i}`,
    idempotencyKey: `key-${i}`,
    quantity: 1,
    createdAt: '2025-05-01T10:00:00.500Z',
    notifiedAt: '2025-05-01T10:00:02.000Z',
    reportedAt: '2025-05-01T10:00:03.000Z',
    emailCount: 1,
    pdfCount: 1,
  }));
  return {
    version: 1,
    startedAt: '2025-05-01T10:00:00.000Z',
    finishedAt: '2025-05-01T10:00:08.250Z',
    options: {
      stock: 100,
      requests: 500,
      connections: 50,
      retryShare: 0.1,
      apiUrl: 'http://127.0.0.1:3000',
      mailApiUrl: 'http://127.0.0.1:8025',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      requestTimeoutMs: 10_000,
      drainTimeoutMs: 60_000,
      auditDatabaseUrl: 'postgresql://postgres@127.0.0.1:5432/orders',
      payShare: 0.5,
      latePayShare: 0.1,
      cancelShare: 0.1,
      resell: true,
    },
    product: { sku: 'FLASH-TEE-001', initialStock: 100, finalStock: 0, priceCents: 1999 },
    serverSales: { orders: 100, units: 100 },
    firing: {
      durationMs: 2000,
      stoppedEarly: false,
      requestsSent: 550,
      resendsSent: 50,
      requestsPerSecond: 275,
      acceptedPerSecond: 133.3,
      firstAcceptanceAtMs: 42,
      lastAcceptanceAtMs: 790,
      statusCounts: { '201': 100, '200': 48, '409 OUT_OF_STOCK': 400, '503 DATABASE_UNAVAILABLE': 2 },
      latency: { count: 550, p50: 61.2, p90: 143.8, p99: 187.4, max: 412.9, mean: 74.6 },
      histogram: [
        { upToMs: 10, count: 20 },
        { upToMs: 25, count: 75 },
        { upToMs: 50, count: 140 },
        { upToMs: 100, count: 190 },
        { upToMs: 250, count: 118 },
        { upToMs: 500, count: 7 },
        { upToMs: null, count: 0 },
      ],
      timeline,
    },
    drain: {
      durationMs: 4710,
      completed: true,
      emails: 100,
      pdfs: 100,
      deadLettered: { 'order.placed.notify.dlq': 0, 'order.placed.report.dlq': 0 },
      otherDeadLetters: { 'order.placed.notify.dlq': 0, 'order.placed.report.dlq': 0 },
      samples,
    },
    endToEnd: {
      email: { count: 100, p50: 1210, p90: 2380, p99: 2950, max: 3010, mean: 1302 },
      pdf: { count: 100, p50: 1930, p90: 3660, p99: 4410, max: 4520, mean: 2011 },
    },
    acceptedOrders,
    violations: [],
    ...overrides,
  };
}

describe('renderReportHtml', () => {
  it('renders one complete HTML5 document with three inline SVG charts', () => {
    const html = renderReportHtml(flashSaleResults());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html.match(/<svg\b/g)).toHaveLength(3);
    expect(html).toContain('<title>Flash sale FLASH-TEE-001 — 2025-05-01T10:00:00.000Z</title>');
    expect(html).not.toContain('no data');
    expect(html).not.toContain('NaN');
  });

  it('needs no network: no link, no external src or href', () => {
    const html = renderReportHtml(flashSaleResults());
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  it('shows PASS with no violations', () => {
    const html = renderReportHtml(flashSaleResults());
    expect(html).toContain('PASS — no violations');
    expect(html).not.toContain('FAIL');
  });

  it('shows FAIL with each violation code and message', () => {
    const html = renderReportHtml(
      flashSaleResults({
        violations: [
          { code: 'OVERSOLD', message: '101 units sold of 100' },
          { code: 'MISSING_EMAIL', message: 'order order-7 has no email' },
        ],
      }),
    );
    expect(html).toContain('FAIL — 2 violations');
    expect(html).toContain('<code>OVERSOLD</code> 101 units sold of 100');
    expect(html).toContain('<code>MISSING_EMAIL</code> order order-7 has no email');
    expect(html).not.toContain('PASS');
  });

  it('escapes every string taken from the data', () => {
    const results = flashSaleResults({
      violations: [{ code: 'X<1>', message: 'bad <script>alert("x")</script> & more' }],
    });
    results.product.sku = 'SKU-<b>';
    results.options.apiUrl = 'http://api/?a=1&b="2"';
    results.drain.samples[0].queueDepths['<img onerror=1>'] = 3;
    const html = renderReportHtml(results);

    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('<img');
    expect(html).toContain('bad &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).toContain('<code>X&lt;1&gt;</code>');
    expect(html).toContain('Flash sale SKU-&lt;b&gt;');
    expect(html).toContain('http://api/?a=1&amp;b=&quot;2&quot;');
    expect(html).toContain('queue &lt;img onerror=1&gt;');
  });

  it('shows the summary numbers', () => {
    const html = renderReportHtml(flashSaleResults());
    expect(html).toContain('187.4 ms'); // latency p99
    expect(html).toContain('412.9 ms'); // latency max
    expect(html).toContain('550 (50 re-sends)');
    expect(html).toContain('<th scope="row">409 OUT_OF_STOCK</th><td>400</td>');
    expect(html).toContain('<th scope="row">Retry share</th><td>10%</td>');
    expect(html).toContain('4.71 s (completed)');
    expect(html).toContain('<th scope="row">PDF p99</th><td>4,410 ms</td>');
    expect(html).toContain('Dead-lettered: order.placed.report.dlq');
  });

  it('draws "no data" for empty histogram, timeline and samples without throwing', () => {
    const results = flashSaleResults();
    results.firing.histogram = [];
    results.firing.timeline = [];
    results.drain.samples = [];
    const html = renderReportHtml(results);
    expect(html.match(/<svg\b/g)).toHaveLength(3);
    expect(html.match(/>no data</g)).toHaveLength(3);
  });

  it('copes with a single sample and with null or NaN values', () => {
    const results = flashSaleResults();
    results.firing.timeline = [{ atMs: 0, completed: 50, accepted: 10, soldOut: 40, errors: 0 }];
    results.firing.latency.p99 = null as unknown as number; // results.json writes NaN as null
    results.drain.samples[3].emails = NaN;
    results.drain.samples[4].queueDepths = {};
    const html = renderReportHtml(results);
    expect(html).not.toContain('NaN');
    expect(html).toContain('<th scope="row">Latency p99</th><td>n/a</td>');
    // 50 answers in a single slice over a 2 s firing phase: 25 per second.
    expect(html).toContain('answered/s: 25 at 0 s');
  });

  it('scales the axes to very large values', () => {
    const results = flashSaleResults();
    results.firing.histogram = [
      { upToMs: 10, count: 3_000_000_000 },
      { upToMs: null, count: 1 },
    ];
    const html = renderReportHtml(results);
    expect(html).toContain('>3B</text>');
    expect(html).not.toContain('NaN');
  });
});

describe('niceTicks', () => {
  it('uses steps of 1, 2 or 5 × 10^n covering the range', () => {
    expect(niceTicks(0, 937)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(0, 0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 4.2e9)).toEqual([0, 1e9, 2e9, 3e9, 4e9, 5e9]);
    expect(niceTicks(-30, 45)).toEqual([-40, -20, 0, 20, 40, 60]);
  });

  it('widens an empty range and falls back on non-finite input', () => {
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(5, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(NaN, 10)).toEqual([0, 1]);
  });
});

describe('escapeHtml', () => {
  it('escapes the five special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
