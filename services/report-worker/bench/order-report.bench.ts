/**
 * PDF rendering benchmark: renders/s of renderOrderReport for a 3-item and a 60-item order, one process.
 *
 *   npx tsx services/report-worker/bench/order-report.bench.ts [seconds per case, default 5] [--npm-fonts]
 *     [--sample FILE [items, default 3]]
 *   npx tsx services/report-worker/bench/order-report.bench.ts --ways [PDFs per round, default 40]
 *     [--rounds N] [--npm-fonts] [--json]
 *
 * The font is report-worker's (REPORT_FONT_PATH, else a system Noto Sans CJK, else Noto Sans SC and KR from
 * npm); --npm-fonts takes the npm ones even where a system font is installed. --ways weighs the prepared
 * faces against pdfkit's public way (registerFont with the file's bytes), rounds alternating, CPU medians;
 * --json prints the result as one JSON line (npm run bench:rendering reads it).
 *
 * Each render gets a different order id, customer and prices (from a small catalogue with Chinese and
 * Korean names), so per-document work is not flattered by identical input.
 */
import { writeFileSync } from 'node:fs';
import { renderOrderReport, type OrderReportInput } from '../src/reports/order-report.pdf';
import {
  describeReportFont,
  resolveReportFont,
  type ReportFontWay,
  type ResolvedReportFont,
} from '../src/reports/report-font';

const CATALOGUE = [
  { sku: 'TEA-LONGJING-100G', name: '龙井茶 Longjing green tea, 100 g' },
  { sku: 'TEA-PUERH-357G', name: '普洱茶饼 Pu-erh tea cake, 357 g' },
  { sku: 'CHOPSTICKS-BAMBOO-5P', name: '竹筷子 Bamboo chopsticks, 5 pairs' },
  { sku: 'SEAWEED-GIM-10', name: '한국 김 Roasted seaweed, 10 sheets' },
  { sku: 'KIMCHI-500G', name: '배추김치 Napa cabbage kimchi, 500 g' },
  { sku: 'GOCHUJANG-500G', name: '고추장 Red pepper paste, 500 g' },
  { sku: 'COFFEE-ESPRESSO-1KG', name: 'Espresso beans, 1 kg' },
  { sku: 'MUG-CERAMIC-350ML', name: 'Ceramic mug, 350 ml' },
  { sku: 'RICE-COOKER-3L', name: 'Rice cooker, 3 l' },
  {
    sku: 'FLASH-SNEAKER-42',
    name: 'Limited sneaker, size 42 (flash sale) — hand-stitched upper, recycled rubber sole, 2 pairs of laces',
  },
];
const CUSTOMERS = [
  { name: '王小明', email: 'wang.xiaoming@example.cn' },
  { name: '김민준', email: 'minjun.kim@example.kr' },
  { name: 'Aoife Ní Bhriain', email: 'aoife@example.ie' },
];

