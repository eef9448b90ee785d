/**
 * `npm run compose:rehearse`: the real docker-compose.yml, end to end on this machine. A Docker engine
 * (docker-engine.ts), the images compose names (look-alikes.ts where none can be pulled), then the default
 * deployment and the profile `cluster` under the project rabbit-shop-rehearsal on host ports 13000-13099,
 * each checked as a user would (user-checks.ts). The containers' var/ lands in var/rehearsal/compose-var
 * (VAR_HOST_DIR), never the work tree's var/. It always ends with `down -v --remove-orphans` and removes
 * that directory; only the engine keeps running. Exits 1 when a step fails. Its logs: var/rehearsal/logs.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RABBITMQ_VHOST } from '@shop/contracts';
import { formatTable } from '@shop/loadtest';
import { paint } from '../local/console-output';
import {
  ComposeProject,
  bindMounts,
  oneServicePerImage,
  portProblems,
  pulledImages,
  REHEARSAL_PORTS,
  type ResolvedConfig,
  servicesOf,
  variableOf,
} from './compose-project';
import { ensureDockerEngine } from './docker-engine';
import { ImageProvider } from './look-alikes';
import { stopRunningCommands } from './run-command';
import {
  answers,
  clusterNodesRunning,
  dashboardShowsAllUp,
  emailArrived,
  isCompleted,
  logsArchived,
  payForOrder,
  type OrderExample,
  placeOrder,
  type PlacedOrder,
  quorumQueuesOnEveryNode,
  readmeOrderExample,
  reportFileWritten,
  reportIsPdf,
  waitForOrder,
} from './user-checks';

const REPO_ROOT = join(__dirname, '../..');
const VAR_DIR = join(REPO_ROOT, 'var/rehearsal');
const LOG_DIR = join(VAR_DIR, 'logs');
const CLUSTER_SERVICES = [
  'haproxy',
  'notify-worker-cluster',
  'report-worker-cluster',
  'log-aggregator-cluster',
  'payment-cluster',
];
const MINUTE = 60_000;

const url = (variable: keyof typeof REHEARSAL_PORTS) => `http://127.0.0.1:${REHEARSAL_PORTS[variable]}`;

interface StepResult {
  name: string;
  ok: boolean;
  seconds: number;
  detail: string;
}

/** Each step printed as it ends (PASS/FAIL, seconds, what it saw) and kept for the summary. */
class Steps {
  readonly results: StepResult[] = [];

  /** Set by Ctrl-C: steps not started yet are skipped, except clean-up. */
  stopped = false;

  async run<T>(
    name: string,
    action: () => Promise<T>,
    describe: (value: T) => string = String,
    { always = false } = {},
  ): Promise<T | undefined> {
    if (this.stopped && !always) {
      this.skip(name, 'interrupted');
      return undefined;
    }
    const started = Date.now();
    try {
      const value = await action();
      this.record({ name, ok: true, seconds: (Date.now() - started) / 1000, detail: describe(value) });
      return value;
    } catch (error) {
      this.record({
        name,
        ok: false,
        seconds: (Date.now() - started) / 1000,
        detail: (error as Error).message,
      });
      return undefined;
    }
  }

  skip(name: string, why: string): void {
    this.record({ name, ok: false, seconds: 0, detail: `not run: ${why}` });
  }

  secondsOf(name: string): number {
    return this.results.find((result) => result.name === name)?.seconds ?? 0;
  }

  get failed(): number {
    return this.results.filter((result) => !result.ok).length;
  }

  private record(result: StepResult): void {
    this.results.push(result);
    const verdict = result.ok ? paint('PASS', 'green', 'bold') : paint('FAIL', 'red', 'bold');
    const [first, ...rest] = result.detail.split('\n');
    console.log(`${verdict} ${result.seconds.toFixed(1).padStart(6)} s  ${result.name}: ${first}`);
    for (const line of rest) console.log(`              ${paint(line, 'gray')}`);
  }
}

const steps = new Steps();
let cleanUp: (() => Promise<void>) | undefined;
let cleaning: Promise<void> | undefined;

