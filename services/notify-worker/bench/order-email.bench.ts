/**
 * CPU per order confirmation email in notify-worker, one process:
 *
 *   npx tsx services/notify-worker/bench/order-email.bench.ts [emails per case, default 4000] [--rounds N]
 *       [--only TEXT] [--sink-in-process] [--json]
 *
 * renderOrderEmail alone; the MIME build alone (from rendered emails: nodemailer composing it through its
 * public stream transport, as sendMail did before, against the MimeSkeleton the Mailer uses now); and render + send through the
 * Mailer's pooled SMTP transport (same settings as the service) to an SmtpSink, PREFETCH-many in flight.
 * The sink parses every message, so by default it runs in a child process and its CPU is reported
 * apart; `--sink-in-process` counts it in. CPU is user + system from process.cpuUsage, the median of
 * the rounds (cases interleaved, so drifting load on a shared host hits all of them alike). `--json`
 * ends with the medians as one JSON line (npm run bench:rendering reads it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { OrderPlacedV1Data } from '@shop/contracts';
import { SmtpSink } from '@shop/testing';
import { createTransport } from 'nodemailer';
import { Mailer } from '../src/notifications/mailer';
import { MimeSkeleton } from '../src/notifications/mime-skeleton';
import { renderOrderEmail, type OrderEmail } from '../src/notifications/order-email';

const FROM = 'orders@shop.local';
const DOMAIN = 'shop.local';
const IN_FLIGHT = 10; // PREFETCH's default
const POOL = 5; // SMTP_POOL_SIZE's default

const CATALOGUE = [
  { sku: 'TEA-001', name: '龙井茶 Longjing tea' },
  { sku: 'TEA-PUERH-357G', name: '普洱茶饼 Pu-erh tea cake, 357 g' },
  { sku: 'GIM-002', name: '한국 김 seaweed' },
  { sku: 'KIMCHI-500G', name: '배추김치 Napa cabbage kimchi, 500 g' },
  { sku: 'MUG-CERAMIC-350ML', name: 'Ceramic mug, 350 ml' },
  { sku: 'FLASH-SNEAKER-42', name: 'Limited sneaker, size 42 (flash sale) & "laces"' },
];
const CUSTOMERS = [
  { name: '王小明', email: 'wang.xiaoming@example.cn' },
  { name: '김민준', email: 'minjun.kim@example.kr' },
  { name: 'Aoife Ní Bhriain', email: 'aoife@example.ie' },
  { name: 'Jane Doe', email: 'jane.doe@example.com' },
];

/** A different order id, customer, item count (1-4) and prices for each sequence number. */
export function sampleOrder(seq: number): OrderPlacedV1Data {
  const items = Array.from({ length: 1 + (seq % 4) }, (_, i) => ({
    ...CATALOGUE[(seq + i) % CATALOGUE.length],
    quantity: 1 + ((seq + i) % 3),
    unitPriceCents: 199 + ((seq * 37 + i * 101) % 9000),
  }));
  const hex = ((seq * 2654435761) >>> 0).toString(16).padStart(8, '0');
  return {
    orderId: `${hex}-1c2d-4e5f-8a9b-${String(seq).padStart(12, '0')}`,
    placedAt: new Date(Date.UTC(2026, 10, 27, 9, 0) + seq * 1_000).toISOString(),
    customer: CUSTOMERS[seq % CUSTOMERS.length],
    items,
    totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
    currency: 'EUR',
  };
}

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** `--only TEXT` runs only the cases whose label contains TEXT (for --cpu-prof). */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
const rounds = process.argv.includes('--rounds')
  ? Number(process.argv[process.argv.indexOf('--rounds') + 1])
  : 3;

interface Case {
  label: string;
  /** Emails handed to `run` at once: 1 for composition, the prefetch for sending. */
  inFlight: number;
  run: (seq: number) => Promise<unknown>;
}

/** Runs `run` for seq offset..offset+count-1 with `inFlight` at a time; CPU microseconds per email. */
async function cpuPerEmail({ inFlight, run }: Case, offset: number, count: number): Promise<number> {
  const cpu = cpuMicros();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await run(offset + next++);
    }),
  );
  return (cpuMicros() - cpu) / count;
}

