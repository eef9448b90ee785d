import type {
  FiringSample,
  FlashSaleResults,
  HistogramBucket,
  LatencySummary,
  Violation,
} from '../flash-sale.results';

/**
 * Renders one flash-sale run as a single HTML document that opens offline: inline CSS and inline SVG
 * charts, nothing fetched. Every string taken from the results is escaped.
 */
export function renderReportHtml(results: FlashSaleResults): string {
  const title = `Flash sale ${results.product.sku} — ${results.startedAt}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Finished ${escapeHtml(results.finishedAt)}</p>`,
    verdictBanner(results.violations),
    '<h2>Summary</h2>',
    summaryTables(results),
    '<h2>Latency</h2>',
    latencyHistogram(results.firing.histogram),
    '<h2>Requests over time</h2>',
    firingTimelineChart(results.firing.timeline, results.firing.durationMs),
    '<h2>Queues and pipeline backlog</h2>',
    pipelineChart(results),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Evenly spaced ticks covering [min, max] with a step of 1, 2 or 5 × 10^n. */
export function niceTicks(min: number, max: number, targetCount = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    // Nothing to span: show 0-1, or 0 to twice a lone value.
    const pad = Math.abs(min);
    if (pad === 0) max = 1;
    else [min, max] = [min - pad, max + pad];
  }
  const step = niceStep((max - min) / targetCount);
  if (!Number.isFinite(step) || step <= 0) return [min, max];
  const first = Math.floor(min / step);
  const count = Math.min(Math.ceil(max / step) - first, 100);
  const ticks: number[] = [];
  // toPrecision drops float noise such as 0.30000000000000004.
  for (let i = 0; i <= count; i++) ticks.push(Number(((first + i) * step).toPrecision(12)));
  return ticks;
}

function niceStep(rough: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / magnitude;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * magnitude;
}

// ---- Text -------------------------------------------------------------------------------------------

/** Numbers as text; null, NaN and Infinity (results.json turns NaN into null) read "n/a". */
function num(value: number | null | undefined, fractionDigits = 1): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: fractionDigits });
}

function ms(value: number | null | undefined): string {
  return num(value) === 'n/a' ? 'n/a' : `${num(value)} ms`;
}

function duration(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return Math.abs(value) < 1000 ? ms(value) : `${num(value / 1000, 2)} s`;
}

function percent(share: number): string {
  return num(share) === 'n/a' ? 'n/a' : `${num(share * 100)}%`;
}

