/**
 * Workers benchmark: how fast ONE notify-worker sends emails and ONE report-worker writes PDFs at
 * prefetch 1, 10 and 50, against a raw amqplib consume + ack baseline measured in the same run, and
 * the end-to-end latency of the whole pipeline at a steady 50 orders/s.
 *
 *   npm run build && npm run bench:workers
 *
 * It is a benchmark, not a test: it prints figures and PASS/MISS against the targets and exits 0
 * unless something broke. This machine is shared (2 cores): run it more than once, and read the CPU
 * lines, which show what else competed during each run.
 *
 * Environment: database `orders_bench` (created, migrated, emptied between runs) on the server of
 * DATABASE_URL, vhost `shop_bench` on the broker of RABBITMQ_URL (worker queues with their .dlq and
 * .retry.* queues, and the log queues, purged before each run and at the end), an in-process SMTP
 * sink, temporary REPORTS_DIRs. Knobs: BENCH_EMAILS (2000), BENCH_PDFS (1000), BENCH_PREFETCHES (1,10,50),
 * BENCH_E2E_RATE (50), BENCH_E2E_SECONDS (20), BENCH_E2E_PREFETCH (unset: the workers' default),
 * BENCH_PHASES (notify,report,probes,e2e).
 *
 * Throughput runs pre-load the queue and then start the worker, so the figure is the worker's and not
 * the publisher's: messages/s from its first recorded result to its last (each row is written just
 * before the message's ack), then the queues are checked empty.
 */
import {
  databaseUrlVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  positiveIntVariable,
  rabbitmqUrlVariable,
} from '@shop/config';
import { Queues, RoutingKeys, WorkQueues } from '@shop/contracts';
import { ensureVhostExists, SmtpSink } from '@shop/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { LatencySummary as Percentiles } from '../src/flash-sale.results';
import { formatNumber, formatTable } from '../src/summary';
import { describeCpu } from '../src/support/cpu-timeline';
import { ServiceLauncher } from './support/service-launcher';
import {
  assertBuilt,
  BENCH_DATABASE,
  BENCH_VHOST,
  benchDatabaseUrl,
  benchRabbitmqUrl,
  buildStamp,
  warnIfBuildIsStale,
  type ServiceName,
} from './support/tool-environment';
import {
  probeDatabaseRoundTrip,
  probeDurableWrite,
  probePdfRender,
  probeSmtp,
  type CostProbe,
} from './workers/cost-probes';
import { measureEndToEnd, type EndToEndResult } from './workers/end-to-end-latency.phase';
import {
  measureThroughput,
  SET_UP,
  type ThroughputRun,
  type WorkerUnderTest,
} from './workers/worker-throughput.phase';
import {
  BenchBroker,
  emptyTables,
  LOG_QUEUES,
  prepareBenchDatabase,
  queuesOf,
} from './workers/workers-fixtures';

const TARGETS = { emailsPerSecond: 500, pdfsPerSecond: 250, emailP99Ms: 100, pdfP99Ms: 150 };
/** The services' default PREFETCH and SMTP_POOL_SIZE (their config), for the comparison lines. */
const DEFAULT_PREFETCH = 10;
const DEFAULT_SMTP_POOL = 5;
/** A lead under this is within the run-to-run noise of this shared machine. */
const NOISE = 0.1;
const PHASES = ['notify', 'report', 'probes', 'e2e'] as const;

