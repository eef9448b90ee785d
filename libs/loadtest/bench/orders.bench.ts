/**
 * Order placement benchmark: how many orders per second the real, built order-api accepts, and how
 * that compares with PostgreSQL running the API's statement for one order at a time, without HTTP, Nest,
 * the relay or group commit.
 *
 *   npm run build && npm run bench:orders
 *
 * It is a benchmark, not a test: it prints figures and PASS/MISS against the targets and exits 0
 * unless something broke. This machine is shared (2 cores): run it more than once, and read the CPU
 * lines, which show how much other work competed during each phase.
 *
 * Environment: database `orders_bench` (created, migrated and emptied) on the server of DATABASE_URL,
 * vhost `shop_bench` on the broker of RABBITMQ_URL, the API on BENCH_PORT (3900, or any free port).
 * Knobs: DATABASE_POOL_SIZE (the API's pool and the baseline's; default the API's own default),
 * BENCH_CONNECTIONS (50), BENCH_DURATION_SECONDS (10).
 *
 * Phases, each after a short warm-up:
 *   baseline  raw `pg` running place_orders for one order in BENCH_CONNECTIONS loops on one hot product, measured
 *             before the API starts and again after it stops (the ratio uses their mean);
 *   A         POST /orders for 1 unit of one hot product (autocannon, BENCH_CONNECTIONS connections);
 *   B         the same, each request for one of 200 products at random.
 * Every order carries a unique Idempotency-Key (as real clients should), in HTTP and baseline alike.
 * Then it reports the outbox backlog and the order_notify depth, stops the API and purges the queues.
 */
import {
  databaseUrlVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  serviceDatabaseUrl,
} from '@shop/config';
import { DEFAULT_PAYMENT_WINDOW_MS, paymentDueQueueOf, Queues, queuesOf, WorkQueues } from '@shop/contracts';
import { createPgPool } from '@shop/db';
import { ensureVhostExists, freePort, purgeQueues, waitFor, type ServiceProcess } from '@shop/testing';
import amqp from 'amqplib';
import autocannon from 'autocannon';
import { createHash, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Client, type Pool } from 'pg';
import type { ZodType } from 'zod';
import type { LatencySummary } from '../src/flash-sale.results';
import { summarise as summariseLatencies } from '../src/stats';
import { formatNumber, formatTable } from '../src/summary';
import { CpuTimeline, describeCpu } from '../src/support/cpu-timeline';
import { DbActivitySampler } from './support/db-activity-sampler';
import { problemsIn, ServiceLauncher } from './support/service-launcher';
import { Tally } from './support/tally';
import {
  assertBuilt,
  BENCH_VHOST,
  benchDatabaseUrl,
  benchRabbitmqUrl,
  loadBuilt,
  prepareToolDatabase,
  TOOL_OPS_TOKEN,
  warnIfBuildIsStale,
} from './support/tool-environment';

assertBuilt(['order-api']);
// The API's own statement and pool default, from its build: a tool may not import a service's sources.
// The API's own statement, one order per call: what placing orders costs without group commit.
const { placeOrdersQuery } = loadBuilt<{
  placeOrdersQuery: (
    batch: readonly unknown[],
    paymentWindowMs: number,
  ) => { name: string; text: string; values: unknown[] };
}>('order-api', 'orders/place-orders.sql.js');
const { orderApiConfigShape } = loadBuilt<{ orderApiConfigShape: { DATABASE_POOL_SIZE: ZodType<number> } }>(
  'order-api',
  'config/order-api.config.js',
);
const BENCH_QUEUES = [Queues.orderNotify, Queues.orderReport];
/**
 * What a run leaves behind on the bench vhost, emptied before and after: above all its orders' deadlines,
 * which would otherwise fall due 15 minutes later inside the next run and be measured with it, and the log
 * records no aggregator consumes here.
 */
const LEFTOVER_QUEUES = [
  ...WorkQueues.flatMap(queuesOf),
  paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS),
  Queues.logArchive,
  Queues.logAlerts,
];

