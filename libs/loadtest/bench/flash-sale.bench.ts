import { LOCAL_DEFAULTS, serviceDatabaseEnv } from '@shop/config';
import { CUSTOMER_TOKEN, Queues, queuesOf, WorkQueues } from '@shop/contracts';
import { startMailpitSinkProcess, type MailpitSinkProcess } from '@shop/mail-sink';
import {
  ensureVhostExists,
  freePort,
  purgeQueues,
  testRabbitmqUrlAs,
  type ServiceProcess,
} from '@shop/testing';
import { connect } from 'amqplib';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { fireSpike } from '../src/fire-spike';
import type { FlashSaleOptions, FlashSaleResults } from '../src/flash-sale.results';
import { ProgressLine } from '../src/progress';
import { renderReportHtml } from '../src/report/report-html';
import { runFlashSale, type FlashSalePhase } from '../src/run-flash-sale';
import { summarise } from '../src/stats';
import { formatNumber, formatSummary, formatTable } from '../src/summary';
import {
  costOf,
  formatCostTable,
  systemMsPerUnit,
  type CostColumn,
  type CostRow,
} from '../src/support/cpu-cost-table';
import { CpuTimeline, type CpuWindow } from '../src/support/cpu-timeline';
import { LocalCluster, LocalLoadBalancer } from '@shop/local-cluster';
import { clusterReplicas, prepareClusterVhost, type ReplicaPlan } from './support/cluster-deployment';
import { ServiceLauncher } from './support/service-launcher';
import {
  assertBuilt,
  assertToolDatabase,
  BENCH_VHOST,
  benchDatabaseUrl,
  benchRabbitmqUrl,
  prepareToolDatabase,
  REPO_ROOT,
  TOOL_OPS_TOKEN,
  warnIfBuildIsStale,
  type ServiceName,
} from './support/tool-environment';

/**
 * npm run bench:flash-sale — the built order-api, both workers, the payment service and the
 * log-aggregator on the bench database and vhost, with a mail sink of their own, through four
 * scenarios after a small warm-up:
 *   - all accepted: one hot product with ample stock (CPU per accepted order, accepted/s), nobody pays,
 *   - the same with every customer paying (CPU per paid order, beside the first: where the +ms go),
 *   - a stampede on a sold-out product (CPU per refused request),
 *   - the issue's sale: 20,000 requests, 500 units, 200 connections (rate, latency, pipeline);
 * then the same-run baselines with nothing else running: pgbench one-row UPDATE on a hot row (16
 * clients), bare Nest + Fastify under the same load generator, raw amqplib confirmed publishes.
 * CPU per process comes from /proc for the window firing → drained, peak RSS from samples every
 * 200 ms. Prints the per-process cost table, the baselines and each target's PASS/MISS; writes
 * results.json and report.html.
 */

/** identity mints the sales' customer tokens; order-api checks them against its JWKS. */
const SERVICES: ServiceName[] = [
  'identity',
  'order-api',
  'notify-worker',
  'report-worker',
  'log-aggregator',
  'payment',
];
const CONNECTIONS = 200;
/**
 * `paid`: every customer pays (with the card that succeeds) as their 201 arrives, and the run waits
 * until every order is completed (paid, emailed, reported); otherwise nobody pays and an order is done
 * once emailed and reported, its reservation running on (order-api's default 15-minute window).
 */
const SCENARIOS = [
  { key: 'accepted', title: 'all accepted', unit: 'order', stock: 20_000, requests: 4_000, paid: false },
  {
    key: 'accepted-paid',
    title: 'all accepted, every order paid',
    unit: 'paid order',
    stock: 20_000,
    requests: 4_000,
    paid: true,
  },
  { key: 'stampede', title: 'sold-out stampede', unit: 'refusal', stock: 0, requests: 10_000, paid: false },
  // The issue's sale in both admissions, signed-in customers, one unit each.
  {
    key: 'sale',
    title: '20,000 / 500 / 200 direct',
    unit: 'request',
    stock: 500,
    requests: 20_000,
    paid: false,
    admission: 'direct',
  },
  {
    key: 'sale-queued',
    title: '20,000 / 500 / 200 queued',
    unit: 'request',
    stock: 500,
    requests: 20_000,
    paid: false,
    admission: 'queued',
  },
] as const;
type ScenarioKey = (typeof SCENARIOS)[number]['key'];
const TARGETS = {
  cpuMsPerAcceptedOrder: 8,
  /** The issue's budget for the order lifecycle: a paid order within +3 ms of an order nobody pays. */
  paymentExtraMsPerPaidOrder: 3,
  acceptedToPgbench: 0.5,
  cpuMsPerRefusal: 0.3,
  requestsToBareNest: 0.5,
  p99Ms: 100,
  drainMs: 2_000,
  endToEndP99Ms: 1_000,
  peakRssMb: 200,
  loadGeneratorMsPerRequest: 0.15,
};
const LOAD_GENERATOR = 'load generator';
const MAIL_SINK = 'mail sink';
const HAPROXY = 'haproxy';
/** The cost table's rows: each process of the deployment, then the shared ones. */
const costRowsOf = (processes: string[]): CostRow[] => [
  ...processes.map((key) => ({ key, system: true })),
  { key: MAIL_SINK, system: true },
  { key: 'postgres', label: 'postgres (all processes)', system: true },
  { key: 'rabbitmq', label: 'rabbitmq (beam.smp + children)', system: true },
  { key: `${LOAD_GENERATOR}: firing`, system: false },
  { key: `${LOAD_GENERATOR}: checks`, system: false },
];

const log = (line: string) => console.error(`[bench] ${line}`);