export function sampleOrder(seq: number, itemCount: number): OrderReportInput {
  const items = Array.from({ length: itemCount }, (_, i) => {
    const product = CATALOGUE[(seq + i) % CATALOGUE.length];
    return { ...product, quantity: 1 + ((seq + i) % 4), unitPriceCents: 199 + ((seq * 37 + i * 101) % 9000) };
  });
  const hex = (seq * 2654435761).toString(16).padStart(8, '0').slice(-8);
  return {
    orderId: `${hex}-1c2d-4e5f-8a9b-${String(seq).padStart(12, '0')}`,
    placedAt: new Date(Date.UTC(2025, 2, 14, 9, 26) + seq * 60_000).toISOString(),
    customer: CUSTOMERS[seq % CUSTOMERS.length],
    items,
    totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
    currency: 'EUR',
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One way's CPU milliseconds and KiB per PDF, the medians of the rounds. */
export interface WayFigures {
  cpuMs: number;
  kib: number;
}

/** CPU per PDF of each way, `count` PDFs per round, the ways alternating within each round. */
async function compareWays(
  font: ResolvedReportFont,
  itemCount: number,
  count: number,
  rounds: number,
): Promise<Record<ReportFontWay, WayFigures>> {
  const ways: ReportFontWay[] = ['pdfkit', 'prepared'];
  for (const way of ways)
    for (let i = 0; i < 5; i++) await renderOrderReport(sampleOrder(i, itemCount), font, way);
  const cpu = new Map<ReportFontWay, number[]>(ways.map((way) => [way, []]));
  const kib = new Map<ReportFontWay, number[]>(ways.map((way) => [way, []]));
  for (let round = 0; round < rounds; round++) {
    for (const way of ways) {
      const before = process.cpuUsage();
      let bytes = 0;
      for (let i = 0; i < count; i++) {
        bytes += (await renderOrderReport(sampleOrder(round * count + i, itemCount), font, way)).length;
      }
      const used = process.cpuUsage(before);
      cpu.get(way)!.push((used.user + used.system) / 1000 / count);
      kib.get(way)!.push(bytes / count / 1024);
    }
  }
  const figures = (way: ReportFontWay) => ({ cpuMs: median(cpu.get(way)!), kib: median(kib.get(way)!) });
  return { pdfkit: figures('pdfkit'), prepared: figures('prepared') };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5) || 5;
  const font = process.argv.includes('--npm-fonts')
    ? resolveReportFont(undefined, [])
    : resolveReportFont(process.env.REPORT_FONT_PATH);
  if (process.argv.includes('--ways')) {
    const count = Number(process.argv[process.argv.indexOf('--ways') + 1]) || 40;
    const rounds = process.argv.includes('--rounds')
      ? Number(process.argv[process.argv.indexOf('--rounds') + 1])
      : 5;
    const results = [];
    for (const items of [3, 60]) results.push({ items, ...(await compareWays(font, items, count, rounds)) });
    const run = { font: describeReportFont(font), count, rounds, results };
    if (process.argv.includes('--json')) console.log(JSON.stringify(run));
    else console.log(JSON.stringify(run, null, 2));
    return;
  }
  const sampleIndex = process.argv.indexOf('--sample');
  if (sampleIndex > 0) {
    const pdf = await renderOrderReport(sampleOrder(3, Number(process.argv[sampleIndex + 2] ?? 3)), font);
    writeFileSync(process.argv[sampleIndex + 1], pdf);
    console.log(`wrote ${process.argv[sampleIndex + 1]} (${pdf.length} bytes)`);
    return;
  }
  console.log(`font: ${describeReportFont(font)}`);
  let t = process.hrtime.bigint();
  await renderOrderReport(sampleOrder(0, 3), font);
  console.log(`first render (loads the font): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
  for (const itemCount of [3, 60]) {
    for (let i = 0; i < 50; i++) await renderOrderReport(sampleOrder(i, itemCount), font); // warm-up
    let renders = 0;
    let bytes = 0;
    t = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const end = t + BigInt(seconds * 1e9);
    while (process.hrtime.bigint() < end)
      bytes += (await renderOrderReport(sampleOrder(renders++, itemCount), font)).length;
    const elapsed = Number(process.hrtime.bigint() - t) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    // CPU time, unlike wall time, is not inflated by other processes sharing the cores.
    const cpuMs = (cpu.user + cpu.system) / 1000 / renders;
    console.log(
      `${itemCount} items: ${(renders / elapsed).toFixed(0)} renders/s, ` +
        `${((elapsed / renders) * 1000).toFixed(2)} ms each (${cpuMs.toFixed(2)} ms CPU), ` +
        `${(bytes / renders / 1024).toFixed(1)} KiB avg, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
  }
  // getrusage's maxrss: the process's peak RSS so far (VmHWM in /proc/<pid>/status).
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

if (require.main === module)
  main().catch((error: Error) => {
    console.error(error);
    process.exit(1);
  });