const settings = (() => {
  const commaList = z.string().transform((value) => value.split(',').map((part) => part.trim()));
  const env = loadConfig({
    DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
    RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
    BENCH_EMAILS: positiveIntVariable(2_000, 100_000),
    BENCH_PDFS: positiveIntVariable(1_000, 100_000),
    BENCH_PREFETCHES: commaList
      .transform((parts) => parts.map(Number))
      .pipe(z.array(z.number().int().min(1).max(1_000)).min(1))
      .default([1, 10, 50]),
    BENCH_E2E_RATE: positiveIntVariable(50, 1_000),
    BENCH_E2E_SECONDS: positiveIntVariable(20, 600),
    BENCH_E2E_PREFETCH: z.coerce.number().int().min(1).max(1_000).optional(),
    BENCH_PHASES: commaList.pipe(z.array(z.enum(PHASES)).min(1)).default([...PHASES]),
  });
  return {
    databaseUrl: benchDatabaseUrl(env.DATABASE_URL),
    rabbitmqUrl: benchRabbitmqUrl(env.RABBITMQ_URL),
    emails: env.BENCH_EMAILS,
    pdfs: env.BENCH_PDFS,
    prefetches: env.BENCH_PREFETCHES,
    e2e: {
      rate: env.BENCH_E2E_RATE,
      seconds: env.BENCH_E2E_SECONDS,
      warmUpSeconds: 5,
      prefetch: env.BENCH_E2E_PREFETCH,
    },
    phases: new Set(env.BENCH_PHASES),
  };
})();

const log = (line: string) => console.log(`  ${line}`);

interface Results {
  runs: ThroughputRun[];
  probes: CostProbe[];
  e2e?: EndToEndResult;
}