const TARGETS = { hotAcceptedPerSecond: 800, p99Ms: 100, ratioToBaseline: 0.4 };
const HOT_SKU = 'BENCH-HOT';
const BASELINE_SKU = 'BENCH-BASELINE';
const SPREAD_SKUS = Array.from({ length: 200 }, (_, i) => `BENCH-SPREAD-${String(i).padStart(3, '0')}`);
const HUGE_STOCK = 10_000_000;
const WARM_UP_SECONDS = 2;
/** Marks the baseline's orders, so the relay check counts only the orders the API took. */
const BASELINE_CORRELATION_ID = 'bench-baseline';
const CUSTOMER = { email: 'bench@example.com', name: 'Bench Customer' };

const settings = (() => {
  const env = loadConfig({
    DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
    RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
    DATABASE_POOL_SIZE: orderApiConfigShape.DATABASE_POOL_SIZE,
    BENCH_PORT: portVariable(3900),
    BENCH_CONNECTIONS: positiveIntVariable(50, 1_000),
    BENCH_DURATION_SECONDS: positiveIntVariable(10, 600),
  });
  return {
    databaseUrl: benchDatabaseUrl(env.DATABASE_URL),
    rabbitmqUrl: benchRabbitmqUrl(env.RABBITMQ_URL),
    poolSize: env.DATABASE_POOL_SIZE,
    port: env.BENCH_PORT,
    connections: env.BENCH_CONNECTIONS,
    durationSeconds: env.BENCH_DURATION_SECONDS,
  };
})();

/** One measured phase: a rate, the latency of successes, everything else by status or SQLSTATE. */
interface Measurement {
  label: string;
  perSecond: number;
  latency: LatencySummary;
  failures: Tally;
  /** Outbox rows not yet published when the load stopped (undefined for the baseline). */
  outboxBacklog?: number;
  /** CPU per process group and what the phase's database connections were doing. */
  cpu: string;
  db: string;
}

async function main(): Promise<void> {
  printPreamble();
  await prepareEnvironment();
  // The baseline brackets the API phases: on a shared machine the load of other work drifts.
  const before = await measureBaseline('before');
  const { scenarios, notes } = await runApiScenarios();
  const after = await measureBaseline('after');
  printResults([before, after], scenarios);
  console.log(`\n${notes.join('\n')}`);
}

/** Starts the built API, runs scenarios A and B, checks the relay; always stops it and purges the queues. */
async function runApiScenarios(): Promise<{ scenarios: Measurement[]; notes: string[] }> {
  const launcher = new ServiceLauncher();
  const api = await launcher.start(
    'order-api',
    {
      DATABASE_URL: serviceDatabaseUrl(settings.databaseUrl, 'order-api'),
      RABBITMQ_URL: settings.rabbitmqUrl,
      DATABASE_POOL_SIZE: String(settings.poolSize),
      RABBITMQ_DECLARE_TOPOLOGY: 'true', // the bench vhost has no definitions file; the API declares the queues
      PAYMENT_WINDOW_MS: String(DEFAULT_PAYMENT_WINDOW_MS), // the delay queue emptied with LEFTOVER_QUEUES
      // autocannon is one client: its limit still counts every order (measured), but never refuses one.
      ORDER_RATE_LIMIT_PER_CLIENT: '1000000',
    },
    { port: await freePort(settings.port) },
  );
  const stopOnInterrupt = () =>
    void launcher
      .stopAll()
      .then(() => purgeQueues(settings.rabbitmqUrl, LEFTOVER_QUEUES))
      .finally(() => process.exit(130));
  process.once('SIGINT', stopOnInterrupt);
  try {
    console.log(`order-api pid ${api.pid} healthy on ${api.baseUrl}`);
    await createProducts(api.baseUrl);
    const scenarios = [
      await measureHttp(api, 'A hot product', () => HOT_SKU),
      await measureHttp(api, `B spread (${SPREAD_SKUS.length} products)`, randomSpreadSku),
    ];
    const notes = await describeRelay();
    const problems = problemsIn(api.output());
    if (problems !== '-') notes.push(`order-api log records at warn or above: ${problems}`);
    return { scenarios, notes };
  } finally {
    process.off('SIGINT', stopOnInterrupt);
    await launcher.stopAll();
    const depths = await queueDepths(settings.rabbitmqUrl);
    await purgeQueues(settings.rabbitmqUrl, LEFTOVER_QUEUES);
    console.log(`stopped order-api (pid ${api.pid}); purged ${describeQueues(depths)}`);
  }
}