interface ScenarioRun {
  key: ScenarioKey;
  results: FlashSaleResults;
  column: CostColumn;
  /** The whole system's window, firing → drained. */
  window: CpuWindow;
  loadGeneratorMsPerRequest: { firing: number; checks: number };
}

interface Baselines {
  pgbench: { transactionsPerSecond: number; postgresMsPerTx: number; pgbenchMsPerTx: number };
  bareNest: {
    requestsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    appMsPerRequest: number;
    loadGeneratorMsPerRequest: number;
  };
  publishes: ConfirmedPublishes;
  /** The same into a durable quorum queue (on one node here; replicated on three on the cluster). */
  quorumPublishes: ConfirmedPublishes;
}

interface ConfirmedPublishes {
  messagesPerSecond: number;
  rabbitmqMsPerMessage: number;
  publisherMsPerMessage: number;
  /** One message published and its confirm awaited, one at a time. */
  confirmLatencyMs: { p50: number; p99: number };
}

async function main(): Promise<void> {
  const unknown = process.argv.slice(2).filter((arg) => arg !== '--cluster');
  if (unknown.length > 0)
    throw new Error(`unknown argument ${unknown.join(' ')}; usage: npm run bench:flash-sale -- [--cluster]`);
  // --cluster: the same scenarios again on the local three-node cluster with replicas, after the single node.
  const onCluster = process.argv.includes('--cluster');
  assertBuilt(SERVICES);
  warnIfBuildIsStale(SERVICES);
  const databaseUrl = benchDatabaseUrl(process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl);
  const rabbitmqUrl = benchRabbitmqUrl(process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl);
  log(
    `${cpus().length} cores, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}; database ${new URL(databaseUrl).pathname.slice(1)}, vhost ${BENCH_VHOST}`,
  );
  await prepareToolDatabase(databaseUrl, log);
  ensureVhostExists(rabbitmqUrl, BENCH_VHOST, log);
  const cluster = onCluster ? new LocalCluster({ log }) : undefined;
  const clusterWasUp = cluster ? (await cluster.status()).every((s) => s.appRunning) : false;
  if (clusterWasUp)
    log("the local cluster was up already: its idle nodes count in the single-node run's rabbitmq figure");

  const singleNode: Deployment = {
    label: 'single node',
    rabbitmqUrl,
    // Each as its own RabbitMQ user: order-api accepts a status event only from the worker that owns it.
    replicas: SERVICES.map((service) => ({
      name: service,
      service,
      env: { RABBITMQ_URL: testRabbitmqUrlAs(service, rabbitmqUrl) },
    })),
  };
  const single = await runDeployment(singleNode, databaseUrl);
  let scaledOut: DeploymentRun | undefined;
  let clusterPublishes: Baselines['quorumPublishes'] | undefined;
  if (cluster) {
    if (!clusterWasUp) {
      log('bringing the local RabbitMQ cluster up (taken down again at the end)');
      await cluster.up();
    }
    try {
      const clusterUrl = await prepareClusterVhost(cluster, BENCH_VHOST, log);
      scaledOut = await runDeployment(
        {
          label: 'cluster',
          rabbitmqUrl: clusterUrl,
          replicas: clusterReplicas(cluster, BENCH_VHOST, SERVICES),
          balanced: true,
        },
        databaseUrl,
      );
      clusterPublishes = await measureConfirmedPublishes(clusterUrl.split(',')[0], { quorum: true });
    } finally {
      if (!clusterWasUp) await cluster.down();
    }
  }
  const runs = single.runs;

  log('baselines, with nothing else of the bench running');
  const baselines: Baselines = {
    pgbench: await measurePgbench(databaseUrl),
    bareNest: await measureBareNest(),
    publishes: await measureConfirmedPublishes(rabbitmqUrl),
    quorumPublishes: await measureConfirmedPublishes(rabbitmqUrl, { quorum: true }),
  };

  const sale = runs.find((run) => run.key === 'sale')!.results;
  const saleQueued = runs.find((run) => run.key === 'sale-queued')!.results;
  const outDir = join(REPO_ROOT, 'var', 'bench', `flash-sale-${sale.startedAt.replace(/[:.]/g, '-')}`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'results.json'),
    `${JSON.stringify(
      {
        scenarios: Object.fromEntries(runs.map((run) => [run.key, { ...run, results: undefined }])),
        ...(scaledOut
          ? {
              cluster: {
                scenarios: Object.fromEntries(
                  scaledOut.runs.map((run) => [run.key, { ...run, results: undefined }]),
                ),
                quorumPublishes: clusterPublishes,
                sale: scaledOut.runs.find((run) => run.key === 'sale')!.results,
              },
            }
          : {}),
        baselines,
        sale,
        saleQueued,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(outDir, 'report.html'), renderReportHtml(sale));
  writeFileSync(join(outDir, 'report-queued.html'), renderReportHtml(saleQueued));

  printResults(runs, baselines, single.costRows);
  if (scaledOut && clusterPublishes) printClusterComparison(single, scaledOut, baselines, clusterPublishes);
  console.log(
    `\nresults: ${join(outDir, 'results.json')}\nreports: ${join(outDir, 'report.html')} (direct), ${join(outDir, 'report-queued.html')} (queued)`,
  );
}

/** What runs the scenarios: the single-node services, or replicas on the cluster behind HAProxy. */
interface Deployment {
  label: 'single node' | 'cluster';
  /** For purges and the load test's queue checks. */
  rabbitmqUrl: string;
  replicas: ReplicaPlan[];
  /** HAProxy in front of the order-api replicas. */
  balanced?: boolean;
}

interface DeploymentRun {
  deployment: Deployment;
  runs: ScenarioRun[];
  costRows: CostRow[];
}

/** Starts the deployment and the mail sink, warms up, runs every scenario, stops it all again. */
async function runDeployment(deployment: Deployment, databaseUrl: string): Promise<DeploymentRun> {
  const { rabbitmqUrl } = deployment;
  // Empty work, dead-letter and log queues, so the run's dead-letter check starts at 0.
  // Every work queue with its retry and dead-letter queues: order_status too, which other benches
  // on this vhost leave status events in (for orders this run's empty database no longer has).
  const queues = [...WorkQueues.flatMap(queuesOf), Queues.logArchive, Queues.logAlerts];
  await purgeQueues(rabbitmqUrl, queues);

  const scratch = mkdtempSync(join(tmpdir(), 'bench-flash-sale-'));
  const launcher = new ServiceLauncher();
  let mail: MailpitSinkProcess | undefined;
  let balancer: LocalLoadBalancer | undefined;
  const runs: ScenarioRun[] = [];
  const cleanUp = async () => {
    await balancer?.stop();
    await launcher.stopAll();
    await mail?.stop();
    await purgeQueues(rabbitmqUrl, queues).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  };
  const onInterrupt = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onInterrupt);
  try {
    // Out of this process, so its CPU and memory show in the table apart from the load generator's; a
    // mailbox (one copy per Message-ID) big enough for every email of the sale.
    mail = await startMailpitSinkProcess({ maxMessages: 1_000_000, ignoreDuplicateMessageIds: true });
    const env = {
      REPORTS_DIR: join(scratch, 'reports'),
      LOG_DIR: join(scratch, 'logs'),
      SMTP_URL: mail.smtpUrl,
    };
    log(
      `${deployment.label}: starting ${deployment.replicas.map((r) => r.name).join(', ')} (built)` +
        `${deployment.balanced ? ', HAProxy' : ''} and the mail sink (pid ${mail.pid})`,
    );
    // identity first: order-api checks the customers' tokens against its JWKS.
    const launch = ({ service, env: own }: ReplicaPlan, extra: Record<string, string> = {}) =>
      launcher.start(service, { ...env, ...serviceDatabaseEnv(service, databaseUrl), ...own, ...extra });
    const identities = deployment.replicas.filter((r) => r.service === 'identity');
    const identity = await Promise.all(identities.map((replica) => launch(replica)));
    const jwks = { IDENTITY_JWKS_URL: `${identity[0].baseUrl}${CUSTOMER_TOKEN.jwksPath}` };
    const others = await Promise.all(
      deployment.replicas.filter((r) => r.service !== 'identity').map((replica) => launch(replica, jwks)),
    );
    const started = [...identity, ...others];
    const names = [...identities, ...deployment.replicas.filter((r) => r.service !== 'identity')].map(
      (replica) => replica.name,
    );
    const apis = started.filter((service) => service.name === 'order-api');
    if (deployment.balanced) {
      balancer = await LocalLoadBalancer.start({
        port: await freePort(),
        backends: apis.map((api, i) => ({
          name: `order-api-${i + 1}`,
          port: Number(new URL(api.baseUrl).port),
        })),
        dir: join(scratch, 'haproxy'),
      });
    }
    const timeline = new CpuTimeline({
      ...Object.fromEntries(started.map((service, i) => [names[i], service.pid])),
      ...(balancer?.pid ? { [HAPROXY]: balancer.pid } : {}),
      [MAIL_SINK]: mail.pid,
      [LOAD_GENERATOR]: process.pid,
    });
    timeline.start(200);
    const options = (scenario: Partial<FlashSaleOptions> & { paid: boolean }): FlashSaleOptions => ({
      stock: 0,
      requests: 0,
      connections: CONNECTIONS,
      retryShare: 0.05,
      apiUrl: balancer?.url ?? apis[0].baseUrl,
      mailApiUrl: mail!.apiUrl,
      amqpUrl: rabbitmqUrl.split(',')[0],
      requestTimeoutMs: 10_000,
      drainTimeoutMs: 180_000,
      opsToken: TOOL_OPS_TOKEN,
      identityUrl: identity[0].baseUrl,
      auditDatabaseUrl: databaseUrl,
      payShare: scenario.paid ? 1 : 0,
      latePayShare: 0,
      cancelShare: 0,
      resell: false,
      awaitExpiry: scenario.paid,
      ...scenario,
    });
    // A flash sale hits a system that has been up for a while: warm the JIT, pools and prepared statements
    // (payment's too: the warm-up's customers pay).
    log(`${deployment.label}: warm-up sale: 1,000 requests, 50 units, every order paid (not measured)`);
    const warmUp = await runFlashSale(options({ stock: 50, requests: 1_000, connections: 50, paid: true }));
    if (warmUp.violations.length > 0)
      log(`warm-up had violations: ${warmUp.violations.map((v) => v.code).join(', ')}`);
    for (const admission of ['direct', 'queued'] as const) {
      log(`${deployment.label}: warm-up ${admission} sale: 1,000 requests, 50 units (not measured)`);
      const warmSale = await runFlashSale(
        options({ stock: 50, requests: 1_000, connections: 50, paid: false, admission }),
      );
      if (warmSale.violations.length > 0)
        log(`warm-up sale had violations: ${warmSale.violations.map((v) => v.code).join(', ')}`);
    }

    for (const scenario of SCENARIOS) {
      log(
        `${deployment.label}: ${scenario.title}: ${scenario.requests} requests, ${scenario.stock} units, ${CONNECTIONS} connections`,
      );
      const progress = new ProgressLine();
      const results = await runFlashSale(
        options({
          stock: scenario.stock,
          requests: scenario.requests,
          paid: scenario.paid,
          ...('admission' in scenario && { admission: scenario.admission }),
        }),
        {
          onPhase: (phase: FlashSalePhase) => timeline.mark(`${scenario.key}:${phase}`),
          onFiring: (p) => progress.firing(p),
          onDraining: (p) => progress.draining(p),
          onStep: () => progress.done(),
        },
      );
      timeline.mark(`${scenario.key}:done`);
      progress.done();
      runs.push(scenarioRun(scenario, results, timeline, started));
    }
    timeline.stop();
    return { deployment, runs, costRows: costRowsOf([...names, ...(balancer ? [HAPROXY] : [])]) };
  } finally {
    process.off('SIGINT', onInterrupt);
    await cleanUp();
  }
}

function scenarioRun(
  scenario: (typeof SCENARIOS)[number],
  results: FlashSaleResults,
  timeline: CpuTimeline,
  started: ServiceProcess[],
): ScenarioRun {
  const mark = (phase: string) => `${scenario.key}:${phase}`;
  const window = timeline.between(mark('firing'), mark('verifying'));
  const firing = timeline.between(mark('firing'), mark('draining'));
  const checks = timeline.between(mark('draining'), mark('done'));
  if (!window || !firing || !checks) throw new Error(`no CPU window for ${scenario.title}`);
  for (const service of started) {
    if (!service.isRunning()) throw new Error(`${service.name} exited:\n${service.output().slice(-2_000)}`);
  }
  const requests = results.firing.requestsSent;
  const units =
    scenario.unit === 'order'
      ? results.serverSales.orders
      : scenario.unit === 'paid order'
        ? results.acceptedOrders.filter((order) => order.paidAt).length
        : scenario.unit === 'refusal'
          ? (results.firing.statusCounts['409 OUT_OF_STOCK'] ?? 0)
          : requests;
  // The meter's own snapshots run in the load generator's process: left out of its figure.
  const generatorMs = (w: CpuWindow) => ((w.cpuSeconds[LOAD_GENERATOR] ?? 0) - w.meterSeconds) * 1000;
  const cost = costOf(window);
  delete cost.cpuMs[LOAD_GENERATOR];
  cost.cpuMs[`${LOAD_GENERATOR}: firing`] = generatorMs(firing);
  cost.cpuMs[`${LOAD_GENERATOR}: checks`] = generatorMs(checks);
  cost.peakBytes[`${LOAD_GENERATOR}: firing`] = firing.peakResidentBytes[LOAD_GENERATOR];
  return {
    key: scenario.key,
    results,
    window,
    column: { title: scenario.title, unit: scenario.unit, units, ...cost },
    loadGeneratorMsPerRequest: {
      firing: generatorMs(firing) / Math.max(1, requests),
      checks: generatorMs(checks) / Math.max(1, requests),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Baselines

/** pgbench: 16 clients, one-statement transactions on a one-row table in the bench database. */
async function measurePgbench(databaseUrl: string): Promise<Baselines['pgbench']> {
  assertToolDatabase(databaseUrl);
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const dir = mkdtempSync(join(tmpdir(), 'bench-pgbench-'));
  try {
    await client.query(
      'CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, stock bigint NOT NULL)',
    );
    await client.query(
      'INSERT INTO bench_hot_row VALUES (1, 1000000000) ON CONFLICT (id) DO UPDATE SET stock = 1000000000',
    );
    const script = join(dir, 'hot-row.sql');
    writeFileSync(script, 'UPDATE bench_hot_row SET stock = stock - 1 WHERE id = 1;\n');
    const timeline = new CpuTimeline();
    timeline.start(500);
    const childrenBefore = childTicks();
    const { stdout } = await promisify(execFile)(
      'pgbench',
      ['-n', '-c', '16', '-j', '2', '-T', '5', '-f', script, databaseUrl],
      { timeout: 60_000 },
    );
    timeline.stop();
    // pgbench has exited by now: its CPU is in this process's cutime/cstime.
    const pgbenchMs = ((childTicks() - childrenBefore) / ticksPerSecond()) * 1000;
    const tps = Number(/^tps = ([\d.]+)/m.exec(stdout)?.[1]);
    const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
    const window = timeline.window();
    const perTx = (group: string) => ((window?.cpuSeconds[group] ?? NaN) * 1000) / transactions;
    log(`pgbench: ${formatNumber(tps)} tx/s`);
    return {
      transactionsPerSecond: tps,
      postgresMsPerTx: perTx('postgres'),
      pgbenchMsPerTx: pgbenchMs / transactions,
    };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_hot_row').catch(() => undefined);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** cutime + cstime of this process: the children it waited for. */
function childTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

function ticksPerSecond(): number {
  return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
}

/** Bare Nest + Fastify in its own process, driven by the same load generator as the sale. */
async function measureBareNest(): Promise<Baselines['bareNest']> {
  const port = await freePort();
  // node --import tsx, not the tsx binary: its pid must be the app's own.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'bare-nest-app.ts'), String(port)],
    {
      cwd: REPO_ROOT,
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
        requests: 20_000,
        connections: CONNECTIONS,
        retryShare: 0.05,
        requestTimeoutMs: 10_000,
      });
    await spike(); // warm-up, as for the system
    const timeline = new CpuTimeline({ app: child.pid!, [LOAD_GENERATOR]: process.pid });
    timeline.start(500);
    const { outcomes, durationMs } = await spike();
    timeline.stop();
    const window = timeline.window();
    const perRequest = (ms: number) => ms / outcomes.length;
    log(`bare Nest: ${formatNumber((outcomes.length * 1000) / durationMs)} requests/s`);
    const latency = summarise(outcomes.map((o) => o.latencyMs));
    return {
      requestsPerSecond: (outcomes.length * 1000) / durationMs,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      maxMs: latency.max,
      appMsPerRequest: perRequest((window?.cpuSeconds.app ?? NaN) * 1000),
      loadGeneratorMsPerRequest: perRequest(
        ((window?.cpuSeconds[LOAD_GENERATOR] ?? NaN) - (window?.meterSeconds ?? 0)) * 1000,
      ),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * Persistent ~1 KB messages on a confirm channel, up to 500 unconfirmed at a time, then 500 more one at
 * a time for the confirm latency. Into an exclusive classic queue, or with `quorum` a durable quorum
 * queue (replicated on every node of a cluster: what a confirm costs there).
 */
async function measureConfirmedPublishes(
  rabbitmqUrl: string,
  { quorum = false }: { quorum?: boolean } = {},
): Promise<ConfirmedPublishes> {
  const connection = await connect(rabbitmqUrl);
  const quorumQueue = 'bench_confirmed_publishes';
  try {
    const channel = await connection.createConfirmChannel();
    const { queue } = quorum
      ? await channel.assertQueue(quorumQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
      : await channel.assertQueue('', { exclusive: true, autoDelete: true });
    const body = Buffer.alloc(1_000, 'x');
    const total = 20_000;
    const timeline = new CpuTimeline({ publisher: process.pid });
    timeline.start(500);
    const started = performance.now();
    for (let sent = 0; sent < total; sent++) {
      channel.publish('', queue, body, { persistent: true, contentType: 'application/json' });
      if (sent % 500 === 499) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
    const messagesPerSecond = (total * 1000) / (performance.now() - started);
    timeline.stop();
    const window = timeline.window();
    const latencies: number[] = [];
    for (let i = 0; i < 500; i++) {
      const sentAt = performance.now();
      channel.publish('', queue, body, { persistent: true, contentType: 'application/json' });
      await channel.waitForConfirms();
      latencies.push(performance.now() - sentAt);
    }
    const latency = summarise(latencies);
    if (quorum) await channel.deleteQueue(quorumQueue);
    await channel.close();
    log(
      `amqplib confirmed publish${quorum ? ' (quorum queue)' : ''}: ${formatNumber(messagesPerSecond)} msg/s, ` +
        `confirm p50 ${formatNumber(latency.p50, 2)} ms`,
    );
    return {
      messagesPerSecond,
      rabbitmqMsPerMessage: ((window?.cpuSeconds.rabbitmq ?? NaN) * 1000) / total,
      publisherMsPerMessage:
        (((window?.cpuSeconds.publisher ?? NaN) - (window?.meterSeconds ?? 0)) * 1000) / total,
      confirmLatencyMs: { p50: latency.p50, p99: latency.p99 },
    };
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function printResults(runs: ScenarioRun[], baselines: Baselines, costRows: CostRow[]): void {
  const run = (key: ScenarioKey) => runs.find((r) => r.key === key)!;
  const [accepted, paid, stampede, sale] = [
    run('accepted'),
    run('accepted-paid'),
    run('stampede'),
    run('sale'),
  ];
  const n = formatNumber;

  const queued = run('sale-queued');
  for (const r of [sale, queued])
    console.log(`\n${r.results.product.sku} (${r.column.title})\n${formatSummary(r.results)}`);
  printAdmissions(sale, queued, baselines, costRows);
  console.log(
    '\nCPU per unit of work by process, from /proc (firing → drained), and peak resident memory (MB) in that window\n',
  );
  console.log(
    formatCostTable(
      runs.map((r) => r.column),
      costRows,
    ),
  );
  console.log(
    '(load generator: firing = the spike; checks = polling while draining and the invariant checks afterwards; ' +
      'the CPU meter itself left out)',
  );
  printRunLines(runs);
  printPaymentCost(accepted, paid, costRows);

  const { pgbench, bareNest, publishes } = baselines;
  console.log('\nSame-run baselines (nothing else of the bench running)\n');
  console.log(
    formatTable(
      ['baseline', 'rate', 'CPU ms per operation'],
      [
        [
          'pgbench one-row UPDATE, 16 clients',
          `${n(pgbench.transactionsPerSecond)} tx/s`,
          `postgres ${n(pgbench.postgresMsPerTx, 3)}, pgbench ${n(pgbench.pgbenchMsPerTx, 3)}`,
        ],
        [
          `bare Nest + Fastify, same load generator (p99 ${n(bareNest.p99Ms, 1)} ms)`,
          `${n(bareNest.requestsPerSecond)} req/s`,
          `app ${n(bareNest.appMsPerRequest, 3)}, load generator ${n(bareNest.loadGeneratorMsPerRequest, 3)}`,
        ],
        [
          'amqplib confirmed publish, persistent 1 KB',
          `${n(publishes.messagesPerSecond)} msg/s`,
          `rabbitmq ${n(publishes.rabbitmqMsPerMessage, 3)}, publisher ${n(publishes.publisherMsPerMessage, 3)}`,
        ],
        [
          `the same into a quorum queue (confirm p50 ${n(baselines.quorumPublishes.confirmLatencyMs.p50, 2)} ms)`,
          `${n(baselines.quorumPublishes.messagesPerSecond)} msg/s`,
          `rabbitmq ${n(baselines.quorumPublishes.rabbitmqMsPerMessage, 3)}, publisher ${n(baselines.quorumPublishes.publisherMsPerMessage, 3)}`,
        ],
      ],
    ),
  );

  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const s = sale.results;
  const acceptedCpu = systemMsPerUnit(accepted.column, costRows);
  const paymentExtra = systemMsPerUnit(paid.column, costRows) - acceptedCpu;
  const refusalCpu = systemMsPerUnit(stampede.column, costRows);
  const acceptedRatio = accepted.results.firing.acceptedPerSecond / pgbench.transactionsPerSecond;
  const requestRatio = s.firing.requestsPerSecond / bareNest.requestsPerSecond;
  const generator = sale.loadGeneratorMsPerRequest.firing + sale.loadGeneratorMsPerRequest.checks;
  const violations = runs.reduce((sum, r) => sum + r.results.violations.length, 0);
  const peaks = SERVICES.map((service) => ({
    service,
    mb: Math.max(...runs.map((r) => (r.column.peakBytes[service] ?? 0) / 2 ** 20)),
  }));
  const rows: string[][] = [
    [
      'all accepted: system CPU per accepted order',
      `${n(acceptedCpu, 2)} ms`,
      `≤ ${TARGETS.cpuMsPerAcceptedOrder} ms`,
      verdict(acceptedCpu <= TARGETS.cpuMsPerAcceptedOrder),
    ],
    [
      'every order paid: system CPU per paid order − per order nobody pays',
      `${n(paymentExtra, 2)} ms`,
      `≤ +${TARGETS.paymentExtraMsPerPaidOrder} ms`,
      verdict(paymentExtra <= TARGETS.paymentExtraMsPerPaidOrder),
    ],
    [
      'all accepted: accepted/s ÷ pgbench hot-row tx/s',
      `${n(accepted.results.firing.acceptedPerSecond)} ÷ ${n(pgbench.transactionsPerSecond)} = ${n(acceptedRatio, 2)}`,
      `≥ ${TARGETS.acceptedToPgbench}`,
      verdict(acceptedRatio >= TARGETS.acceptedToPgbench),
    ],
    [
      'stampede: system CPU per refused request',
      `${n(refusalCpu, 3)} ms`,
      `≤ ${TARGETS.cpuMsPerRefusal} ms`,
      verdict(refusalCpu <= TARGETS.cpuMsPerRefusal),
    ],
    [
      'sale: requests/s ÷ bare Nest requests/s',
      `${n(s.firing.requestsPerSecond)} ÷ ${n(bareNest.requestsPerSecond)} = ${n(requestRatio, 2)}`,
      `≥ ${TARGETS.requestsToBareNest}`,
      verdict(requestRatio >= TARGETS.requestsToBareNest),
    ],
    [
      'sale: latency p99',
      `${n(s.firing.latency.p99, 1)} ms`,
      `≤ ${TARGETS.p99Ms} ms`,
      verdict(s.firing.latency.p99 <= TARGETS.p99Ms),
    ],
    [
      'sale: emails and PDFs done after the last acceptance',
      `${n(s.drain.durationMs / 1000, 2)} s${s.drain.completed ? '' : ' (not finished)'}`,
      `≤ ${TARGETS.drainMs / 1000} s`,
      verdict(s.drain.completed && s.drain.durationMs <= TARGETS.drainMs),
    ],
    [
      'sale: accepted → email p99',
      `${n(s.endToEnd.email.p99)} ms`,
      `≤ ${TARGETS.endToEndP99Ms} ms`,
      verdict(s.endToEnd.email.p99 <= TARGETS.endToEndP99Ms),
    ],
    [
      'sale: accepted → PDF p99',
      `${n(s.endToEnd.pdf.p99)} ms`,
      `≤ ${TARGETS.endToEndP99Ms} ms`,
      verdict(s.endToEnd.pdf.p99 <= TARGETS.endToEndP99Ms),
    ],
    ...tailTargets(accepted, sale, queued, bareNest),
    ['violations (all scenarios)', String(violations), '0', verdict(violations === 0)],
    ...peaks.map(({ service, mb }) => [
      `peak RSS of ${service}`,
      `${n(mb)} MB`,
      `≤ ${TARGETS.peakRssMb} MB`,
      verdict(mb <= TARGETS.peakRssMb),
    ]),
    [
      'sale: load generator CPU per request (firing + checks)',
      `${n(sale.loadGeneratorMsPerRequest.firing, 3)} + ${n(sale.loadGeneratorMsPerRequest.checks, 3)} = ${n(generator, 3)} ms`,
      `≤ ${TARGETS.loadGeneratorMsPerRequest} ms`,
      verdict(generator <= TARGETS.loadGeneratorMsPerRequest),
    ],
  ];
  console.log(`\nTargets (same-run figures)\n\n${formatTable(['target', 'measured', 'target', ''], rows)}`);
}

/**
 * The tail against the bare server under the same load generator in the same run: direct answers (the
 * sale and all accepted) within 3× its p99 and 2× its max; queued answers within 2× both, the queued
 * sale's final outcome within 2× the direct sale's answer p99, no ticket lost; and in both modes at
 * most 5 % of the accepted pairs inverted between arrival and acceptance.
 */
function tailTargets(
  accepted: ScenarioRun,
  direct: ScenarioRun,
  queued: ScenarioRun,
  bare: { p99Ms: number; maxMs: number },
): string[][] {
  const n = formatNumber;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const within = (what: string, measured: number, times: number, of: number, ofName: string) => [
    what,
    `${n(measured, 1)} ms`,
    `≤ ${times}× ${ofName} ${n(of, 1)} = ${n(times * of, 1)} ms`,
    verdict(measured <= times * of),
  ];
  const rows: string[][] = [];
  for (const [name, run] of [
    ['all accepted', accepted],
    ['direct sale', direct],
  ] as const) {
    const { latency } = run.results.firing;
    rows.push(within(`${name}: time to answer p99`, latency.p99, 3, bare.p99Ms, 'bare p99'));
    rows.push(within(`${name}: time to answer max`, latency.max, 2, bare.maxMs, 'bare max'));
  }
  const q = queued.results.firing;
  rows.push(within('queued sale: time to answer p99', q.latency.p99, 2, bare.p99Ms, 'bare p99'));
  rows.push(within('queued sale: time to answer max', q.latency.max, 2, bare.maxMs, 'bare max'));
  if (q.finalOutcome) {
    const directP99 = direct.results.firing.latency.p99;
    rows.push(
      within('queued sale: time to final outcome p99', q.finalOutcome.p99, 2, directP99, 'direct p99'),
    );
  }
  rows.push([
    'queued sale: tickets lost',
    String(q.tickets?.lost ?? 0),
    '0',
    verdict((q.tickets?.lost ?? 0) === 0),
  ]);
  for (const [name, run] of [
    ['direct sale', direct],
    ['queued sale', queued],
  ] as const) {
    const share = run.results.firing.fairness?.invertedShare ?? Number.NaN;
    rows.push([
      `${name}: accepted pairs inverted`,
      `${n(share * 100, 2)} %`,
      '≤ 5 %',
      verdict(share <= 0.05),
    ]);
  }
  return rows;
}

/**
 * Where the +ms of a paid order go: CPU per order of each process in the all-accepted scenario nobody
 * pays beside the same scenario where every customer pays (same order count, same run), and the
 * difference per process.
 */
function printPaymentCost(unpaid: ScenarioRun, paid: ScenarioRun, costRows: CostRow[]): void {
  const n = formatNumber;
  const perUnit = (run: ScenarioRun, key: string) =>
    (run.column.cpuMs[key] ?? Number.NaN) / Math.max(1, run.column.units);
  const rows = costRows.map(({ key, label }) => {
    const [before, after] = [perUnit(unpaid, key), perUnit(paid, key)];
    return [
      label ?? key,
      n(before, 3),
      n(after, 3),
      `${after - before >= 0 ? '+' : ''}${n(after - before, 3)}`,
    ];
  });
  const [before, after] = [systemMsPerUnit(unpaid.column, costRows), systemMsPerUnit(paid.column, costRows)];
  rows.push([
    'system (without the load generator)',
    n(before, 3),
    n(after, 3),
    `${after - before >= 0 ? '+' : ''}${n(after - before, 3)}`,
  ]);
  console.log(
    `\nWhere the +ms of a paid order go: CPU ms per order by process, ${n(unpaid.column.units)} orders nobody pays ` +
      `beside ${n(paid.column.units)} orders all paid (payment request and result, order.paid email, deadline message)\n`,
  );
  console.log(
    formatTable(['process', 'nobody pays: ms/order', 'all paid: ms/paid order', 'difference'], rows),
  );
  const statuses = paid.results.lifecycle?.statuses ?? {};
  console.log(
    `(all paid: ${Object.entries(statuses)
      .map(([status, count]) => `${status} ×${count}`)
      .join(', ')}; emails ${Object.entries(paid.results.lifecycle?.emails ?? {})
      .map(([kind, count]) => `${kind} ×${count}`)
      .join(', ')})`,
  );
}

/**
 * The sale in both admissions side by side, with the bare server under the same load generator: time
 * to the answer and to the final outcome, accepted/s, system CPU per request and per accepted order,
 * refusals by code, fairness.
 */
function printAdmissions(
  direct: ScenarioRun,
  queued: ScenarioRun,
  baselines: Baselines,
  costRows: CostRow[],
) {
  const n = formatNumber;
  const { bareNest } = baselines;
  const triple = (s: { p50: number; p99: number; max: number } | undefined) =>
    s ? `${n(s.p50, 1)} / ${n(s.p99, 1)} / ${n(s.max, 1)}` : 'n/a';
  const perOrder = (r: ScenarioRun) =>
    (systemMsPerUnit(r.column, costRows) * r.column.units) / Math.max(1, r.results.serverSales.orders);
  const codes = [
    ...new Set([direct, queued].flatMap((r) => Object.keys(r.results.firing.refusalsByCode ?? {}))),
  ].sort();
  const row = (label: string, of: (r: ScenarioRun) => string, bare = '') => [
    label,
    of(direct),
    of(queued),
    bare,
  ];
  const fairness = (r: ScenarioRun) => r.results.firing.fairness;
  const rows = [
    row('requests/s', (r) => n(r.results.firing.requestsPerSecond), n(bareNest.requestsPerSecond)),
    row('accepted/s while stock lasted', (r) => n(r.results.firing.acceptedPerSecond)),
    row(
      'time to answer p50 / p99 / max, ms',
      (r) => triple(r.results.firing.latency),
      triple({ p50: bareNest.p50Ms, p99: bareNest.p99Ms, max: bareNest.maxMs }),
    ),
    row('time to final outcome p50 / p99 / max, ms', (r) => triple(r.results.firing.finalOutcome)),
    row(
      'system CPU per request, ms',
      (r) => n(systemMsPerUnit(r.column, costRows), 3),
      `${n(bareNest.appMsPerRequest, 3)} (app)`,
    ),
    row('system CPU per accepted order, ms', (r) => n(perOrder(r), 2)),
    row('orders (database)', (r) => n(r.results.serverSales.orders)),
    ...codes.map((code) => row(`refused ${code}`, (r) => n(r.results.firing.refusalsByCode?.[code] ?? 0))),
    row('tickets placed / refused / lost', (r) => {
      const t = r.results.firing.tickets;
      return t ? `${n(t.placed)} / ${n(t.refused)} / ${n(t.lost)}` : '-';
    }),
    row('fairness: inverted pairs', (r) => `${n((fairness(r)?.invertedShare ?? NaN) * 100, 2)} %`),
    row("fairness: Kendall's tau", (r) => n(fairness(r)?.kendallTau, 3)),
    row('violations', (r) => r.results.violations.map((v) => v.code).join(', ') || 'none'),
  ];
  console.log(
    `\nThe sale (20,000 requests / 500 units / 200 connections) by admission, same run; bare Nest + Fastify under the same load generator\n\n` +
      formatTable(['figure', 'direct', 'queued', 'bare server'], rows),
  );
}

/** One line per scenario: its window, the machine's load, rates, answers and violations. */
function printRunLines(runs: ScenarioRun[]): void {
  const n = formatNumber;
  for (const r of runs) {
    const { window } = r;
    console.log(
      `  ${r.column.title}: ${n(window.seconds, 1)} s; machine ${n(window.machineBusy)}% of ${cpus().length * 100}%` +
        `${window.machineSteal >= 0.5 ? `, steal ${n(window.machineSteal)}%` : ''}; ` +
        `${n(r.results.firing.requestsPerSecond)} requests/s, ${n(r.results.firing.acceptedPerSecond)} accepted/s; ` +
        `answers ${Object.entries(r.results.firing.statusCounts)
          .map(([status, count]) => `${status} ×${count}`)
          .join(', ')}; violations ${r.results.violations.map((v) => v.code).join(', ') || 'none'}`,
    );
  }
}

/** The cluster's figures beside the single node's, same scenarios, same run. */
function printClusterComparison(
  single: DeploymentRun,
  cluster: DeploymentRun,
  baselines: Baselines,
  clusterPublishes: ConfirmedPublishes,
): void {
  const n = formatNumber;
  console.log(
    '\nOn the three-node cluster (2 × order-api behind HAProxy, 2 × each worker, 1 × log-aggregator): CPU per unit of work by process\n',
  );
  console.log(
    formatCostTable(
      cluster.runs.map((r) => r.column),
      cluster.costRows,
    ),
  );
  printRunLines(cluster.runs);
  const of = (d: DeploymentRun, key: ScenarioKey) => d.runs.find((r) => r.key === key)!;
  const rabbitMs = (d: DeploymentRun, key: ScenarioKey) => {
    const { column } = of(d, key);
    return (column.cpuMs.rabbitmq ?? NaN) / Math.max(1, column.units);
  };
  const figures: { figure: string; value: (d: DeploymentRun) => number; digits: number; unit: string }[] = [
    {
      figure: 'all accepted: system CPU per accepted order',
      value: (d) => systemMsPerUnit(of(d, 'accepted').column, d.costRows),
      digits: 2,
      unit: 'ms',
    },
    {
      figure: 'all accepted: RabbitMQ CPU per accepted order',
      value: (d) => rabbitMs(d, 'accepted'),
      digits: 2,
      unit: 'ms',
    },
    {
      figure: 'all accepted: accepted/s',
      value: (d) => of(d, 'accepted').results.firing.acceptedPerSecond,
      digits: 0,
      unit: '/s',
    },
    {
      figure: 'stampede: system CPU per refused request',
      value: (d) => systemMsPerUnit(of(d, 'stampede').column, d.costRows),
      digits: 3,
      unit: 'ms',
    },
    {
      figure: 'sale: requests/s',
      value: (d) => of(d, 'sale').results.firing.requestsPerSecond,
      digits: 0,
      unit: '/s',
    },
    {
      figure: 'sale: latency p99',
      value: (d) => of(d, 'sale').results.firing.latency.p99,
      digits: 1,
      unit: 'ms',
    },
    {
      figure: 'sale: drain after the last acceptance',
      value: (d) => of(d, 'sale').results.drain.durationMs / 1000,
      digits: 2,
      unit: 's',
    },
    {
      figure: 'sale: accepted → email p99',
      value: (d) => of(d, 'sale').results.endToEnd.email.p99,
      digits: 0,
      unit: 'ms',
    },
    {
      figure: 'sale: accepted → PDF p99',
      value: (d) => of(d, 'sale').results.endToEnd.pdf.p99,
      digits: 0,
      unit: 'ms',
    },
  ];
  const rows = figures.map(({ figure, value, digits, unit }) => {
    const [a, b] = [value(single), value(cluster)];
    return [figure, `${n(a, digits)} ${unit}`, `${n(b, digits)} ${unit}`, `× ${n(b / a, 2)}`];
  });
  const quorum = baselines.quorumPublishes;
  rows.push(
    [
      'confirmed publish into a quorum queue: msg/s',
      n(quorum.messagesPerSecond),
      n(clusterPublishes.messagesPerSecond),
      `× ${n(clusterPublishes.messagesPerSecond / quorum.messagesPerSecond, 2)}`,
    ],
    [
      'confirmed publish: RabbitMQ CPU per message',
      `${n(quorum.rabbitmqMsPerMessage, 3)} ms`,
      `${n(clusterPublishes.rabbitmqMsPerMessage, 3)} ms`,
      `× ${n(clusterPublishes.rabbitmqMsPerMessage / quorum.rabbitmqMsPerMessage, 2)}`,
    ],
    [
      'confirm latency, one at a time, p50 / p99',
      `${n(quorum.confirmLatencyMs.p50, 2)} / ${n(quorum.confirmLatencyMs.p99, 2)} ms`,
      `${n(clusterPublishes.confirmLatencyMs.p50, 2)} / ${n(clusterPublishes.confirmLatencyMs.p99, 2)} ms`,
      `× ${n(clusterPublishes.confirmLatencyMs.p50 / quorum.confirmLatencyMs.p50, 2)}`,
    ],
    [
      'violations (all scenarios)',
      String(single.runs.reduce((sum, r) => sum + r.results.violations.length, 0)),
      String(cluster.runs.reduce((sum, r) => sum + r.results.violations.length, 0)),
      '',
    ],
  );
  console.log(
    `\nWhat the cluster costs on this one machine (same run; what it buys, surviving a node, is \`npm run drill -- --cluster\`)\n\n${formatTable(['figure', 'single node', 'cluster', 'cluster ÷ single'], rows)}`,
  );
}

main().catch((error: Error) => {
  console.error(`[bench] failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