async function main(): Promise<void> {
  const services: ServiceName[] = [
    'notify-worker',
    'report-worker',
    ...(settings.phases.has('e2e') ? (['order-api'] as const) : []),
  ];
  assertBuilt(services);
  printPreamble(services);

  const builtAt = buildStamp(services);
  const pool = await prepareBenchDatabase(settings.databaseUrl, log);
  ensureVhostExists(settings.rabbitmqUrl, BENCH_VHOST, log);
  const broker = await BenchBroker.connect(settings.rabbitmqUrl);
  const sink = new SmtpSink({ maxMessages: Math.max(5_000, settings.emails * 2) });
  await sink.start();
  const scratch = await mkdtemp(join(tmpdir(), 'workers-bench-'));
  const processes = new ServiceLauncher();
  const results: Results = { runs: [], probes: [] };

  let cleaned: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      await processes.stopAll();
      await sink.stop();
      // order_status too: the workers announce every email and PDF, and no order-api consumes them here.
      const purged = await broker.purge([...WorkQueues.flatMap(queuesOf), ...LOG_QUEUES]);
      await emptyTables(pool).catch(() => undefined);
      await Promise.all([broker.close(), pool.end(), rm(scratch, { recursive: true, force: true })]);
      const left = Object.entries(purged).filter(([, n]) => n > 0);
      console.log(
        `\nstopped every process the bench started; purged the worker and log queues of ${BENCH_VHOST}` +
          `${left.length ? ` (${left.map(([q, n]) => `${q} ${n}`).join(', ')})` : ''}; emptied ${BENCH_DATABASE}`,
      );
    })());
  const onInterrupt = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onInterrupt);

  try {
    await broker.declareTopology();
    const context = {
      pool,
      broker,
      databaseUrl: settings.databaseUrl,
      rabbitmqUrl: settings.rabbitmqUrl,
      processes,
      log,
    };
    const workers = workersUnderTest(pool, sink, scratch);
    for (const worker of workers) {
      if (!settings.phases.has(worker.service === 'notify-worker' ? 'notify' : 'report')) continue;
      console.log(
        `\n${worker.service}: ${worker.count} messages per run, prefetch ${settings.prefetches.join(', ')}`,
      );
      for (const prefetch of settings.prefetches)
        results.runs.push(await measureThroughput(context, worker, prefetch));
    }
    if (settings.phases.has('probes')) {
      console.log('\ncost of each step alone');
      results.probes = await runProbes(pool, sink, scratch);
    }
    if (settings.phases.has('e2e')) {
      const { rate, seconds, warmUpSeconds } = settings.e2e;
      console.log(
        `\nend to end: ${rate} orders/s for ${seconds} s after a ${warmUpSeconds} s warm-up at that rate (drained first); prefetch ${settings.e2e.prefetch ?? 'default'}`,
      );
      const reportsDir = await mkdtemp(join(scratch, 'e2e-reports-'));
      results.e2e = await measureEndToEnd({ ...context, sink, reportsDir }, settings.e2e);
    }
  } catch (error) {
    console.error(`\nworkers bench broke: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    printResults(results);
    if (buildStamp(services) !== builtAt) {
      console.warn(
        '\nwarning: the services were rebuilt while the bench ran (an integration run builds them): ' +
          'the figures may mix two builds; run it again.',
      );
    }
    await cleanUp();
  }
}

/** Size of the PDFs the report-worker wrote (the durable-write probe writes files this size). */
let averagePdfBytes = 13 * 1024;

function workersUnderTest(pool: Pool, sink: SmtpSink, scratch: string): WorkerUnderTest[] {
  let reportsDir = '';
  return [
    {
      service: 'notify-worker',
      queue: Queues.orderNotify,
      routingKey: RoutingKeys.orderNotify,
      unit: 'emails',
      count: settings.emails,
      env: async () => ({ SMTP_URL: sink.url }),
      recordedAtSql: `SELECT extract(epoch FROM sent_at)::float8 * 1000 AS t FROM order_notifications WHERE status = 'sent'`,
      afterRun: async () => {
        if (sink.receivedCount !== settings.emails) {
          throw new Error(`the sink received ${sink.receivedCount} emails for ${settings.emails} orders`);
        }
        sink.clear();
      },
    },
    {
      service: 'report-worker',
      queue: Queues.orderReport,
      routingKey: RoutingKeys.orderReport,
      unit: 'PDFs',
      count: settings.pdfs,
      env: async () => ({ REPORTS_DIR: (reportsDir = await mkdtemp(join(scratch, 'reports-'))) }),
      recordedAtSql: 'SELECT extract(epoch FROM created_at)::float8 * 1000 AS t FROM order_reports',
      afterRun: async () => {
        const { rows } = await pool.query<{ bytes: number }>(
          'SELECT avg(bytes)::float8 AS bytes FROM order_reports',
        );
        averagePdfBytes = rows[0].bytes ?? averagePdfBytes;
        await rm(reportsDir, { recursive: true, force: true });
      },
    },
  ];
}

async function runProbes(pool: Pool, sink: SmtpSink, scratch: string): Promise<CostProbe[]> {
  await emptyTables(pool);
  const probes = [
    await probeDatabaseRoundTrip(settings.databaseUrl),
    await probeSmtp(sink, DEFAULT_SMTP_POOL),
    await probeDurableWrite(scratch, Math.round(averagePdfBytes)),
  ];
  const render = await probePdfRender().catch((error: Error) => {
    log(`PDF render probe skipped: ${error.message}`);
    return undefined;
  });
  if (render) probes.push(render);
  for (const probe of probes) log(`${probe.step}: ${probe.sequentialMs.toFixed(2)} ms`);
  return probes;
}

function printPreamble(services: ServiceName[]): void {
  warnIfBuildIsStale(services);
  console.log(
    `workers bench: ${cpus().length} cores, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}; database ${BENCH_DATABASE}, vhost ${BENCH_VHOST}; ` +
      `${settings.emails} emails and ${settings.pdfs} PDFs per run at prefetch ${settings.prefetches.join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Report

function printResults({ runs, probes, e2e }: Results): void {
  const rate = (value: number) => formatNumber(value);
  if (runs.length > 0) {
    console.log('\nThroughput of one worker process (queue pre-loaded; first recorded result → last)\n');
    console.log(
      formatTable(
        [
          'worker',
          'prefetch',
          'messages',
          'worker /s',
          'raw ack /s',
          '÷ raw',
          'added ms/msg',
          'worker CPU ms/msg',
          'CPU-bound max /s',
          'db tx/msg',
        ],
        runs.map((run) => [
          run.service,
          String(run.prefetch),
          formatNumber(run.count),
          `${rate(run.perSecond)} ${run.unit}`,
          rate(run.rawPerSecond),
          formatNumber(run.perSecond / run.rawPerSecond, 3),
          formatNumber(1000 / run.perSecond - 1000 / run.rawPerSecond, 2),
          formatNumber(run.workerCpuMsPerMessage, 2),
          rate(1000 / run.workerCpuMsPerMessage),
          formatNumber(run.dbTransactionsPerMessage, 2),
        ]),
      ),
    );
    console.log(
      '(added ms/msg = 1/worker − 1/raw: the wall time the worker adds per message at that prefetch; ' +
        'CPU-bound max = 1000 / worker CPU ms per message, the rate at one full core)',
    );
    console.log(
      '\nWhere the time went (CPU: 100% = one core, in the measured window; bench = this process, which ' +
        'hosts the SMTP sink; other:<command> = processes outside the set-up; pg: worker connections by state)',
    );
    for (const run of runs) {
      const perMessage = SET_UP.map((group) => `${group} ${formatNumber(run.cpuMsPerMessage[group], 2)}`);
      const setUp = SET_UP.reduce((sum, group) => sum + run.cpuMsPerMessage[group], 0);
      console.log(
        `  ${run.service} prefetch ${run.prefetch}: ${run.seconds.toFixed(1)} s; ` +
          `${formatNumber(run.steadyPerSecond)} ${run.unit}/s without the first 10%; ` +
          `first result ${run.firstResultSeconds.toFixed(1)} s after spawn`,
      );
      console.log(`    CPU ${describeCpu(run.cpu)}`);
      console.log(
        `    CPU ms per message: ${perMessage.join(', ')} = ${formatNumber(setUp, 2)} ⇒ at most ` +
          `${formatNumber((cpus().length * 1000) / setUp)}/s with all ${cpus().length} cores for the set-up`,
      );
      console.log(
        `    pg  ${run.dbActivity}; log records published to the broker: ${formatNumber(run.logRecordsPerMessage, 2)} per message`,
      );
    }
    console.log('\nBest prefetch');
    for (const service of new Set(runs.map((run) => run.service)))
      console.log(`  ${bestPrefetch(runs.filter((r) => r.service === service))}`);
  }

  if (probes.length > 0) {
    console.log('\nCost of each step alone (same machine, same run)\n');
    console.log(
      formatTable(
        ['step', 'ms each', 'max rate /s', 'note'],
        probes.map((p) => [
          p.step,
          formatNumber(p.sequentialMs, 2),
          p.concurrentPerSecond === undefined ? '' : rate(p.concurrentPerSecond),
          p.note,
        ]),
      ),
    );
  }

  if (e2e) {
    const row = (label: string, p: Percentiles, extra = '') => [
      label,
      formatNumber(p.count),
      formatNumber(p.p50, 1),
      formatNumber(p.p90, 1),
      formatNumber(p.p99, 1),
      formatNumber(p.max, 1),
      extra,
    ];
    console.log(
      `\nEnd to end at ${e2e.options.rate} orders/s for ${e2e.options.seconds} s: ${formatNumber(e2e.sent)} sent, ` +
        `${formatNumber(e2e.acceptedPerSecond, 1)} accepted/s (HTTP ${e2e.statuses})\n`,
    );
    console.log(
      formatTable(
        ['interval', 'orders', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'missing'],
        [
          row('POST /orders → 201', e2e.http),
          row('201 → email accepted by the sink', e2e.toEmail, String(e2e.missingEmails)),
          row('201 → PDF renamed into place', e2e.toPdf, String(e2e.missingPdfs)),
          ...Object.entries(e2e.relay).map(([key, p]) => row(`commit → outbox marked published (${key})`, p)),
        ],
      ),
    );
    const slices = e2e.slices.map(
      (s) => `${s.fromSecond}s ${formatNumber(s.toEmailP50)}/${formatNumber(s.toPdfP50)}`,
    );
    console.log(`  p50 ms to email/PDF by 5-second slice of sending: ${slices.join(', ')}`);
    console.log(`  CPU ${describeCpu(e2e.cpu)}`);
  }

  console.log('\nTargets\n');
  const best = (service: string) =>
    runs.filter((r) => r.service === service).sort((a, b) => b.perSecond - a.perSecond)[0] as
      ThroughputRun | undefined;
  const check = (
    target: string,
    measured: number | undefined,
    pass: (value: number) => boolean,
    digits = 0,
  ) => [
    target,
    measured === undefined ? 'not run' : formatNumber(measured, digits),
    measured === undefined ? '' : pass(measured) ? 'PASS' : 'MISS',
  ];
  const email = best('notify-worker');
  const pdf = best('report-worker');
  const complete = (p: Percentiles | undefined, missing: number | undefined) =>
    p && !missing ? p.p99 : undefined;
  console.log(
    formatTable(
      ['target', 'measured', 'result'],
      [
        check(
          `one notify-worker ≥ ${TARGETS.emailsPerSecond} emails/s (best prefetch${email ? ` ${email.prefetch}` : ''})`,
          email?.perSecond,
          (v) => v >= TARGETS.emailsPerSecond,
        ),
        check(
          `one report-worker ≥ ${TARGETS.pdfsPerSecond} PDFs/s (best prefetch${pdf ? ` ${pdf.prefetch}` : ''})`,
          pdf?.perSecond,
          (v) => v >= TARGETS.pdfsPerSecond,
        ),
        check(
          `e2e 201 → email p99 ≤ ${TARGETS.emailP99Ms} ms`,
          complete(e2e?.toEmail, e2e?.missingEmails),
          (v) => v <= TARGETS.emailP99Ms,
          1,
        ),
        check(
          `e2e 201 → PDF p99 ≤ ${TARGETS.pdfP99Ms} ms`,
          complete(e2e?.toPdf, e2e?.missingPdfs),
          (v) => v <= TARGETS.pdfP99Ms,
          1,
        ),
      ],
    ),
  );
  if (e2e && (e2e.missingEmails || e2e.missingPdfs)) {
    console.log(
      `(e2e incomplete: ${e2e.missingEmails} emails and ${e2e.missingPdfs} PDFs missing after 60 s)`,
    );
  }
}

/** `notify-worker: best prefetch 50 (612 emails/s): +12% over prefetch 10 (the default), +240% over 1`. */
function bestPrefetch(runs: ThroughputRun[]): string {
  const sorted = [...runs].sort((a, b) => b.perSecond - a.perSecond);
  const [best, runnerUp] = sorted;
  const versus = sorted
    .slice(1)
    .sort((a, b) => a.prefetch - b.prefetch)
    .map(
      (run) =>
        `+${formatNumber((best.perSecond / run.perSecond - 1) * 100)}% over prefetch ${run.prefetch}` +
        `${run.prefetch === DEFAULT_PREFETCH ? ' (the default)' : ''}`,
    );
  const tie =
    runnerUp && best.perSecond / runnerUp.perSecond - 1 < NOISE
      ? `; its lead over prefetch ${runnerUp.prefetch} is under ${NOISE * 100}%, within this machine's noise`
      : '';
  const isDefault = best.prefetch === DEFAULT_PREFETCH ? 'the default, ' : '';
  return `${best.service}: best prefetch ${best.prefetch} (${isDefault}${formatNumber(best.perSecond)} ${best.unit}/s)${versus.length ? `: ${versus.join(', ')}` : ''}${tie}`;
}

main().catch((error: Error) => {
  console.error(`workers bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
