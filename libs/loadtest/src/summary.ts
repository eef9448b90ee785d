import type { FlashSaleResults, LatencySummary } from './flash-sale.results';
import { ARRIVAL_RESOLUTION_MS } from './sale-figures';

/** `12,345.6`, or `n/a` for a missing or non-finite value: the one number format of the tools. */
export const formatNumber = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const number = formatNumber;

const latency = (s: LatencySummary, which: (keyof LatencySummary)[]) =>
  which.map((key) => `${key} ${number(s[key], 1)}`).join(' / ') + ' ms';

/** The summary table's rows, label and value: printed by the CLI, shown by the dashboard. */
export function summaryRows(results: FlashSaleResults): [string, string][] {
  const { firing, drain, endToEnd, product, serverSales } = results;
  const statuses = Object.entries(firing.statusCounts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status} ×${number(count)}`)
    .join(', ');
  const rows: [string, string][] = [
    ['product', `${product.sku}: ${product.initialStock} units → ${product.finalStock} left`],
    ['sold (database)', `${serverSales.orders} orders, ${serverSales.units} units`],
    [
      'requests sent',
      `${number(firing.requestsSent)} (${number(firing.resendsSent)} re-sends) in ${number(firing.durationMs / 1000, 2)} s`,
    ],
    ['requests/s handled', number(firing.requestsPerSecond)],
    ['accepted/s while stock lasted', number(firing.acceptedPerSecond)],
    ['latency', latency(firing.latency, ['p50', 'p90', 'p99', 'max'])],
    ['answers', statuses || '-'],
    ...saleRows(results),
    [
      'drain',
      `${number(drain.durationMs / 1000, 2)} s after the last acceptance${drain.completed ? '' : ' (NOT finished)'}`,
    ],
    ['emails / PDFs', `${drain.emails} / ${drain.pdfs} of ${results.acceptedOrders.length} orders`],
    ['accepted → email', latency(endToEnd.email, ['p50', 'p99'])],
    ['accepted → PDF', latency(endToEnd.pdf, ['p50', 'p99'])],
    ...lifecycleRows(results),
  ];
  return firing.stoppedEarly
    ? [...rows.slice(0, 2), ['stopped', 'early, before every order was sent'], ...rows.slice(2)]
    : rows;
}

/** A sale's rules, its time to the final outcome, refusals by code and fairness. */
function saleRows({ sale, firing }: FlashSaleResults): [string, string][] {
  if (!sale) return [];
  const { fairness, tickets } = firing;
  return [
    [
      'sale',
      `${sale.id}, ${sale.admission}, ${sale.limitPerCustomer} per customer, opens ${sale.opensAt}; ` +
        `${number(sale.earlyRequests)} early requests, ${number(sale.secondAttempts)} second tries`,
    ],
    ...(firing.finalOutcome
      ? [['time to final outcome', latency(firing.finalOutcome, ['p50', 'p99', 'max'])] as [string, string]]
      : []),
    ...(tickets
      ? [
          [
            'tickets',
            `${number(tickets.issued)}: ${number(tickets.placed)} placed, ${number(tickets.refused)} refused, ${number(tickets.lost)} lost`,
          ] as [string, string],
        ]
      : []),
    ['refusals by code', counts(firing.refusalsByCode ?? {})],
    ...(fairness
      ? [
          [
            'fairness (arrival vs acceptance)',
            `${number(fairness.invertedShare * 100, 2)} % of ${number(fairness.pairs)} pairs inverted (sent within ${ARRIVAL_RESOLUTION_MS} ms: a tie), Kendall's tau ${number(fairness.kendallTau, 3)}`,
          ] as [string, string],
        ]
      : []),
  ];
}

const counts = (values: Partial<Record<string, number>>) =>
  Object.entries(values)
    .map(([key, n]) => `${key} ×${number(n)}`)
    .join(', ') || '-';

/** What the customers did and where the orders ended: results of a run with the order lifecycle. */
function lifecycleRows({ lifecycle }: FlashSaleResults): [string, string][] {
  if (!lifecycle) return [];
  return [
    ['customers', counts(lifecycle.actions)],
    ['orders ended', counts(lifecycle.statuses)],
    ['late payments refunded', number(lifecycle.latePaymentsRefunded)],
    [
      'stock returned, sold again',
      `${number(lifecycle.unitsReturned)} units back; ${number(lifecycle.resaleOrders)} follow-up orders; ` +
        `${number(lifecycle.ordersAcceptedAfterFirstExpiry)} orders accepted after the first expiry`,
    ],
    ['emails by kind', counts(lifecycle.emails)],
  ];
}

/** The summary table printed after a run: figures first, then the verdict. */
export function formatSummary(results: FlashSaleResults): string {
  const rows = summaryRows(results);
  const width = Math.max(...rows.map(([label]) => label.length));
  const table = rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
  const verdict =
    results.violations.length === 0
      ? 'PASS: nothing oversold, lost or duplicated'
      : `FAIL: ${results.violations.length} violation(s)\n${results.violations.map((v) => `  ${v.code}: ${v.message}`).join('\n')}`;
  return `${table}\n\n${verdict}`;
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
