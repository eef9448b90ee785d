import { serviceDatabaseUrl } from '@shop/config';
import { Queues, RoutingKeys } from '@shop/contracts';
import { testRabbitmqUrlAs, waitFor, type ServiceProcess, type SmtpSink } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { LatencySummary as Percentiles } from '../../src/flash-sale.results';
import { summarise as percentiles } from '../../src/stats';
import { CpuTimeline, type CpuWindow } from '../../src/support/cpu-timeline';
import type { ServiceLauncher } from '../support/service-launcher';
import { Tally } from '../support/tally';
import { TOOL_OPS_TOKEN } from '../support/tool-environment';
import { BENCH_PRODUCTS, emptyTables, LOG_QUEUES, queuesOf, type BenchBroker } from './workers-fixtures';

export interface EndToEndOptions {
  /** Orders per second, paced (open loop: a slow answer does not delay the next order). */
  rate: number;
  seconds: number;
  /** Both workers' PREFETCH; undefined: the services' default. */
  prefetch?: number;
  /** Sent at the same rate first, drained, and left out of the figures (cold JIT, pools, statements). */
  warmUpSeconds: number;
}

export interface EndToEndContext {
  pool: Pool;
  broker: BenchBroker;
  databaseUrl: string;
  rabbitmqUrl: string;
  sink: SmtpSink;
  reportsDir: string;
  processes: ServiceLauncher;
  log: (line: string) => void;
}

export interface EndToEndResult {
  options: EndToEndOptions;
  sent: number;
  acceptedPerSecond: number;
  statuses: Tally;
  /** POST /orders sent → 201 received. */
  http: Percentiles;
  /** 201 received → the sink stored the email. */
  toEmail: Percentiles;
  /** 201 received → REPORTS_DIR/<order id>.pdf renamed into place. */
  toPdf: Percentiles;
  missingEmails: number;
  missingPdfs: number;
  /** Order committed → outbox row marked published, per routing key. */
  relay: Record<string, Percentiles>;
  /** Median latency to email and to PDF of the orders sent in each successive slice of the run. */
  slices: { fromSecond: number; toEmailP50: number; toPdfP50: number }[];
  cpu: CpuWindow | undefined;
}

interface PlacedOrder {
  sentAt: number;
  /** HTTP status, or the error when no answer came. */
  status?: string;
  acceptedAt?: number;
  orderId?: string;
}

/**
 * The whole pipeline at a steady rate: the built order-api, notify-worker and report-worker (default
 * prefetch) as processes, POST /orders paced at `rate`, and per order the time from its 201 to its
 * email in the sink and to its PDF in REPORTS_DIR.
 */
