/**
 * `npm run bench:mailbox`: what one stored email costs the mail catcher (`npm start`'s, and the benches'
 * and drills' sink), to size MAIL_CATCHER_MAX_MESSAGES. An SmtpSink in this process receives order
 * confirmations shaped like notify-worker's (multipart/alternative, quoted-printable, a buyer's name in
 * Chinese, Korean or Latin letters) over SMTP; memory is read after full garbage collections before and
 * after, and again after the newest messages were read through the Mailpit API in pages of 500, as the
 * load test reads them (the sink keeps the parsed fields of recently read messages only).
 * Knobs: BENCH_MAILBOX_MESSAGES (200000), BENCH_MAILBOX_READ (20000).
 *
 * Needs no database, broker or built service.
 */
import { startMailpitSink } from '@shop/mail-sink';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import nodemailer from 'nodemailer';
import { customerFor } from '../src/customers';
import { formatNumber, formatTable } from '../src/summary';

const MESSAGES = Number(process.env.BENCH_MAILBOX_MESSAGES ?? 200_000);
const READ = Math.min(MESSAGES, Number(process.env.BENCH_MAILBOX_READ ?? 20_000));
const IN_FLIGHT = 400;
const log = (line: string) => console.error(`[bench] ${line}`);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Memory {
  heap: number;
  external: number;
  rss: number;
}

async function settledMemory(): Promise<Memory> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    // Not a wait for a condition: a pause lets released buffers' finalizers run before the next collection.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heap: heapUsed, external, rss };
}

/** Placeholders of a fixed length, replaced per message so that every one is a different order. */
const ORDER_ID = '00000000-0000-4000-8000-000000000000';
const ORDER_NUMBER = 'ORDERNUM';

/** One message per buyer name, composed once by nodemailer; each send fills in a fresh order id. */
async function templates(): Promise<string[]> {
  const names = new Map<string, { name: string; email: string }>();
  for (let n = 0; names.size < 24 && n < 10_000; n++) {
    const buyer = customerFor('fsbench', n);
    names.set(buyer.name, buyer);
  }
  const product = '秒杀 Flash-sale sneaker fsbench';
  const placed = `${new Date().toISOString().slice(0, 10)} 10:00 UTC`;
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
  return Promise.all(
    [...names.values()].map(async ({ name, email }) => {
      const text = [
        `Hello ${name},`,
        '',
        `thank you for your order ${ORDER_NUMBER}, placed ${placed}.`,
        '',
        `  1 × ${product} (FLASH-FSBENCH) at €49.00 = €49.00`,
        '',
        'Total: €49.00',
        '',
        `Order id: ${ORDER_ID}`,
        'Rabbit Shop',
      ].join('\n');
      const html = `<!doctype html><html><head><meta charset="utf-8"><title>Order ${ORDER_NUMBER}</title></head>
<body style="font-family:sans-serif">
<p>Hello ${name},</p>
<p>thank you for your order <strong>${ORDER_NUMBER}</strong>, placed ${placed}.</p>
<table cellpadding="6" style="border-collapse:collapse">
<thead><tr><th align="left">Item</th><th align="right">Quantity</th><th align="right">Unit price</th><th align="right">Total</th></tr></thead>
<tbody><tr><td>${product}<br><small>FLASH-FSBENCH</small></td><td style="text-align:right">1</td><td style="text-align:right">€49.00</td><td style="text-align:right">€49.00</td></tr></tbody>
<tfoot><tr><th align="left" colspan="3">Total</th><th align="right">€49.00</th></tr></tfoot>
</table>
<p><small>Order id: ${ORDER_ID}</small></p>
<p>Rabbit Shop</p>
</body></html>`;
      // nodemailer's stream transport hands back the composed message instead of sending it.
      const { message } = await composer.sendMail({
        from: { name: 'Rabbit Shop', address: 'orders@shop.local' },
        to: { name, address: email },
        subject: `Your order ${ORDER_NUMBER} is confirmed`,
        text,
        html,
        messageId: `<order-${ORDER_ID}@shop.local>`,
      });
      return (message as Buffer).toString('utf8');
    }),
  );
}

async function main(): Promise<void> {
  const mail = await startMailpitSink({ maxMessages: MESSAGES, ignoreDuplicateMessageIds: true });
  const { smtp: sink, apiUrl } = mail;
  const sender = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    pool: true,
    maxConnections: 8,
    maxMessages: Infinity,
  });
  const shapes = await templates();
  const send = (n: number) => {
    const orderId = randomUUID();
    const raw = shapes[n % shapes.length]
      .replaceAll(ORDER_ID, orderId)
      .replaceAll(ORDER_NUMBER, orderId.slice(0, 8).toUpperCase());
    return sender.sendMail({
      envelope: { from: 'orders@shop.local', to: [`buyer-${n}@fsbench.loadtest.example`] },
      raw,
    });
  };

  try {
    for (let n = 0; n < 100; n++) await send(n);
    sink.clear();
    const empty = await settledMemory();
    log(`sending ${formatNumber(MESSAGES)} order confirmations`);
    const started = performance.now();
    for (let first = 0; first < MESSAGES; first += IN_FLIGHT) {
      const count = Math.min(IN_FLIGHT, MESSAGES - first);
      await Promise.all(Array.from({ length: count }, (_, i) => send(first + i)));
      if ((first / IN_FLIGHT) % 250 === 0) log(`${formatNumber(first + count)} stored`);
    }
    const seconds = (performance.now() - started) / 1000;
    const stored = await settledMemory();
    const rawBytes = sink.messages.reduce((sum, mail) => sum + mail.size, 0);
    if (sink.messages.length !== MESSAGES) throw new Error(`${sink.messages.length} stored, not ${MESSAGES}`);

    log(`reading the newest ${formatNumber(READ)} through the Mailpit API`);
    for (let start = 0; start < READ; start += 500) {
      const response = await fetch(`${apiUrl}/api/v1/messages?start=${start}&limit=500`);
      if (!response.ok) throw new Error(`GET /api/v1/messages answered ${response.status}`);
      await response.arrayBuffer();
    }
    const read = await settledMemory();

    const perMessage = (bytes: number) => `${formatNumber(bytes / MESSAGES)} B`;
    const megabytes = (bytes: number) => `${formatNumber(bytes / 2 ** 20)} MB`;
    const row = (label: string, pick: (m: Memory) => number) => [
      label,
      perMessage(pick(stored) - pick(empty)),
      megabytes(pick(stored) - pick(empty)),
    ];
    console.log(
      `\nmail catcher: ${formatNumber(MESSAGES)} order confirmations of ${formatNumber(rawBytes / MESSAGES)} B ` +
        `raw on average, stored in ${seconds.toFixed(1)} s (${formatNumber(MESSAGES / seconds)}/s, sender in ` +
        `the same process)\n\n` +
        formatTable(
          ['memory', 'per stored message', `for ${formatNumber(MESSAGES)}`],
          [
            row('V8 heap', (m) => m.heap),
            row('outside the heap (deflated raw)', (m) => m.external),
            row('heap + outside', (m) => m.heap + m.external),
            row('resident (RSS)', (m) => m.rss),
          ],
        ) +
        `\n\nafter reading the newest ${formatNumber(READ)} through the API: heap + outside ` +
        `${megabytes(read.heap + read.external - stored.heap - stored.external)} more in all (the parsed ` +
        `fields it keeps for the most recently read), RSS ${megabytes(read.rss - stored.rss)} more`,
    );
  } finally {
    sender.close();
    await mail.stop();
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
