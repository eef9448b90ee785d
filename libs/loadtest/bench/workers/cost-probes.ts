import type { SmtpSink } from '@shop/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTransport } from 'nodemailer';
import { Client } from 'pg';
import { summarise as percentiles } from '../../src/stats';
import { REPO_ROOT } from '../support/tool-environment';

/**
 * The raw price of each step a worker takes per message, measured alone on this machine: a database
 * round trip, one email over pooled SMTP to the same sink, one atomic durable file write, one PDF render.
 */
export interface CostProbe {
  step: string;
  /** Milliseconds per operation, one at a time. */
  sequentialMs: number;
  /** Operations per second with several in flight (undefined when not measured). */
  concurrentPerSecond?: number;
  note: string;
}

/** `SELECT 1` one at a time: what each of the workers' statements costs at least. */
export async function probeDatabaseRoundTrip(databaseUrl: string): Promise<CostProbe> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'workers-bench-probe' });
  await client.connect();
  try {
    for (let i = 0; i < 50; i++) await client.query('SELECT 1');
    const times = await timeEach(500, () => client.query('SELECT 1'));
    return { step: 'PostgreSQL round trip (SELECT 1)', sequentialMs: percentiles(times).p50, note: 'p50' };
  } finally {
    await client.end();
  }
}

/**
 * nodemailer with the worker's transport settings (pool of 5) sending an email of the worker's size
 * to the same in-process sink: client and sink share the bench's event loop, so this is a floor.
 */
export async function probeSmtp(sink: SmtpSink, poolSize: number): Promise<CostProbe> {
  const transport = createTransport({
    url: sink.url,
    pool: true,
    maxConnections: poolSize,
    maxMessages: Infinity,
  } as Parameters<typeof createTransport>[0]);
  const email = sampleEmail();
  const send = (i: number) =>
    transport.sendMail({ ...email, to: `probe+${i}@example.com`, messageId: `<probe-${i}@shop.local>` });
  try {
    for (let i = 0; i < 20; i++) await send(i);
    let n = 0;
    const times = await timeEach(300, () => send(n++));
    const concurrent = await throughput(1_000, poolSize * 2, () => send(n++));
    return {
      step: `SMTP send, nodemailer pool ${poolSize} → in-process sink`,
      sequentialMs: percentiles(times).p50,
      concurrentPerSecond: concurrent,
      note: `p50; ${poolSize * 2} in flight for the rate`,
    };
  } finally {
    transport.close();
    sink.clear();
  }
}

/** The report-worker's writeFileAtomically, step by step: temp file, write, fsync, rename, fsync the folder. */
export async function probeDurableWrite(parent: string, bytes: number): Promise<CostProbe> {
  const directory = await mkdtemp(join(parent, 'fsync-probe-'));
  const content = randomBytes(bytes);
  let n = 0;
  const write = async () => {
    const name = `${n++}.pdf`;
    const temporary = join(directory, `.${name}.tmp`);
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, join(directory, name));
    const folder = await open(directory, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  };
  try {
    const times = await timeEach(200, write);
    const concurrent = await throughput(500, 10, write);
    return {
      step: `durable file write (${Math.round(bytes / 1024)} KiB, 2 fsyncs + rename)`,
      sequentialMs: percentiles(times).p50,
      concurrentPerSecond: concurrent,
      note: 'p50; 10 in flight for the rate',
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * PDF rendering alone, by running report-worker's own render benchmark (a separate process: libs may
 * not import services). Undefined when that script is not there.
 */
export async function probePdfRender(): Promise<CostProbe | undefined> {
  const script = join(REPO_ROOT, 'services/report-worker/bench/order-report.bench.ts');
  const tsx = join(REPO_ROOT, 'node_modules/.bin/tsx');
  if (!existsSync(script) || !existsSync(tsx)) return undefined;
  const { stdout } = await promisify(execFile)(tsx, [script, '2'], { cwd: REPO_ROOT, timeout: 60_000 });
  // "3 items: 250 renders/s, 4.00 ms each (3.90 ms CPU), 17.3 KiB avg, RSS 150 MB"
  const three = /^3 items: (\d+) renders\/s, ([\d.]+) ms each(?: \([\d.]+ ms CPU\))?, ([\d.]+) KiB/m.exec(
    stdout,
  );
  if (!three) return undefined;
  return {
    step: 'PDF render, 3-item order (report-worker bench)',
    sequentialMs: Number(three[2]),
    concurrentPerSecond: Number(three[1]),
    note: `${three[3]} KiB avg; one thread, so the rate is 1 / ms`,
  };
}

async function timeEach(times: number, operation: () => Promise<unknown>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await operation();
    durations.push(performance.now() - started);
  }
  return durations;
}

async function throughput(
  total: number,
  inFlight: number,
  operation: () => Promise<unknown>,
): Promise<number> {
  let started = 0;
  const begin = performance.now();
  const lane = async () => {
    while (started++ < total) await operation();
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return total / ((performance.now() - begin) / 1000);
}

/** About the size and shape of notify-worker's confirmation (plain text and HTML, three lines). */
function sampleEmail() {
  const lines = [
    '龙井茶 Longjing green tea, 100 g',
    '배추김치 Napa cabbage kimchi, 500 g',
    'Ceramic mug, 350 ml',
  ];
  const text = [
    'Hello 王小明,',
    '',
    'thank you for your order 1C2D-4E5F, placed 2025-03-14 09:26 UTC.',
    '',
    ...lines.map((name, i) => `  ${i + 1} × ${name} (SKU-${i}) at €12.99 = €${12.99 * (i + 1)}`),
    '',
    'Total: €77.94',
    '',
    'Order id: 8f14e45f-1c2d-4e5f-8a9b-000000000001',
    'Rabbit Shop',
  ].join('\n');
  const rows = lines
    .map((name, i) => `<tr><td>${name}<br><small>SKU-${i}</small></td><td>${i + 1}</td><td>€12.99</td></tr>`)
    .join('');
  return {
    from: 'orders@shop.local',
    subject: 'Your order 1C2D-4E5F is confirmed',
    text,
    html: `<!doctype html><html><body><p>Hello 王小明,</p><table>${rows}</table><p>Rabbit Shop</p></body></html>`,
  };
}