export async function measureEndToEnd(
  context: EndToEndContext,
  options: EndToEndOptions,
): Promise<EndToEndResult> {
  const { pool, broker, sink, reportsDir, processes, log } = context;
  for (const queue of [Queues.orderNotify, Queues.orderReport]) {
    const { consumers } = await broker.depth(queue);
    if (consumers > 0)
      throw new Error(`${queue} in the bench vhost already has ${consumers} consumer(s): stop them first`);
    await broker.purge(queuesOf(queue));
  }
  await broker.purge(LOG_QUEUES);
  await emptyTables(pool);
  sink.clear();

  const pdfWrittenAt = new Map<string, number>();
  const watcher = watch(reportsDir, (_event, fileName) => {
    const orderId = /^([0-9a-f-]{36})\.pdf$/.exec(String(fileName))?.[1];
    if (orderId && !pdfWrittenAt.has(orderId)) pdfWrittenAt.set(orderId, Date.now());
  });
  const start = (name: 'order-api' | 'notify-worker' | 'report-worker', env: Record<string, string>) =>
    processes.start(name, {
      DATABASE_URL: serviceDatabaseUrl(context.databaseUrl, name),
      // Its own RabbitMQ user: order-api accepts a status event only from the worker that owns it.
      RABBITMQ_URL: testRabbitmqUrlAs(name, context.rabbitmqUrl),
      ...env,
    });
  const prefetch: Record<string, string> =
    options.prefetch === undefined ? {} : { PREFETCH: String(options.prefetch) };
  const started: ServiceProcess[] = [];
  try {
    const [api, notify, report] = await Promise.all([
      // One client sends every order: its rate limit counts them but never refuses one.
      start('order-api', { REPORTS_DIR: reportsDir, ORDER_RATE_LIMIT_PER_CLIENT: '1000000' }),
      start('notify-worker', { SMTP_URL: sink.url, ...prefetch }),
      start('report-worker', { REPORTS_DIR: reportsDir, ...prefetch }),
    ]);
    started.push(api, notify, report);
    log(
      `order-api pid ${api.pid}, notify-worker pid ${notify.pid}, report-worker pid ${report.pid}: healthy`,
    );
    for (const product of BENCH_PRODUCTS) await putProduct(api.baseUrl, product);

    const timeline = new CpuTimeline({
      'order-api': api.pid,
      'notify-worker': notify.pid,
      'report-worker': report.pid,
      bench: process.pid,
    });
    const emailAt = () => emailTimes(sink);
    const sideEffectsOf = (batch: PlacedOrder[]) =>
      waitFor(
        `an email and a PDF for each of ${batch.length} orders`,
        async () => {
          for (const service of started) {
            if (!service.isRunning())
              throw new Error(`${service.name} exited:\n${service.output().slice(-2_000)}`);
          }
          const emails = emailAt();
          return batch.every((o) => emails.has(o.orderId!) && pdfWrittenAt.has(o.orderId!));
        },
        { timeoutMs: 60_000, intervalMs: 250, failFast: true },
      );
    // Warm-up at the same rate (cold JIT, pools, prepared statements), drained before measuring.
    const warmUp = await placeOrdersPaced(api.baseUrl, options.rate, options.warmUpSeconds, 0);
    await sideEffectsOf(warmUp.filter((o) => o.orderId));
    timeline.start();
    const orders = await placeOrdersPaced(api.baseUrl, options.rate, options.seconds, warmUp.length);
    const measured = orders.filter((o) => o.orderId && o.acceptedAt !== undefined);
    await sideEffectsOf(measured).catch((error: Error) => log(`incomplete: ${error.message}`));
    timeline.stop();

    const emails = emailAt();
    for (const order of measured) {
      // A rename that inotify coalesced away: the file's mtime is when its bytes were written.
      if (!pdfWrittenAt.has(order.orderId!)) {
        const written = await stat(join(reportsDir, `${order.orderId}.pdf`)).catch(() => undefined);
        if (written) pdfWrittenAt.set(order.orderId!, written.mtimeMs);
      }
    }
    const after = (times: Map<string, number>) =>
      measured.filter((o) => times.has(o.orderId!)).map((o) => times.get(o.orderId!)! - o.acceptedAt!);
    const measuredFrom = Math.min(...measured.map((o) => o.sentAt));
    return {
      options,
      sent: orders.length,
      acceptedPerSecond: measured.length / options.seconds,
      statuses: tallyStatuses(orders),
      http: percentiles(measured.map((o) => o.acceptedAt! - o.sentAt)),
      toEmail: percentiles(after(emails)),
      toPdf: percentiles(after(pdfWrittenAt)),
      missingEmails: measured.filter((o) => !emails.has(o.orderId!)).length,
      missingPdfs: measured.filter((o) => !pdfWrittenAt.has(o.orderId!)).length,
      relay: await relayLag(pool, new Set(measured.map((o) => o.orderId!))),
      slices: slicesOf(measured, measuredFrom, emails, pdfWrittenAt),
      cpu: timeline.window(measuredFrom),
    };
  } finally {
    watcher.close();
    for (const service of started) await processes.stop(service);
    await processes.stopAll(); // any that started while another failed
  }
}