function tickLabel(value: number): string {
  if (Math.abs(value) >= 1e6) {
    return value.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  }
  return num(value, 3);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

// ---- Sections ---------------------------------------------------------------------------------------

function verdictBanner(violations: Violation[]): string {
  if (violations.length === 0) {
    return '<section class="verdict pass"><strong>PASS — no violations</strong></section>';
  }
  const items = violations
    .map(
      (violation) => `<li><code>${escapeHtml(violation.code)}</code> ${escapeHtml(violation.message)}</li>`,
    )
    .join('\n');
  return [
    '<section class="verdict fail">',
    `<strong>FAIL — ${plural(violations.length, 'violation')}</strong>`,
    `<ul>\n${items}\n</ul>`,
    '</section>',
  ].join('\n');
}

/** A label (plain text, escaped when drawn) and a value that is already HTML. */
type Row = [label: string, valueHtml: string];

/** A sale's rules, its time to the final outcome, its refusals by code and its fairness. */
function saleGroups({ sale, firing }: FlashSaleResults): Array<[caption: string, rows: Row[]]> {
  if (!sale) return [];
  const { fairness, tickets } = firing;
  return [
    [
      `Sale ${sale.id} (${sale.admission})`,
      [
        ['Opens at', escapeHtml(sale.opensAt)],
        ['Limit per customer', num(sale.limitPerCustomer, 0)],
        ['Customers signed in', num(sale.customers, 0)],
        ['Early requests (before opening)', num(sale.earlyRequests, 0)],
        ['Second tries', num(sale.secondAttempts, 0)],
        ['Stock before opening', sale.stockBeforeOpen === null ? 'n/a' : num(sale.stockBeforeOpen, 0)],
        ...(tickets
          ? [
              [
                'Tickets: placed / refused / lost',
                `${num(tickets.placed, 0)} / ${num(tickets.refused, 0)} / ${num(tickets.lost, 0)} of ${num(tickets.issued, 0)}`,
              ] as Row,
            ]
          : []),
        ...(firing.finalOutcome
          ? latencyRows('Time to final outcome', firing.finalOutcome, ['p50', 'p99', 'max'])
          : []),
        ...(fairness
          ? [
              [
                'Fairness: inverted pairs',
                `${percent(fairness.invertedShare)} of ${num(fairness.pairs, 0)}`,
              ] as Row,
              ["Fairness: Kendall's tau", num(fairness.kendallTau, 3)] as Row,
            ]
          : []),
      ],
    ],
    [
      'Refusals by code',
      Object.entries(firing.refusalsByCode ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([code, count]): Row => [code, num(count, 0)]),
    ],
  ];
}

function summaryTables(results: FlashSaleResults): string {
  const { options, firing, drain, endToEnd, product, serverSales } = results;
  const statusRows = Object.entries(firing.statusCounts)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([status, count]): Row => [status, num(count, 0)]);
  const deadLetterRows = Object.entries(drain.deadLettered).map(([queue, count]): Row => [
    `Dead-lettered: ${queue}`,
    // Older messages parked there are shown, but are not this sale's (results.json from before lacks them).
    (drain.otherDeadLetters?.[queue] ?? 0) > 0
      ? `${num(count, 0)} (+${num(drain.otherDeadLetters[queue], 0)} from before)`
      : num(count, 0),
  ]);
  const groups: Array<[caption: string, rows: Row[]]> = [
    [
      'Options',
      [
        ['Stock', num(options.stock, 0)],
        ['Requests', num(options.requests, 0)],
        ['Connections', num(options.connections, 0)],
        ['Retry share', percent(options.retryShare)],
        ['API URL', `<code>${escapeHtml(options.apiUrl)}</code>`],
      ],
    ],
    [
      'Firing',
      [
        ['Requests sent', `${num(firing.requestsSent, 0)} (${num(firing.resendsSent, 0)} re-sends)`],
        ['Duration', duration(firing.durationMs)],
        ['Requests/s handled', num(firing.requestsPerSecond)],
        ['Accepted/s', num(firing.acceptedPerSecond)],
        ...latencyRows('Latency', firing.latency, ['p50', 'p90', 'p99', 'max', 'mean']),
      ],
    ],
    ['Answers by status', statusRows.length > 0 ? statusRows : [['(none)', '0']]],
    ...saleGroups(results),
    [
      'Stock and sales',
      [
        ['Initial stock', num(product.initialStock, 0)],
        ['Final stock', num(product.finalStock, 0)],
        ['Server-side orders', num(serverSales.orders, 0)],
        ['Server-side units', num(serverSales.units, 0)],
      ],
    ],
    [
      'Pipeline',
      [
        ['Drain time', `${duration(drain.durationMs)} (${drain.completed ? 'completed' : 'timed out'})`],
        ['Emails', num(drain.emails, 0)],
        ['PDFs', num(drain.pdfs, 0)],
        ...(deadLetterRows.length > 0 ? deadLetterRows : [['Dead-lettered', '0'] as Row]),
      ],
    ],
    [
      'End to end',
      [
        ...latencyRows('Email', endToEnd.email, ['p50', 'p99', 'max']),
        ...latencyRows('PDF', endToEnd.pdf, ['p50', 'p99', 'max']),
      ],
    ],
  ];
  const tables = groups.map(([caption, rows]) => {
    const body = rows
      .map(([label, value]) => `<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`)
      .join('\n');
    return `<table class="summary">\n<caption>${escapeHtml(caption)}</caption>\n${body}\n</table>`;
  });
  return `<div class="summary-grid">\n${tables.join('\n')}\n</div>`;
}

function latencyRows(label: string, latency: LatencySummary, keys: Array<keyof LatencySummary>): Row[] {
  return keys.map((key): Row => [`${label} ${key}`, ms(latency?.[key])]);
}

function latencyHistogram(buckets: HistogramBucket[]): string {
  const bars = buckets.map((bucket, i): Bar => {
    const lower = i > 0 ? buckets[i - 1].upToMs : null;
    if (bucket.upToMs === null) {
      const label = lower === null ? 'all' : `> ${num(lower)}`;
      return { label, value: bucket.count, tooltip: `${label} ms: ${num(bucket.count, 0)} requests` };
    }
    const range = lower === null ? `up to ${num(bucket.upToMs)}` : `${num(lower)}–${num(bucket.upToMs)}`;
    return {
      label: `≤ ${num(bucket.upToMs)}`,
      value: bucket.count,
      tooltip: `${range} ms: ${num(bucket.count, 0)} requests`,
    };
  });
  return svgBarChart({
    title: 'Latency histogram',
    xLabel: 'latency, ms (bucket upper bound)',
    yLabel: 'requests',
    seriesName: 'requests',
    bars,
  });
}