function printPreamble(): void {
  warnIfBuildIsStale(['order-api']);
  const load = loadavg().map((value) => value.toFixed(2));
  console.log(
    `orders bench: ${cpus().length} cores, load average ${load.join(' ')}; ` +
      `${settings.connections} connections × ${settings.durationSeconds} s per phase; ` +
      `pg pool ${settings.poolSize} in the API and in the baseline (DATABASE_POOL_SIZE); ` +
      `a unique Idempotency-Key per order`,
  );
}

async function prepareEnvironment(): Promise<void> {
  const log = (line: string) => console.log(`  ${line}`);
  await prepareToolDatabase(settings.databaseUrl, log);
  ensureVhostExists(settings.rabbitmqUrl, BENCH_VHOST, log);
  await purgeQueues(settings.rabbitmqUrl, LEFTOVER_QUEUES); // an interrupted run's would skew the depth check
  await withClient(settings.databaseUrl, (client) =>
    client.query(
      `INSERT INTO products (id, sku, name, price_cents, stock, updated_at)
       VALUES (gen_random_uuid(), $1, 'Bench baseline product', 1999, $2, now())`,
      [BASELINE_SKU, HUGE_STOCK],
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Baseline: the API's statement straight on a pg pool

async function measureBaseline(when: 'before' | 'after'): Promise<Measurement> {
  const pool = createPgPool({
    databaseUrl: settings.databaseUrl,
    maxConnections: settings.poolSize,
    applicationName: 'orders-bench-baseline',
  });
  try {
    await placeOrdersInLoops(pool, WARM_UP_SECONDS); // prepares the statement on every connection
    const run = await probed({ bench: process.pid }, 'orders-bench-baseline', () =>
      placeOrdersInLoops(pool, settings.durationSeconds),
    );
    return {
      label: `baseline ${when}: raw pg, pool ${settings.poolSize}, ${settings.connections} loops`,
      ...run,
    };
  } finally {
    await pool.end();
    // The API is not running (not yet, or no longer): mark these rows sent so its relay never publishes them.
    await withClient(settings.databaseUrl, (client) =>
      client.query('UPDATE outbox_messages SET published_at = now() WHERE published_at IS NULL'),
    );
  }
}

async function placeOrdersInLoops(
  pool: Pool,
  seconds: number,
): Promise<Pick<Measurement, 'perSecond' | 'latency' | 'failures'>> {
  const latencies: number[] = [];
  const failures = new Tally();
  const requestHash = createHash('sha256').update(JSON.stringify({ CUSTOMER, BASELINE_SKU })).digest('hex');
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await pool.query(
          placeOrdersQuery(
            [
              {
                request: { customer: CUSTOMER, lines: [{ sku: BASELINE_SKU, quantity: 1 }], requestHash },
                idempotencyKey: randomUUID(),
                correlationId: BASELINE_CORRELATION_ID,
                orderId: randomUUID(),
                notifyMessageId: randomUUID(),
                reportMessageId: randomUUID(),
                deadlineMessageId: randomUUID(),
              },
            ],
            DEFAULT_PAYMENT_WINDOW_MS,
          ),
        );
        latencies.push(performance.now() - sent);
      } catch (error) {
        failures.add((error as { code?: string }).code ?? 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: settings.connections }, loop));
  const elapsedSeconds = (performance.now() - started) / 1000;
  return { perSecond: latencies.length / elapsedSeconds, latency: summariseLatencies(latencies), failures };
}

// ---------------------------------------------------------------------------------------------
// HTTP scenarios against the running API

async function createProducts(baseUrl: string): Promise<void> {
  await putProduct(baseUrl, HOT_SKU, HUGE_STOCK);
  for (let i = 0; i < SPREAD_SKUS.length; i += 20) {
    await Promise.all(SPREAD_SKUS.slice(i, i + 20).map((sku) => putProduct(baseUrl, sku, HUGE_STOCK / 10)));
  }
}

async function putProduct(baseUrl: string, sku: string, stock: number): Promise<void> {
  const response = await fetch(`${baseUrl}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOOL_OPS_TOKEN}` },
    body: JSON.stringify({ name: `Bench product ${sku}`, priceCents: 1999, stock }),
  });
  if (response.status !== 201 && response.status !== 200) {
    throw new Error(`PUT /products/${sku} answered ${response.status}: ${await response.text()}`);
  }
}