/** A latency that climbs from slice to slice means the pipeline falls behind the rate. */
function slicesOf(
  orders: PlacedOrder[],
  from: number,
  emails: Map<string, number>,
  pdfs: Map<string, number>,
): EndToEndResult['slices'] {
  const sliceMs = 5_000;
  const slices: EndToEndResult['slices'] = [];
  for (let start = from; orders.some((o) => o.sentAt >= start); start += sliceMs) {
    const inSlice = orders.filter((o) => o.sentAt >= start && o.sentAt < start + sliceMs);
    const median = (times: Map<string, number>) =>
      percentiles(
        inSlice.filter((o) => times.has(o.orderId!)).map((o) => times.get(o.orderId!)! - o.acceptedAt!),
      ).p50;
    slices.push({ fromSecond: (start - from) / 1000, toEmailP50: median(emails), toPdfP50: median(pdfs) });
  }
  return slices;
}

function tallyStatuses(orders: PlacedOrder[]): Tally {
  const tally = new Tally();
  for (const order of orders) tally.add(order.status ?? 'no answer');
  return tally;
}

/** Fires POST /orders on a fixed schedule, each with its own Idempotency-Key; waits for every answer. */
async function placeOrdersPaced(
  baseUrl: string,
  rate: number,
  seconds: number,
  firstIndex: number,
): Promise<PlacedOrder[]> {
  const orders: PlacedOrder[] = [];
  const answers: Promise<void>[] = [];
  const begin = performance.now();
  for (let i = 0; i < Math.round(rate * seconds); i++) {
    const wait = begin + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const order: PlacedOrder = { sentAt: Date.now() };
    orders.push(order);
    answers.push(
      postOrder(baseUrl, firstIndex + i).then(
        ({ status, orderId }) => {
          order.status = String(status);
          if (status === 201 && orderId) {
            order.acceptedAt = Date.now();
            order.orderId = orderId;
          }
        },
        (error: Error) => {
          order.status = error.message;
        },
      ),
    );
  }
  await Promise.all(answers);
  return orders;
}

async function postOrder(baseUrl: string, i: number): Promise<{ status: number; orderId?: string }> {
  const response = await fetch(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      customer: { email: `e2e+${i}@example.com`, name: i % 2 ? '王小明' : 'Aoife Ní Bhriain' },
      items: BENCH_PRODUCTS.map((product, line) => ({ sku: product.sku, quantity: 1 + ((i + line) % 3) })),
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { id?: string };
  return { status: response.status, orderId: body.id };
}

async function putProduct(baseUrl: string, product: (typeof BENCH_PRODUCTS)[number]): Promise<void> {
  const response = await fetch(`${baseUrl}/products/${product.sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOOL_OPS_TOKEN}` },
    body: JSON.stringify({ name: product.name, priceCents: product.unitPriceCents, stock: 10_000_000 }),
  });
  if (response.status !== 200 && response.status !== 201) {
    throw new Error(`PUT /products/${product.sku} answered ${response.status}: ${await response.text()}`);
  }
}

/** When the sink stored each order's email: notify-worker's Message-ID is <order-<id>@domain>. */
function emailTimes(sink: SmtpSink): Map<string, number> {
  const times = new Map<string, number>();
  for (const mail of sink.messages) {
    const orderId = /^<order-([0-9a-f-]{36})@/.exec(mail.messageId ?? '')?.[1];
    if (orderId && !times.has(orderId)) times.set(orderId, mail.receivedAt.getTime());
  }
  return times;
}

/** Order commit → outbox row marked published, per routing key (the mark trails the confirm by a few ms). */
async function relayLag(pool: Pool, orderIds: Set<string>): Promise<Record<string, Percentiles>> {
  const { rows } = await pool.query<{ order_id: string; routing_key: string; lag_ms: number }>(
    `SELECT headers->>'order-id' AS order_id, routing_key,
            extract(epoch FROM published_at - created_at)::float8 * 1000 AS lag_ms
       FROM outbox_messages WHERE published_at IS NOT NULL`,
  );
  const lags: Record<string, number[]> = { [RoutingKeys.orderNotify]: [], [RoutingKeys.orderReport]: [] };
  for (const row of rows) if (orderIds.has(row.order_id)) (lags[row.routing_key] ??= []).push(row.lag_ms);
  return Object.fromEntries(Object.entries(lags).map(([key, values]) => [key, percentiles(values)]));
}
