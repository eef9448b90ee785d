import { LOCAL_DEFAULTS } from '@shop/config';
import { Queues } from '@shop/contracts';
import {
  assertBuilt,
  benchDatabaseUrl,
  benchRabbitmqUrl,
  createMailpitApiHandler,
  ensureBenchVhostExists,
  freePort,
  prepareEmptyBenchDatabase,
  purgeQueues,
  REPO_ROOT,
  SmtpSink,
  startServiceProcess,
  type ServiceProcess,
} from '@shop/testing';
import { connect } from 'amqplib';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { fireSpike } from '../src/fire-spike';
import type { FlashSaleOptions, FlashSaleResults } from '../src/flash-sale.results';
import { ProgressLine } from '../src/progress';
import { renderReportHtml } from '../src/report/report-html';
import { runFlashSale } from '../src/run-flash-sale';
import { summarise } from '../src/stats';
import { formatSummary, formatTable } from '../src/summary';

/**
 * npm run bench:flash-sale — the scenario (20,000 requests, 500 units, 200 connections) against
 * the built order-api and both workers on the bench database and vhost, after a small warm-up sale,
 * then three baselines measured in the same run on the same machine:
 *   - bare Nest + Fastify answering 409 (what a request costs before any of our code),
 *   - raw pg: one-statement transactions on one hot row, 16 connections (the API's pool size),
 *   - raw amqplib: persistent messages published with publisher confirms.
 * Prints the figures, the ratios and each target's PASS/MISS; writes results.json and report.html.
 */

const SCENARIO = { stock: 500, requests: 20_000, connections: 200, retryShare: 0.05 };
const TARGETS = { requestsPerSecond: 4_000, p99Ms: 100, acceptedPerSecond: 800, drainMs: 5_000 };
const SERVICES = ['order-api', 'notify-worker', 'report-worker'] as const;

const log = (line: string) => console.error(`[bench] ${line}`);