function firingTimelineChart(timeline: FiringSample[], durationMs: number): string {
  const widthsMs = sliceWidthsMs(
    timeline.map((sample) => sample.atMs),
    durationMs,
  );
  const perSecond = (pick: (sample: FiringSample) => number): Point[] =>
    timeline.map((sample, i) => ({ x: sample.atMs / 1000, y: pick(sample) / (widthsMs[i] / 1000) }));
  return svgLineChart({
    title: 'Answers per second during firing',
    xLabel: 'time since firing started, s',
    yLabel: 'per second',
    series: [
      { name: 'answered/s', points: perSecond((sample) => sample.completed) },
      { name: 'accepted (201)/s', points: perSecond((sample) => sample.accepted) },
      { name: 'sold out (409)/s', points: perSecond((sample) => sample.soldOut) },
      { name: 'errors/s', points: perSecond((sample) => sample.errors) },
    ],
  });
}

/** Each slice's width: the gap to the previous sample (the first slice uses the gap to the next). */
function sliceWidthsMs(atMs: number[], fallbackMs: number): number[] {
  const gaps = atMs.slice(1).map((at, i) => at - atMs[i]);
  const positive = gaps.filter((gap) => Number.isFinite(gap) && gap > 0).sort((a, b) => a - b);
  // With a single sample there is no gap: it covered the whole firing phase (or, failing that, 1 s).
  const typical =
    positive.length > 0
      ? positive[Math.floor(positive.length / 2)]
      : Number.isFinite(fallbackMs) && fallbackMs > 0
        ? fallbackMs
        : 1000;
  return atMs.map((_, i) => {
    const gap = gaps[i === 0 ? 0 : i - 1];
    return Number.isFinite(gap) && gap > 0 ? gap : typical;
  });
}

function pipelineChart(results: FlashSaleResults): string {
  const { samples } = results.drain;
  const acceptedBy = acceptedSoFar(results.firing.timeline, results.acceptedOrders.length);
  const queueNames = [...new Set(samples.flatMap((sample) => Object.keys(sample.queueDepths ?? {})))].sort();
  const at = (atMs: number) => atMs / 1000;
  return svgLineChart({
    title: 'Queue depths and pipeline backlog',
    xLabel: 'time since firing started, s',
    yLabel: 'messages / orders',
    series: [
      {
        name: 'emails pending',
        points: samples.map((sample) => ({ x: at(sample.atMs), y: acceptedBy(sample.atMs) - sample.emails })),
      },
      {
        name: 'PDFs pending',
        points: samples.map((sample) => ({ x: at(sample.atMs), y: acceptedBy(sample.atMs) - sample.pdfs })),
      },
      ...queueNames.map((name) => ({
        name: `queue ${name}`,
        // A missing depth (broker unreadable at that poll) becomes a gap in the line.
        points: samples.map((sample) => ({ x: at(sample.atMs), y: sample.queueDepths?.[name] ?? NaN })),
      })),
    ],
  });
}

/**
 * Orders accepted by a moment: the timeline's 201s so far, capped by the accepted orders the API
 * reported, and equal to them once firing is over.
 */
function acceptedSoFar(timeline: FiringSample[], totalAccepted: number): (atMs: number) => number {
  const lastAtMs = timeline.length > 0 ? timeline[timeline.length - 1].atMs : -Infinity;
  return (atMs) => {
    if (!(atMs < lastAtMs)) return totalAccepted;
    const accepted = timeline
      .filter((sample) => sample.atMs <= atMs)
      .reduce((sum, sample) => sum + (Number.isFinite(sample.accepted) ? sample.accepted : 0), 0);
    return Math.min(totalAccepted, accepted);
  };
}

// ---- SVG --------------------------------------------------------------------------------------------

const WIDTH = 960;
const HEIGHT = 340;
const MARGIN = { top: 12, right: 24, bottom: 52, left: 76 };
/** Okabe–Ito colours, told apart by most colour-blind readers; dashes help where colour does not. */
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'];
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

interface Point {
  x: number;
  y: number;
}

interface Series {
  name: string;
  points: Point[];
}

interface Bar {
  label: string;
  value: number;
  tooltip: string;
}