/** Every case once to warm up, then `rounds` rounds of all cases interleaved (load on a shared host drifts). */
async function runCases(
  cases: Case[],
  count: number,
  sinkCpu: () => Promise<number>,
): Promise<Record<string, number>> {
  const chosen = cases.filter((c) => c.label.includes(only));
  for (const c of chosen) await cpuPerEmail(c, 1_000_000, Math.min(2_000, count));
  const results = new Map<Case, { sender: number[]; sink: number[] }>(
    chosen.map((c) => [c, { sender: [], sink: [] }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const c of chosen) {
      const sinkBefore = await sinkCpu();
      results.get(c)!.sender.push(await cpuPerEmail(c, round * count, count));
      results.get(c)!.sink.push(((await sinkCpu()) - sinkBefore) / count);
    }
  }
  const medianMs = (micros: number[]) =>
    [...micros].sort((a, b) => a - b)[Math.floor(micros.length / 2)] / 1000;
  const ms = (micros: number[]) =>
    `${medianMs(micros).toFixed(3)} ms (min ${(Math.min(...micros) / 1000).toFixed(3)})`;
  const medians: Record<string, number> = {};
  for (const [c, { sender, sink }] of results) {
    const sinkNote = c.inFlight > 1 && sink[0] >= 0 ? `  [sink process: ${ms(sink)}]` : '';
    console.log(`${c.label.padEnd(52)} ${ms(sender)} CPU/email${sinkNote}`);
    medians[c.label] = medianMs(sender);
  }
  return medians;
}

/** An SmtpSink in a child process, so the sender's CPU is measured alone. */
async function startChildSink(): Promise<{ url: string; cpu: () => Promise<number>; stop: () => void }> {
  const child: ChildProcess = fork(__filename, ['--sink-child'], { execArgv: process.execArgv });
  const request = <T>(command: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (reply) => resolve(reply as T));
      child.send(command);
    });
  const url = await request<string>('url');
  return { url, cpu: () => request<number>('cpu'), stop: () => child.kill() };
}

async function runSinkChild(): Promise<void> {
  const sink = new SmtpSink({ maxMessages: 100 });
  await sink.start();
  process.on('message', (command) => {
    if (command === 'url') process.send!(sink.url);
    if (command === 'cpu') process.send!(cpuMicros());
  });
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 4000) || 4000;
  const skeleton = new MimeSkeleton(FROM);
  const legacy = (email: OrderEmail) => ({ from: FROM, ...email });
  // nodemailer's own composition through its public API: a transport that only builds the message.
  const composer = createTransport({ streamTransport: true, buffer: true });

  const rendered = Array.from({ length: count }, (_, seq) => renderOrderEmail(sampleOrder(seq), DOMAIN));
  const pick = (seq: number) => rendered[seq % count];
  console.log(`${count} emails per case and round, median of ${rounds} rounds`);
  const built = await runCases(
    [
      {
        label: 'renderOrderEmail (text + html)',
        inFlight: 1,
        run: async (seq) => renderOrderEmail(sampleOrder(seq), DOMAIN),
      },
      {
        label: 'MIME build: nodemailer composing (public)',
        inFlight: 1,
        run: async (seq) => (await composer.sendMail(legacy(pick(seq)))).message,
      },
      {
        label: 'MIME build: MimeSkeleton (hand-written)',
        inFlight: 1,
        run: async (seq) => skeleton.build(pick(seq)),
      },
    ],
    count,
    async () => 0,
  );

  const inProcess = process.argv.includes('--sink-in-process');
  let sink: { url: string; cpu: () => Promise<number>; stop: () => void | Promise<void> };
  if (inProcess) {
    const local = new SmtpSink({ maxMessages: 100 });
    await local.start();
    sink = { url: local.url, cpu: async () => -1, stop: () => local.stop() };
  } else {
    sink = await startChildSink();
  }
  const mailer = new Mailer({ smtpUrl: sink.url, from: FROM, maxConnections: POOL });
  try {
    const sent = await runCases(
      [
        {
          label: 'render + send: nodemailer composes (public)',
          inFlight: IN_FLIGHT,
          run: (seq) => mailer.sendComposed(renderOrderEmail(sampleOrder(seq), DOMAIN)),
        },
        {
          label: 'render + send: Mailer.send, skeleton raw (hand-written)',
          inFlight: IN_FLIGHT,
          run: (seq) => mailer.send(renderOrderEmail(sampleOrder(seq), DOMAIN)),
        },
      ],
      count,
      sink.cpu,
    );
    if (process.argv.includes('--json'))
      console.log(JSON.stringify({ count, rounds, cpuMs: { ...built, ...sent } }));
  } finally {
    mailer.onApplicationShutdown();
    await sink.stop();
  }
}

if (require.main === module) {
  const run = process.argv.includes('--sink-child') ? runSinkChild : main;
  run().catch((error: Error) => {
    console.error(error);
    process.exit(1);
  });
}