async function main(): Promise<void> {
  assertBuilt(SERVICES);
  const databaseUrl = benchDatabaseUrl(process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl);
  const rabbitmqUrl = benchRabbitmqUrl(process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl);
  await prepareEmptyBenchDatabase(databaseUrl, log);
  ensureBenchVhostExists(rabbitmqUrl, log);
  // Empty work and dead-letter queues, so the run's dead-letter check starts at 0.
  await purgeQueues(rabbitmqUrl, [
    Queues.orderNotify,
    Queues.orderReport,
    Queues.orderNotifyDeadLetter,
    Queues.orderReportDeadLetter,
  ]);

  const smtp = new SmtpSink();
  await smtp.start();
  const mailpit = createMailpitApiHandler(smtp);
  const mailApi = createServer((request, response) => {
    if (!mailpit(request, response)) response.writeHead(404).end();
  });
  const mailApiPort = await freePort();
  mailApi.listen(mailApiPort, '127.0.0.1');
  await once(mailApi, 'listening');

  const reportsDir = mkdtempSync(join(tmpdir(), 'bench-flash-sale-reports-'));
  const shared = { DATABASE_URL: databaseUrl, RABBITMQ_URL: rabbitmqUrl, REPORTS_DIR: reportsDir };
  const apiPort = await freePort();
  let services: ServiceProcess[] = [];
  let results: FlashSaleResults;
  try {
    log('starting order-api, notify-worker and report-worker (built)');
    services = await Promise.all([
      startServiceProcess('order-api', shared, { port: apiPort }),
      startServiceProcess('notify-worker', { ...shared, SMTP_URL: smtp.url }, { port: await freePort() }),
      startServiceProcess('report-worker', shared, { port: await freePort() }),
    ]);
    const options = (overrides: Partial<FlashSaleOptions>): FlashSaleOptions => ({
      ...SCENARIO,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      mailApiUrl: `http://127.0.0.1:${mailApiPort}`,
      amqpUrl: rabbitmqUrl,
      requestTimeoutMs: 10_000,
      drainTimeoutMs: 120_000,
      ...overrides,
    });
    // A flash sale hits a system that has been up for a while: warm the JIT, pools and prepared statements.
    log('warm-up sale: 1,000 requests, 50 units (not measured)');
    const warmUp = await runFlashSale(options({ stock: 50, requests: 1_000, connections: 50 }));
    if (warmUp.violations.length > 0)
      log(`warm-up had violations: ${warmUp.violations.map((v) => v.code).join(', ')}`);

    log(
      `flash sale: ${SCENARIO.requests} requests, ${SCENARIO.stock} units, ${SCENARIO.connections} connections`,
    );
    const progress = new ProgressLine();
    results = await runFlashSale(options({}), {
      onFiring: (p) => progress.firing(p),
      onDraining: (p) => progress.draining(p),
      onStep: () => progress.done(),
    });
    progress.done();
  } finally {
    await Promise.all(services.map((service) => service.stop()));
    mailApi.close();
    await smtp.stop();
  }

  log('baseline: bare Nest + Fastify');
  const bare = await measureBareNest();
  log('baseline: raw pg hot-row transactions');
  const hotRow = await measureHotRowTransactions(databaseUrl);
  log('baseline: raw amqplib confirmed publishes');
  const publishes = await measureConfirmedPublishes(rabbitmqUrl);

  const outDir = join(REPO_ROOT, 'var', 'bench', `flash-sale-${results.startedAt.replace(/[:.]/g, '-')}`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'results.json'),
    `${JSON.stringify({ results, baselines: { bare, hotRow, publishes } }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, 'report.html'), renderReportHtml(results));

  const f = results.firing;
  const n = (value: number, digits = 0) =>
    Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const rows = [
    [
      'requests/s handled',
      n(f.requestsPerSecond),
      `bare Nest ${n(bare.requestsPerSecond)}/s`,
      n(f.requestsPerSecond / bare.requestsPerSecond, 2),
      `≥ ${n(TARGETS.requestsPerSecond)}`,
      verdict(f.requestsPerSecond >= TARGETS.requestsPerSecond),
    ],
    [
      'latency p99 (ms)',
      n(f.latency.p99, 1),
      `bare Nest ${n(bare.p99Ms, 1)}`,
      n(f.latency.p99 / bare.p99Ms, 1),
      `≤ ${TARGETS.p99Ms}`,
      verdict(f.latency.p99 <= TARGETS.p99Ms),
    ],
    [
      'accepted orders/s',
      n(f.acceptedPerSecond),
      `raw pg hot row ${n(hotRow.transactionsPerSecond)} tx/s`,
      n(f.acceptedPerSecond / hotRow.transactionsPerSecond, 2),
      `≥ ${TARGETS.acceptedPerSecond}`,
      verdict(f.acceptedPerSecond >= TARGETS.acceptedPerSecond),
    ],
    [
      'drain after last acceptance (s)',
      n(results.drain.durationMs / 1000, 2),
      `confirmed publish ${n(publishes.messagesPerSecond)} msg/s`,
      '',
      `≤ ${TARGETS.drainMs / 1000}`,
      verdict(results.drain.completed && results.drain.durationMs <= TARGETS.drainMs),
    ],
    ['violations', String(results.violations.length), '', '', '0', verdict(results.violations.length === 0)],
  ];
  console.log(`\n${formatSummary(results)}\n`);
  console.log(formatTable(['', 'flash sale', 'baseline (same run)', 'ratio', 'target', ''], rows));
  console.log(`\nresults: ${join(outDir, 'results.json')}\nreport:  ${join(outDir, 'report.html')}`);
}

/** Bare Nest + Fastify in its own process, driven by the same client and spike as the flash sale. */
async function measureBareNest(): Promise<{ requestsPerSecond: number; p99Ms: number }> {
  const port = await freePort();
  const child = spawn(
    join(REPO_ROOT, 'node_modules/.bin/tsx'),
    [join(__dirname, 'bare-nest-app.ts'), String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`bare Nest app exited with ${code}`)));
    });
    const spike = () =>
      fireSpike({
        apiUrl: `http://127.0.0.1:${port}`,
        sku: 'BARE-1',
        runId: 'bare',
        requests: SCENARIO.requests,
        connections: SCENARIO.connections,
        retryShare: 0,
        requestTimeoutMs: 10_000,
      });
    await spike(); // warm-up, as for the system
    const { outcomes, durationMs } = await spike();
    return {
      requestsPerSecond: (outcomes.length * 1000) / durationMs,
      p99Ms: summarise(outcomes.map((o) => o.latencyMs)).p99,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/** One-statement transactions on one row from 200 callers over 16 connections, for 5 s. */
async function measureHotRowTransactions(databaseUrl: string): Promise<{ transactionsPerSecond: number }> {
  const pool = new Pool({ connectionString: databaseUrl, max: 16, application_name: 'bench-hot-row' });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, stock bigint NOT NULL)');
    await pool.query(
      'INSERT INTO bench_hot_row VALUES (1, 1000000000) ON CONFLICT (id) DO UPDATE SET stock = 1000000000',
    );
    const deadline = performance.now() + 5_000;
    let committed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SCENARIO.connections }, async () => {
        while (performance.now() < deadline) {
          await pool.query({
            name: 'bench-hot-row',
            text: 'UPDATE bench_hot_row SET stock = stock - 1 WHERE id = 1 AND stock > 0',
          });
          committed++;
        }
      }),
    );
    return { transactionsPerSecond: (committed * 1000) / (performance.now() - started) };
  } finally {
    await pool.query('DROP TABLE IF EXISTS bench_hot_row').catch(() => undefined);
    await pool.end();
  }
}

/** Persistent ~1 KB messages on a confirm channel, up to 500 unconfirmed at a time. */
async function measureConfirmedPublishes(rabbitmqUrl: string): Promise<{ messagesPerSecond: number }> {
  const connection = await connect(rabbitmqUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    const body = Buffer.alloc(1_000, 'x');
    const total = 20_000;
    const started = performance.now();
    for (let sent = 0; sent < total; sent++) {
      channel.publish('', queue, body, { persistent: true, contentType: 'application/json' });
      if (sent % 500 === 499) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
    const messagesPerSecond = (total * 1000) / (performance.now() - started);
    await channel.close();
    return { messagesPerSecond };
  } finally {
    await connection.close();
  }
}

main().catch((error: Error) => {
  console.error(`[bench] failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