interface Plot {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

interface LegendItem {
  name: string;
  color: string;
  dash: string;
  shape: 'line' | 'bar';
}

type Scale = (value: number) => number;

function svgLineChart(chart: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const finite = chart.series
    .flatMap((series) => series.points)
    .filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y));
  if (finite.length === 0) return svgNoData(chart.title);

  const xTicks = niceTicks(minOf(finite.map((p) => p.x)), maxOf(finite.map((p) => p.x)));
  const yTicks = niceTicks(
    Math.min(0, minOf(finite.map((p) => p.y))),
    Math.max(0, maxOf(finite.map((p) => p.y))),
  );
  const legend = chart.series.map((series, i): LegendItem => ({
    name: series.name,
    ...seriesStyle(i),
    shape: 'line',
  }));
  const { plot, legendSvg } = layout(legend);
  const x = linearScale(xTicks[0], xTicks[xTicks.length - 1], plot.left, plot.right);
  const y = linearScale(yTicks[0], yTicks[yTicks.length - 1], plot.bottom, plot.top);

  const lines = chart.series.map((series, i) => {
    const { color, dash } = seriesStyle(i);
    const shown = series.points.filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y));
    // Dots carry the tooltips and keep isolated points visible; past a few dozen they are clutter.
    const dots =
      shown.length <= 80
        ? shown
            .map(
              (point) =>
                `<circle cx="${round(x(point.x))}" cy="${round(y(point.y))}" r="2.5" fill="${color}">` +
                `<title>${escapeHtml(series.name)}: ${num(point.y)} at ${num(point.x, 2)} s</title></circle>`,
            )
            .join('')
        : '';
    const path = linePath(series.points, x, y);
    const pathSvg = path
      ? `<path d="${path}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}">` +
        `<title>${escapeHtml(series.name)}</title></path>`
      : '';
    return `<g>${pathSvg}${dots}</g>`;
  });

  return [
    svgOpen(chart.title),
    legendSvg,
    yAxis(plot, y, yTicks, chart.yLabel),
    xAxisNumeric(plot, x, xTicks, chart.xLabel),
    ...lines,
    '</svg>',
  ].join('\n');
}

function svgBarChart(chart: {
  title: string;
  xLabel: string;
  yLabel: string;
  seriesName: string;
  bars: Bar[];
}): string {
  const { bars } = chart;
  if (bars.length === 0) return svgNoData(chart.title);

  const color = COLORS[0];
  const yTicks = niceTicks(0, Math.max(0, maxOf(bars.map((bar) => bar.value))));
  const { plot, legendSvg } = layout([{ name: chart.seriesName, color, dash: '', shape: 'bar' }]);
  const y = linearScale(yTicks[0], yTicks[yTicks.length - 1], plot.bottom, plot.top);
  const band = (plot.right - plot.left) / bars.length;
  // Label at most ~16 buckets so the labels never overlap.
  const labelEvery = Math.ceil(bars.length / 16);

  const marks = bars.map((bar, i) => {
    const center = plot.left + band * (i + 0.5);
    const label =
      i % labelEvery === 0 || i === bars.length - 1
        ? `<text class="tick" x="${round(center)}" y="${plot.bottom + 18}" text-anchor="middle">` +
          `${escapeHtml(bar.label)}</text>`
        : '';
    if (!Number.isFinite(bar.value)) return label;
    const top = y(Math.max(0, bar.value));
    return (
      `<rect x="${round(center - band * 0.4)}" y="${round(top)}" width="${round(Math.max(1, band * 0.8))}" ` +
      `height="${round(plot.bottom - top)}" fill="${color}"><title>${escapeHtml(bar.tooltip)}</title></rect>` +
      label
    );
  });

  return [
    svgOpen(chart.title),
    legendSvg,
    yAxis(plot, y, yTicks, chart.yLabel),
    `<line class="axis" x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}"/>`,
    `<text class="axis-label" x="${(plot.left + plot.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">` +
      `${escapeHtml(chart.xLabel)}</text>`,
    ...marks,
    '</svg>',
  ].join('\n');
}

function svgOpen(title: string, height = HEIGHT): string {
  return (
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>`
  );
}

function svgNoData(title: string): string {
  return [
    svgOpen(title, 120),
    `<rect x="1" y="1" width="${WIDTH - 2}" height="118" fill="none" class="frame"/>`,
    `<text class="no-data" x="${WIDTH / 2}" y="66" text-anchor="middle">no data</text>`,
    '</svg>',
  ].join('\n');
}

/** Legend rows across the top, wrapped to the width; the plot area takes what is left. */
function layout(items: LegendItem[]): { plot: Plot; legendSvg: string } {
  const rowHeight = 18;
  let x = MARGIN.left;
  let row = 0;
  const parts = items.map((item) => {
    const width = 40 + item.name.length * 7; // rough width of 12px text
    if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
      row += 1;
      x = MARGIN.left;
    }
    const y = MARGIN.top + row * rowHeight + 6;
    const swatch =
      item.shape === 'bar'
        ? `<rect x="${x}" y="${y - 5}" width="22" height="10" fill="${item.color}"/>`
        : `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${item.color}" stroke-width="2.5" ` +
          `stroke-dasharray="${item.dash}"/>`;
    const text = `<text x="${x + 28}" y="${y + 4}">${escapeHtml(item.name)}</text>`;
    x += width;
    return swatch + text;
  });
  const top = MARGIN.top + (row + 1) * rowHeight + 10;
  return {
    plot: { left: MARGIN.left, right: WIDTH - MARGIN.right, top, bottom: HEIGHT - MARGIN.bottom },
    legendSvg: `<g class="legend">${parts.join('')}</g>`,
  };
}