async function main(): Promise<number> {
  const started = Date.now();
  mkdirSync(LOG_DIR, { recursive: true });
  const composeLog = join(LOG_DIR, 'compose.log');
  writeFileSync(composeLog, '');
  console.log(
    `compose:rehearse: docker-compose.yml end to end (logs in ${relative(process.cwd(), LOG_DIR)})`,
  );

  const engine = await steps.run(
    'Docker engine',
    () => ensureDockerEngine(REPO_ROOT, LOG_DIR),
    (e) => `server ${e.serverVersion}, ${e.compose.join(' ')}; ${e.how}`,
  );
  if (!engine) return finish(started);
  const compose = new ComposeProject(engine.compose, REPO_ROOT, VAR_DIR, composeLog);
  const config = await steps.run(
    'compose config',
    () => compose.config(),
    () => 'docker-compose.yml resolves',
  );
  if (!config) return finish(started);
  const example = await steps.run(
    'README order example',
    async () => readmeOrderExample(join(REPO_ROOT, 'README.md')),
    (e) => `POST /orders for ${e.body.items.map((item) => `${item.quantity} × ${item.sku}`).join(', ')}`,
  );
  if (!example) return finish(started);

  await steps.run(
    'leftovers of an earlier run',
    () => compose.mustRun(['down', '--volumes', '--remove-orphans'], 5 * MINUTE, { profile: 'cluster' }),
    () => `none left (project ${compose.projectName})`,
  );
  const images = await steps.run(
    'images',
    () => provideImages(config),
    (lines) => lines.join('; '),
  );
  if (!images) return finish(started);
  const ports = await steps.run('host ports', async () => {
    const problems = await portProblems(servicesOf(config, 'cluster'));
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return 'every published port moved by its variable to 13000-13099, all free';
  });
  const hostDirs = await steps.run('host directories', async () => {
    const outside = bindMounts(config, '/app/var/').filter(
      (mount) => !mount.source.startsWith(`${compose.hostVarDir}/`),
    );
    if (outside.length > 0) {
      const list = outside.map((m) => `${m.service}: ${m.source}`).join(', ');
      throw new Error(`compose would write into ${list}, outside VAR_HOST_DIR: not rehearsing there`);
    }
    removeHostVarDir(compose);
    return `/app/var/* of every service under ${relative(REPO_ROOT, compose.hostVarDir)}`;
  });
  if (!ports || !hostDirs) return finish(started);

  cleanUp = async () => {
    await steps.run(
      'down -v --remove-orphans',
      async () => {
        await compose.mustRun(['down', '--volumes', '--remove-orphans'], 5 * MINUTE, { profile: 'cluster' });
        removeHostVarDir(compose);
      },
      () =>
        `nothing of ${compose.projectName} left running, ${relative(REPO_ROOT, compose.hostVarDir)} removed`,
      { always: true },
    );
  };

  try {
    const context = {
      compose,
      config,
      example,
      reportsDir: join(compose.hostVarDir, 'reports'),
      logsDir: join(compose.hostVarDir, 'logs'),
    };
    await rehearseDefault(context);
    await rehearseCluster(context);
  } finally {
    await cleanUpOnce();
  }
  return finish(started);
}

interface Context {
  compose: ComposeProject;
  config: ResolvedConfig;
  example: OrderExample;
  /** The containers' /app/var/reports and /app/var/logs on the host. */
  reportsDir: string;
  logsDir: string;
}

let orders = 0;
/** A fresh Idempotency-Key for each order of this run. */
const nextKey = () => `rehearsal-${process.pid}-${Date.now()}-${++orders}`;