function randomSpreadSku(): string {
  return SPREAD_SKUS[Math.floor(Math.random() * SPREAD_SKUS.length)];
}

async function measureHttp(api: ServiceProcess, label: string, pickSku: () => string): Promise<Measurement> {
  await waitForOutboxDrained(10_000); // start each scenario without the previous one's relay backlog
  await postOrders(api.baseUrl, pickSku, WARM_UP_SECONDS);
  const run = await probed({ 'order-api': api.pid, bench: process.pid }, 'order-api', () =>
    postOrders(api.baseUrl, pickSku, settings.durationSeconds),
  );
  return { label, ...run, outboxBacklog: await unpublishedOutboxRows() };
}

/** autocannon POST /orders; latency percentiles are of the 201s, every other outcome is tallied. */
async function postOrders(
  baseUrl: string,
  pickSku: () => string,
  seconds: number,
): Promise<Pick<Measurement, 'perSecond' | 'latency' | 'failures'>> {
  const statuses = new Tally();
  const acceptedLatencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: baseUrl,
        connections: settings.connections,
        duration: seconds,
        headers: { 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            path: '/orders',
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'idempotency-key': randomUUID() },
              body: JSON.stringify({ customer: CUSTOMER, items: [{ sku: pickSku(), quantity: 1 }] }),
            }),
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      statuses.add(statusCode);
      if (statusCode === 201) acceptedLatencies.push(responseTimeMs);
    });
  });
  const failures = statuses.without(201);
  if (result.errors > 0) failures.add('socket errors', result.errors);
  return {
    perSecond: statuses.get(201) / result.duration,
    latency: summariseLatencies(acceptedLatencies),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------
// Outbox relay and broker

function unpublishedOutboxRows(): Promise<number> {
  return withClient(settings.databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox_messages WHERE published_at IS NULL',
    );
    return rows[0].n;
  });
}

function ordersTakenByApi(): Promise<number> {
  return withClient(settings.databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE correlation_id <> $1',
      [BASELINE_CORRELATION_ID],
    );
    return rows[0].n;
  });
}

async function waitForOutboxDrained(timeoutMs: number): Promise<number | undefined> {
  const started = performance.now();
  const drained = await waitFor('the outbox to drain', async () => (await unpublishedOutboxRows()) === 0, {
    timeoutMs,
    intervalMs: 200,
  }).then(
    () => true,
    () => false,
  );
  return drained ? (performance.now() - started) / 1000 : undefined;
}

/** Did the relay keep up? Time to drain the backlog, lag per row, and the queue against the orders. */
async function describeRelay(): Promise<string[]> {
  const drainedAfter = await waitForOutboxDrained(30_000);
  const drained =
    drainedAfter === undefined
      ? `${formatNumber(await unpublishedOutboxRows())} rows still unpublished 30 s after the load`
      : `backlog drained ${drainedAfter.toFixed(1)} s after the load`;
  const lag = await relayLag();
  const [orders, depths] = [await ordersTakenByApi(), await queueDepths(settings.rabbitmqUrl)];
  const extra = (depths[Queues.orderNotify] ?? 0) - orders;
  const verdict =
    extra === 0
      ? 'one message per order'
      : extra > 0
        ? `${formatNumber(extra)} more messages than orders: published twice`
        : `${formatNumber(-extra)} orders without a message`;
  return [
    `Outbox relay: ${drained}; commit → marked published: avg ${lag.avg.toFixed(2)} s, max ${lag.max.toFixed(2)} s.`,
    `Queues in shop_bench: ${describeQueues(depths)}; orders the API took: ${formatNumber(orders)} (${verdict}).`,
  ];
}