function yAxis(plot: Plot, y: Scale, ticks: number[], label: string): string {
  const marks = ticks.map((tick) => {
    const at = round(y(tick));
    return (
      `<line class="grid" x1="${plot.left}" y1="${at}" x2="${plot.right}" y2="${at}"/>` +
      `<text class="tick" x="${plot.left - 8}" y="${at + 4}" text-anchor="end">${tickLabel(tick)}</text>`
    );
  });
  const middle = round((plot.top + plot.bottom) / 2);
  return [
    ...marks,
    `<line class="axis" x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}"/>`,
    `<text class="axis-label" transform="translate(16 ${middle}) rotate(-90)" text-anchor="middle">` +
      `${escapeHtml(label)}</text>`,
  ].join('\n');
}

function xAxisNumeric(plot: Plot, x: Scale, ticks: number[], label: string): string {
  const marks = ticks.map((tick) => {
    const at = round(x(tick));
    return (
      `<line class="axis" x1="${at}" y1="${plot.bottom}" x2="${at}" y2="${plot.bottom + 5}"/>` +
      `<text class="tick" x="${at}" y="${plot.bottom + 18}" text-anchor="middle">${tickLabel(tick)}</text>`
    );
  });
  return [
    ...marks,
    `<line class="axis" x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}"/>`,
    `<text class="axis-label" x="${(plot.left + plot.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">` +
      `${escapeHtml(label)}</text>`,
  ].join('\n');
}

/** An SVG path through the finite points; a NaN or null value lifts the pen, leaving a gap. */
function linePath(points: Point[], x: Scale, y: Scale): string {
  let path = '';
  let penDown = false;
  for (const point of points) {
    if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) {
      penDown = false;
      continue;
    }
    path += `${penDown ? 'L' : 'M'}${round(x(point.x))},${round(y(point.y))}`;
    penDown = true;
  }
  return path;
}

function linearScale(domainFrom: number, domainTo: number, rangeFrom: number, rangeTo: number): Scale {
  const span = domainTo - domainFrom || 1;
  return (value) => rangeFrom + ((value - domainFrom) / span) * (rangeTo - rangeFrom);
}

function seriesStyle(index: number): { color: string; dash: string } {
  return { color: COLORS[index % COLORS.length], dash: DASHES[index % DASHES.length] };
}

// Loops rather than Math.min(...values): spreading a long array can overflow the stack.
function minOf(values: number[]): number {
  return values.reduce((min, value) => (Number.isFinite(value) && value < min ? value : min), Infinity);
}

function maxOf(values: number[]): number {
  return values.reduce((max, value) => (Number.isFinite(value) && value > max ? value : max), -Infinity);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

const STYLE = `
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.15rem; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
.meta { margin: 0 0 16px; color: #57606a; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.verdict { padding: 12px 16px; border-left: 6px solid; border-radius: 4px; }
.verdict strong { font-size: 1.2rem; }
.verdict.pass { background: #e6f4ee; border-color: #009e73; color: #00573f; }
.verdict.fail { background: #fbece3; border-color: #d55e00; color: #8a3300; }
.verdict ul { margin: 8px 0 0; padding-left: 20px; color: #1f2328; }
.summary-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; align-items: start; }
table.summary { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.summary caption { text-align: left; font-weight: 600; padding: 4px 8px; background: #f6f8fa; }
.summary th, .summary td { padding: 3px 8px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
.summary th { font-weight: normal; color: #424a53; }
.summary td { text-align: right; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; }
.chart text { font-size: 12px; fill: #424a53; }
.chart .axis-label { font-size: 13px; fill: #1f2328; }
.chart .axis { stroke: #57606a; }
.chart .grid { stroke: #eaeef2; }
.chart .frame { stroke: #d0d7de; }
.chart .no-data { font-size: 16px; fill: #6e7781; }
`;