async function rehearseDefault({ compose, config, example, reportsDir, logsDir }: Context): Promise<void> {
  console.log(paint('\nThe default deployment: `up -d` (one broker, one instance of each service)', 'bold'));
  // Each image once: compose would build the order-api image again for migrate, seed and var-init.
  const toBuild = oneServicePerImage(servicesOf(config));
  const built = await steps.run(
    'compose build',
    () => compose.mustRun(['build', ...toBuild], 30 * MINUTE),
    () => `${toBuild.join(', ')} (one service per image)`,
  );
  const up =
    built &&
    (await steps.run(
      'compose up -d',
      () => compose.mustRun(['up', '-d'], 15 * MINUTE),
      () => 'every service started, its dependencies healthy',
    ));
  if (!up) {
    await saveServiceLogs(compose, 'default');
    return;
  }
  const orderApi = url('ORDER_API_HOST_PORT');
  const order = await steps.run(
    'README order: 201, paid, then completed',
    async () => {
      const placed = await placeOrder(orderApi, example, nextKey());
      await payForOrder(orderApi, placed);
      await waitForOrder(orderApi, placed, 'completed', isCompleted, 2 * MINUTE);
      return placed;
    },
    (placed) => `order ${placed.id} placed (201), paid (202) and completed`,
  );
  if (order) {
    await steps.run('email in the mail API', () => emailArrived(url('MAILPIT_HOST_PORT'), order));
    await steps.run('GET /orders/:id/report', () => reportIsPdf(orderApi, order));
  } else {
    for (const name of ['email in the mail API', 'GET /orders/:id/report']) steps.skip(name, 'no order');
  }
  const targets = (variableOf(config.services.dashboard ?? {}, 'DASHBOARD_TARGETS') ?? '')
    .split(',')
    .map((target) => target.split('=')[0].trim())
    .filter(Boolean);
  // The dashboard's API and GET /logs are for operators: the project's own OPS_TOKEN.
  const opsToken = compose.secrets.get('OPS_TOKEN') ?? '';
  await steps.run('dashboard snapshot', () =>
    dashboardShowsAllUp(url('DASHBOARD_HOST_PORT'), targets, opsToken),
  );
  if (order) {
    await steps.run('logs archived', () =>
      logsArchived(url('LOG_AGGREGATOR_HOST_PORT'), order, logsDir, opsToken),
    );
  } else {
    steps.skip('logs archived', 'no order');
  }
  await steps.run('stopped report-worker catches up', () =>
    reportWorkerCatchesUp(compose, example, reportsDir),
  );
  await saveServiceLogs(compose, 'default');
}

/** report-worker stopped, an order placed (its email goes out, its PDF waits), report-worker started. */
async function reportWorkerCatchesUp(
  compose: ComposeProject,
  example: OrderExample,
  reportsDir: string,
): Promise<string> {
  const orderApi = url('ORDER_API_HOST_PORT');
  await compose.mustRun(['stop', 'report-worker'], 2 * MINUTE);
  let order: PlacedOrder;
  try {
    order = await placeOrder(orderApi, example, nextKey());
    await payForOrder(orderApi, order);
    const waiting = await waitForOrder(
      orderApi,
      order,
      'notified',
      (o) => o.notifiedAt !== undefined,
      MINUTE,
    );
    if (waiting.reportedAt !== undefined || isCompleted(waiting)) {
      throw new Error(`order ${order.id} was reported while report-worker was stopped`);
    }
  } finally {
    await compose.mustRun(['start', 'report-worker'], 2 * MINUTE);
  }
  await waitForOrder(orderApi, order, 'completed', isCompleted, 3 * MINUTE);
  const pdf = await reportFileWritten(reportsDir, order);
  return `order ${order.id} waited at "notified", completed once report-worker was back; ${pdf}`;
}

async function rehearseCluster({ compose, config, example }: Context): Promise<void> {
  console.log(paint('\nThe profile `cluster`: three RabbitMQ nodes, replicas behind HAProxy', 'bold'));
  await steps.run(
    'down -v before the cluster',
    () => compose.mustRun(['down', '--volumes', '--remove-orphans'], 5 * MINUTE, { profile: 'cluster' }),
    () => 'the default deployment and its volumes removed',
  );
  // No --build: the replicas run the images the default deployment was built with, from the same tree.
  const up = await steps.run(
    'compose --profile cluster up -d',
    () => compose.mustRun(['up', '-d', ...CLUSTER_SERVICES], 15 * MINUTE, { profile: 'cluster' }),
    () => CLUSTER_SERVICES.join(', '),
  );
  if (!up) {
    await saveServiceLogs(compose, 'cluster', 'cluster');
    return;
  }
  const nodes = servicesOf(config, 'cluster')
    .map(([, service]) => variableOf(service, 'RABBITMQ_NODENAME'))
    .filter((name) => name !== undefined);
  const node1 = config.services['rabbitmq-1'] ?? {};
  const admin = {
    user: variableOf(node1, 'RABBITMQ_ADMIN_USER') ?? '',
    password: variableOf(node1, 'RABBITMQ_ADMIN_PASSWORD') ?? '',
  };
  const management = url('RABBITMQ_CLUSTER_MANAGEMENT_HOST_PORT');
  await steps.run('three nodes joined, every quorum queue on each', async () => {
    const joined = await clusterNodesRunning(management, admin, nodes);
    return `${joined}; ${await quorumQueuesOnEveryNode(management, admin, RABBITMQ_VHOST, nodes)}`;
  });
  const haproxy = url('ORDER_API_HOST_PORT');
  const throughHaproxy = async () => {
    await answers(`${haproxy}/health`, 2 * MINUTE);
    const placed = await placeOrder(haproxy, example, nextKey());
    await payForOrder(haproxy, placed);
    await waitForOrder(haproxy, placed, 'completed', isCompleted, 3 * MINUTE);
    return `order ${placed.id} placed (201), paid and completed`;
  };
  await steps.run('order through HAProxy', throughHaproxy);
  await steps.run('order with rabbitmq-2 stopped', async () => {
    await compose.mustRun(['stop', 'rabbitmq-2'], 2 * MINUTE, { profile: 'cluster' });
    return throughHaproxy();
  });
  await saveServiceLogs(compose, 'cluster', 'cluster');
}