function relayLag(): Promise<{ avg: number; max: number }> {
  return withClient(settings.databaseUrl, async (client) => {
    const { rows } = await client.query<{ avg: number; max: number }>(
      `SELECT coalesce(avg(extract(epoch FROM published_at - created_at)), 0)::float8 AS avg,
              coalesce(max(extract(epoch FROM published_at - created_at)), 0)::float8 AS max
         FROM outbox_messages
        WHERE published_at IS NOT NULL AND headers->>'correlationId' <> $1`,
      [BASELINE_CORRELATION_ID],
    );
    return rows[0];
  });
}

function describeQueues(depths: Record<string, number | undefined>): string {
  return Object.entries(depths)
    .map(([queue, depth]) => `${queue} ${depth === undefined ? 'missing' : formatNumber(depth)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Report

/** Runs a phase while sampling CPU per process and the database connections of `applicationName`. */
async function probed<T>(
  pids: Record<string, number>,
  applicationName: string,
  phase: () => Promise<T>,
): Promise<T & { cpu: string; db: string }> {
  const cpu = new CpuTimeline(pids);
  const db = new DbActivitySampler(settings.databaseUrl, applicationName, 50);
  await db.begin();
  cpu.start(500);
  const result = await phase();
  cpu.stop();
  await db.end();
  return { ...result, cpu: describeCpu(cpu.window()), db: db.describe() };
}

function printResults(baselines: Measurement[], scenarios: Measurement[]): void {
  const baselineMean = baselines.reduce((sum, m) => sum + m.perSecond, 0) / baselines.length;
  const ratio = (m: Measurement) => m.perSecond / baselineMean;
  const row = (m: Measurement, isBaseline = false) => [
    m.label,
    formatNumber(m.perSecond),
    formatNumber(m.latency.p50, 1),
    formatNumber(m.latency.p99, 1),
    m.failures.toString(),
    isBaseline ? '' : formatNumber(ratio(m), 2),
    m.outboxBacklog === undefined ? '' : formatNumber(m.outboxBacklog),
  ];
  console.log(`\nResults (${settings.durationSeconds} s each; latency of successes only)\n`);
  console.log(
    formatTable(
      ['phase', 'accepted/s', 'p50 ms', 'p99 ms', 'non-201', '÷ baseline mean', 'outbox backlog'],
      [...baselines.map((m) => row(m, true)), ...scenarios.map((m) => row(m))],
    ),
  );
  console.log(`(baseline mean ${formatNumber(baselineMean)} tx/s)`);
  console.log('\nWhere the time went (CPU: 100% = one core; pg: average connections per state)');
  for (const m of [...baselines, ...scenarios]) {
    console.log(`  ${m.label}\n    CPU ${m.cpu}\n    pg  ${m.db}`);
  }

  const [hot] = scenarios;
  const check = (name: string, value: string, pass: boolean) => [name, value, pass ? 'PASS' : 'MISS'];
  const targets = [
    check(
      `A accepted/s ≥ ${TARGETS.hotAcceptedPerSecond}`,
      formatNumber(hot.perSecond),
      hot.perSecond >= TARGETS.hotAcceptedPerSecond,
    ),
    ...scenarios.map((m) =>
      check(
        `${m.label.split(' ')[0]} p99 ≤ ${TARGETS.p99Ms} ms`,
        formatNumber(m.latency.p99, 1),
        m.latency.p99 <= TARGETS.p99Ms,
      ),
    ),
    check(
      `A ÷ baseline mean ≥ ${TARGETS.ratioToBaseline}`,
      formatNumber(ratio(hot), 2),
      ratio(hot) >= TARGETS.ratioToBaseline,
    ),
  ];
  console.log(`\nTargets\n\n${formatTable(['target', 'measured', 'result'], targets)}`);
}

main().catch((error: Error) => {
  console.error(`orders bench failed: ${error.message}`);
  process.exit(1);
});

async function withClient<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Messages waiting in each order queue of the bench vhost (undefined: the queue does not exist yet). */
async function queueDepths(rabbitmqUrl: string): Promise<Record<string, number | undefined>> {
  const connection = await amqp.connect(rabbitmqUrl);
  connection.on('error', () => undefined);
  try {
    const depths: Record<string, number | undefined> = {};
    for (const queue of BENCH_QUEUES) {
      // One channel per queue: a missing queue closes its channel with 404.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      depths[queue] = await channel
        .checkQueue(queue)
        .then((q) => q.messageCount)
        .catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    return depths;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