/** var/rehearsal/compose-var, which only the rehearsal's containers write (as uid 1000: root may delete). */
function removeHostVarDir(compose: ComposeProject): void {
  try {
    rmSync(compose.hostVarDir, { recursive: true, force: true });
  } catch (error) {
    console.warn(`could not remove ${compose.hostVarDir} (${(error as Error).message}): sudo rm -rf it`);
  }
}

/** Every container's output of one phase, for reading after the rehearsal (compose down removes them). */
async function saveServiceLogs(compose: ComposeProject, phase: string, profile?: string): Promise<void> {
  const file = join(LOG_DIR, `services-${phase}.log`);
  writeFileSync(file, '');
  await compose.run(['ps'], MINUTE, { profile, logFile: file });
  await compose.run(['logs', '--no-color', '--timestamps'], 2 * MINUTE, { profile, logFile: file });
}

/** The images of the default deployment and the profile `cluster`, and those the app's Dockerfile starts from. */
async function provideImages(config: ResolvedConfig): Promise<string[]> {
  const services = servicesOf(config, 'cluster');
  const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8');
  const stages = new Set(
    [...dockerfile.matchAll(/^FROM\s.*\sAS\s+(\S+)/gim)].map(([, stage]) => stage.toLowerCase()),
  );
  const bases = [...dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gim)]
    .map(([, image]) => image)
    .filter((image) => !stages.has(image.toLowerCase()));
  const wanted = [...new Set([...bases, ...pulledImages(services)])];
  const results = await new ImageProvider(REPO_ROOT, VAR_DIR).provideAll(wanted);
  const missing = results.filter((result) => result.outcome === 'no look-alike');
  if (missing.length > 0) throw new Error(missing.map((r) => `${r.image}: ${r.detail}`).join('\n'));
  const notRehearsed = pulledImages(
    Object.entries(config.services).filter(([, s]) => s.profiles && !s.profiles.includes('cluster')),
  );
  return [
    ...results.map((r) => `${r.image} ${r.outcome} (${r.seconds.toFixed(0)} s)`),
    ...notRehearsed.map((image) => `${image} not rehearsed (profile observability)`),
  ];
}

function cleanUpOnce(): Promise<void> {
  cleaning ??= cleanUp ? cleanUp() : Promise.resolve();
  return cleaning;
}

function finish(started: number): number {
  const total = (Date.now() - started) / 1000;
  const build = ['images', 'compose build'].reduce((sum, name) => sum + steps.secondsOf(name), 0);
  console.log(
    `\n${formatTable(
      ['step', 'result', 'seconds'],
      steps.results.map((r) => [r.name, r.ok ? 'PASS' : 'FAIL', r.seconds.toFixed(1)]),
    )}`,
  );
  const verdict =
    steps.failed === 0 ? paint('PASS', 'green', 'bold') : paint(`FAIL (${steps.failed})`, 'red', 'bold');
  console.log(
    `\ncompose:rehearse ${verdict} in ${formatDuration(total)}; the build took ${formatDuration(build)} ` +
      `(images ${formatDuration(steps.secondsOf('images'))}, compose build ${formatDuration(steps.secondsOf('compose build'))})`,
  );
  return steps.failed === 0 ? 0 : 1;
}

function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${seconds.toFixed(1)} s`;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    steps.stopped = true;
    console.error(`\n${signal}: stopping, then \`down -v --remove-orphans\` (again to quit at once)`);
    stopRunningCommands();
    void cleanUpOnce().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (error: Error) => {
    console.error(`compose:rehearse: ${error.stack ?? error.message}`);
    await cleanUpOnce();
    process.exit(1);
  },
);
