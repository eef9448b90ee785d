/**
 * `npm start`: the whole system on this machine without Docker, as the named steps of `main()`:
 * preflight (RabbitMQ, PostgreSQL, free ports), secrets, migrate and seed, the broker vhost (or with
 * `--cluster` the local three-node RabbitMQ cluster), build, a mail catcher (unless SMTP_URL is set),
 * the services and their /health, HAProxy in front of the order-api replicas (`--cluster`), the
 * dashboard that watches them, and a banner of where everything is. Ctrl-C during any step stops it
 * all. `npm start -- --raw-logs` shows the services' JSON lines as is.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  ensureLocalSecrets,
  LOCAL_SECRET_FILES,
  SERVICE_PORTS,
  serviceDatabaseEnv,
} from '@shop/config';
import { CUSTOMER_TOKEN, SANDBOX_CARDS, SANDBOX_LATE_SUCCESS_MS } from '@shop/contracts';
import { CLUSTER_REPLICAS, LocalLoadBalancer } from '@shop/local-cluster';
import {
  applyMigrations,
  CATALOGUE,
  databaseNameOf,
  describeSeed,
  redactDatabaseUrl,
  seedCatalogue,
} from '@shop/db';
import { Client } from 'pg';
import { recordLocalProcesses } from '@shop/loadtest';
import { describeExit, launchServiceProcess, type ServiceProcess } from '@shop/testing';
import {
  type ClusterDeployment,
  prepareCluster,
  prepareSingleNode,
  replicaPort,
  type ServiceInstance,
  type ServiceName,
  singleNodeInstances,
} from './cluster-mode';
import { type Colour, compactLogLine, fail, ok, paint, prefix, say, writeOut } from './console-output';
import { loadLocalConfig, type LocalConfig } from './local.config';
import { MAIL_CATCHER_PORTS, type MailCatcher, startMailCatcher } from './mail-catcher';
import { amqpLogin, endpointOf, portIsFree, START_HINTS, tcpReachable } from './preflight';

const ROOT = resolve(__dirname, '../..');
const COLOURS: Record<ServiceName | 'dashboard', Colour> = {
  'order-api': 'cyan',
  'notify-worker': 'magenta',
  'report-worker': 'blue',
  'log-aggregator': 'green',
  identity: 'gray',
  payment: 'bold',
  dashboard: 'yellow',
};
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** A failure already explained to the user: print it and stop. */
class StartError extends Error {
  constructor(
    message: string,
    readonly hints: readonly string[] = [],
  ) {
    super(message);
  }
}

/** One step of `npm start`, named for the messages; the steps run in order until one fails or Ctrl-C. */
interface Step {
  name: string;
  run(): Promise<void>;
}

/** What the steps hand on to the ones after them. */
interface LocalRun {
  options: { rawLogs: boolean; cluster: boolean };
  config: LocalConfig;
  reportsDir: string;
  logDir: string;
  secrets: LocalSecrets;
  /** The services' instances, their broker vhost and its admin URL: the cluster's or the machine's broker. */
  broker: { instances: ServiceInstance[]; adminUrl: string; deployment?: ClusterDeployment };
  smtpUrl: string;
}

type LocalSecrets = { OPS_TOKEN: string; ORDER_TOKEN_SECRET: string };

/** Everything that has to be stopped, and the one flag every step checks: set on Ctrl-C or a failure. */
const running: ServiceProcess[] = [];
let build: ChildProcess | undefined;
let catcher: MailCatcher | undefined;
let balancer: LocalLoadBalancer | undefined;
let stopping = false;
let currentStep = 'arguments';

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const config = loadLocalConfig();
  // Filled in by the steps, each field before the first step that reads it.
  const run = {
    options,
    config,
    reportsDir: resolve(ROOT, config.REPORTS_DIR),
    logDir: resolve(ROOT, config.LOG_DIR),
  } as LocalRun;
  const steps: Step[] = [
    { name: 'preflight', run: () => preflight(run) },
    {
      name: 'secrets',
      run: async () => {
        run.secrets = prepareLocalSecrets();
      },
    },
    { name: 'migrate and seed', run: () => migrateAndSeed(config.DATABASE_URL) },
    {
      name: options.cluster ? 'cluster' : 'broker vhost',
      run: async () => {
        run.broker = options.cluster ? await startCluster() : await prepareVhost(config.RABBITMQ_URL);
      },
    },
    { name: 'build', run: buildEverything },
    {
      name: 'mail catcher',
      run: async () => {
        run.smtpUrl = await startMailCatcherUnlessSet(config);
      },
    },
    { name: 'services', run: () => startServices(run) },
    ...(options.cluster
      ? [{ name: 'load balancer', run: () => startLoadBalancer(run.broker.instances) }]
      : []),
    { name: 'dashboard', run: () => startDashboard(run) },
    { name: 'banner', run: () => announce(run) },
  ];
  for (const step of steps) {
    if (stopping) return;
    currentStep = step.name;
    await step.run();
  }
}

/** Before the cluster, which takes a while: what is missing, and the ports a clash would make us give up on. */
async function preflight({ config, options }: LocalRun): Promise<void> {
  // The cluster is started later; the machine's broker only matters on the single-node path.
  await checkDependencies(config, { machineBroker: !options.cluster });
  if (options.cluster) await checkHaproxyInstalled();
  await checkServicePortsFree(plannedPorts(options.cluster), config.SMTP_URL === undefined);
}

async function migrateAndSeed(databaseUrl: string): Promise<void> {
  const migrations = await applyMigrations({
    databaseUrl,
    migrationsDir: join(ROOT, 'prisma/migrations'),
    log: (line) => say(`migrate: ${line}`),
  });
  ok(
    `database ${databaseNameOf(databaseUrl)}: ${migrations.applied.length} migration(s) applied, ${migrations.alreadyApplied.length} already up to date`,
  );
  ok(`seed: ${describeSeed(await seedCatalogue(databaseUrl), databaseNameOf(databaseUrl))}`);
}

async function startCluster(): Promise<LocalRun['broker']> {
  say('RabbitMQ cluster: starting or finding its three nodes (npm run rabbitmq:cluster -- up)…');
  const deployment = await prepareCluster((line) => say(`cluster: ${line}`));
  ok(
    `RabbitMQ cluster ${deployment.cluster.nodes.map((n) => `${n.label} :${n.amqpPort}`).join(', ')} is up; ` +
      `quorum queues and service users imported into vhost "${deployment.vhost}"`,
  );
  return { instances: deployment.instances, adminUrl: deployment.adminUrl, deployment };
}

async function prepareVhost(rabbitmqUrl: string): Promise<LocalRun['broker']> {
  const single = await prepareSingleNode(rabbitmqUrl, (line) => say(`rabbitmq: ${line}`));
  if (single.provisioned) {
    ok(
      `RabbitMQ vhost "${single.vhost}": topology, queue limit policies and one user per service imported ` +
        '(each service logs in as its own user; passwords in var/secrets)',
    );
  }
  return { instances: single.instances, adminUrl: single.adminUrl };
}

/** npm start's own mail catcher, in this process, unless SMTP_URL names a server to send to. */
async function startMailCatcherUnlessSet(config: LocalConfig): Promise<string> {
  if (config.SMTP_URL !== undefined) {
    ok(`mail goes to SMTP_URL ${redactUrl(config.SMTP_URL)} (no local mail catcher)`);
    return config.SMTP_URL;
  }
  catcher = await startMailCatcher({
    smtpPort: MAIL_CATCHER_PORTS.smtp,
    httpPort: MAIL_CATCHER_PORTS.http,
    maxMessages: config.MAIL_CATCHER_MAX_MESSAGES,
  });
  ok(
    `mail catcher: SMTP ${catcher.smtpUrl}, web UI ${catcher.uiUrl}, keeps the newest ` +
      `${config.MAIL_CATCHER_MAX_MESSAGES.toLocaleString('en-US')} messages (MAIL_CATCHER_MAX_MESSAGES)`,
  );
  return catcher.smtpUrl;
}

/** Every instance of the services at once, through the one launcher of the tools; then their /health. */
async function startServices(run: LocalRun): Promise<void> {
  mkdirSync(run.reportsDir, { recursive: true });
  mkdirSync(run.logDir, { recursive: true });
  for (const instance of run.broker.instances) startInstance(run, instance);
  await waitUntilHealthy(run.broker.instances);
}

/** HAProxy on the API's public port, in front of the order-api replicas (--cluster). */
async function startLoadBalancer(instances: ServiceInstance[]): Promise<void> {
  const apiInstances = instances.filter((instance) => instance.service === 'order-api');
  balancer = await LocalLoadBalancer.start({
    port: SERVICE_PORTS['order-api'],
    backends: apiInstances.map(({ name, port }) => ({ name, port })),
    dir: join(ROOT, 'var/haproxy'),
  }).catch((error: Error) => {
    throw new StartError(error.message);
  });
  say(
    `started HAProxy (pid ${balancer.pid}) on port ${balancer.port}: ${apiInstances.map((i) => `${i.name} :${i.port}`).join(', ')}`,
  );
  await waitUntilHealthy([{ name: 'HAProxy → order-api', port: balancer.port }]);
}

/** Last: it watches the others, and sends its flash sales to the API's public port (HAProxy on a cluster). */
async function startDashboard(run: LocalRun): Promise<void> {
  const { instances, adminUrl } = run.broker;
  startInstance(run, {
    name: 'dashboard',
    service: 'dashboard',
    port: SERVICE_PORTS.dashboard,
    env: {
      RABBITMQ_URL: adminUrl,
      DASHBOARD_TARGETS: instances.map(({ name, port }) => `${name}=http://127.0.0.1:${port}`).join(','),
      ORDER_API_URL: `http://127.0.0.1:${SERVICE_PORTS['order-api']}`,
      // A sale's customers get their tokens from identity (a replica's port on a cluster).
      IDENTITY_URL: `http://127.0.0.1:${identityPortOf(instances)}`,
      // npm start's mail catcher answers Mailpit's API; with SMTP_URL set, a Mailpit on its usual port.
      MAIL_API_URL: catcher?.uiUrl ?? `http://127.0.0.1:${MAIL_CATCHER_PORTS.http}`,
      SALES_DIR: join(ROOT, 'var/loadtest'),
    },
  });
  await waitUntilHealthy([{ name: 'dashboard', port: SERVICE_PORTS.dashboard }]);
}

/** Records the processes for the load test's --cpu, and prints where everything is. */
async function announce(run: LocalRun): Promise<void> {
  // The catcher runs in this supervisor's own process.
  recordLocalProcesses({
    ...(catcher ? { 'mail-catcher': process.pid } : {}),
    ...Object.fromEntries(running.map((service) => [service.name, service.pid])),
    ...(balancer?.pid ? { haproxy: balancer.pid } : {}),
  });
  const sku = await orderableSku(run.config.DATABASE_URL);
  if (stopping) return;
  printBanner({
    reportsDir: run.reportsDir,
    logDir: run.logDir,
    smtpUrl: run.smtpUrl,
    sku,
    instances: run.broker.instances,
    deployment: run.broker.deployment,
    adminUrl: run.broker.adminUrl,
    opsToken: run.secrets.OPS_TOKEN,
  });
}

const identityPortOf = (instances: ServiceInstance[]) =>
  instances.find((instance) => instance.service === 'identity')?.port;

/** One instance as a child process, its output prefixed with its name; its unexpected exit stops everything. */
function startInstance(
  run: LocalRun,
  instance: { name: string; service: ServiceName | 'dashboard'; port: number; env: Record<string, string> },
): void {
  const { name, service: serviceName, port } = instance;
  const { config, secrets, options } = run;
  const label = prefix(name, COLOURS[serviceName]);
  const service = launchServiceProcess({
    service: serviceName,
    name,
    port,
    // The services read and validate these themselves. PORT is set per instance by the launcher, so a
    // PORT in the caller's environment cannot put all of them on one port.
    env: {
      ...process.env,
      // Loopback only, whatever HOST the caller's shell has: nothing outside this machine reaches npm start.
      HOST: '127.0.0.1',
      ...(serviceName === 'dashboard' ? {} : serviceDatabaseEnv(serviceName, config.DATABASE_URL)),
      SMTP_URL: run.smtpUrl,
      OPS_TOKEN: secrets.OPS_TOKEN,
      ORDER_TOKEN_SECRET: secrets.ORDER_TOKEN_SECRET,
      // identity's port differs on a cluster (a replica's): order-api checks customer tokens with its keys.
      IDENTITY_JWKS_URL: `http://127.0.0.1:${identityPortOf(run.broker.instances)}${CUSTOMER_TOKEN.jwksPath}`,
      REPORTS_DIR: run.reportsDir,
      LOG_DIR: run.logDir,
      ...instance.env,
    },
    onLines: (lines) => writeOut(lines.map((line) => showLine(label, line, options.rawLogs)).join('')),
    // The background services yield the CPU to order-api (SERVICE_NICENESS), as in the benches.
    yieldCpu: true,
    ownProcessGroup: true,
  });
  void service.exited.then((exit) => {
    if (!stopping)
      void shutdown(1, `${name} exited unexpectedly (${describeExit(exit)}); stopping everything`);
  });
  running.push(service);
  say(`started ${name} (pid ${service.pid}) on port ${port}`);
}

/** A service's log line as npm start prints it: shortened unless --raw-logs, after its prefix. */
function showLine(label: string, line: string, rawLogs: boolean): string {
  if (rawLogs) return `${label}${line}\n`;
  let text = '';
  for (const shown of compactLogLine(line)) text += `${label}${shown}\n`;
  return text;
}

const SECRETS_DIR = join(ROOT, 'var/secrets');

/**
 * The operator token and the order token secret every service gets, kept in var/secrets (0700, files
 * 0600) so they stay the same from one run to the next: generated on the first run.
 */
function prepareLocalSecrets(): { OPS_TOKEN: string; ORDER_TOKEN_SECRET: string } {
  const secrets = ensureLocalSecrets(SECRETS_DIR);
  const files = Object.values(LOCAL_SECRET_FILES)
    .map((file) => `var/secrets/${file}`)
    .join(', ');
  ok(
    secrets.created.length > 0
      ? `secrets: generated ${secrets.created.join(' and ')} on this first run (${files}, readable by you only)`
      : `secrets: OPS_TOKEN and ORDER_TOKEN_SECRET from ${files}`,
  );
  return { OPS_TOKEN: secrets.OPS_TOKEN, ORDER_TOKEN_SECRET: secrets.ORDER_TOKEN_SECRET };
}

function parseArguments(args: string[]): { rawLogs: boolean; cluster: boolean } {
  const accepted = ['--raw-logs', '--cluster'];
  const unknown = args.filter((arg) => !accepted.includes(arg));
  if (unknown.length > 0)
    throw new StartError(`unknown argument ${unknown.join(' ')} (accepted: ${accepted.join(', ')})`);
  return { rawLogs: args.includes('--raw-logs'), cluster: args.includes('--cluster') };
}

/** The ports this run will listen on: the services', or HAProxy's and every replica's. */
function plannedPorts(cluster: boolean): { port: number; what: string }[] {
  const dashboard = { port: SERVICE_PORTS.dashboard, what: 'dashboard' };
  if (!cluster)
    return [...singleNodeInstances('').map(({ name, port }) => ({ port, what: name })), dashboard];
  const replicas = (Object.keys(CLUSTER_REPLICAS) as ServiceName[]).flatMap((service) =>
    Array.from({ length: CLUSTER_REPLICAS[service] }, (_, i) => ({
      port: replicaPort(service, i + 1),
      what: `${service} replica ${i + 1}`,
    })),
  );
  return [{ port: SERVICE_PORTS['order-api'], what: 'HAProxy (the API)' }, ...replicas, dashboard];
}

async function checkDependencies(
  config: LocalConfig,
  { machineBroker }: { machineBroker: boolean },
): Promise<void> {
  const rabbit = endpointOf(
    config.RABBITMQ_URL,
    new URL(config.RABBITMQ_URL).protocol === 'amqps:' ? 5671 : 5672,
  );
  const postgres = endpointOf(config.DATABASE_URL, 5432);
  const [rabbitProblem, postgresProblem] = await Promise.all([
    (machineBroker ? tcpReachable(rabbit) : Promise.resolve()).then(
      () => undefined,
      (error: Error) => error.message,
    ),
    tcpReachable(postgres).then(
      () => undefined,
      (error: Error) => error.message,
    ),
  ]);
  const problems: string[] = [];
  const hints: string[] = [];
  if (rabbitProblem) {
    problems.push(
      `RabbitMQ is not reachable at ${rabbit.host}:${rabbit.port} (${rabbitProblem}; from RABBITMQ_URL)`,
    );
    hints.push('start RabbitMQ:', ...START_HINTS.rabbitmq.map((command) => `  ${command}`));
  }
  if (postgresProblem) {
    problems.push(
      `PostgreSQL is not reachable at ${postgres.host}:${postgres.port} (${postgresProblem}; from DATABASE_URL)`,
    );
    hints.push('start PostgreSQL:', ...START_HINTS.postgres.map((command) => `  ${command}`));
  }
  if (problems.length > 0)
    throw new StartError(problems.join('\n'), [...hints, 'then run `npm start` again.']);

  if (!machineBroker) {
    ok(`PostgreSQL ${postgres.host}:${postgres.port} is reachable`);
    return;
  }
  await amqpLogin(config.RABBITMQ_URL).catch((error: Error) => {
    throw new StartError(
      `RabbitMQ at ${rabbit.host}:${rabbit.port} refused the connection: ${error.message}`,
      ['check the user, password and vhost in RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672).'],
    );
  });
  ok(`RabbitMQ ${rabbit.host}:${rabbit.port} and PostgreSQL ${postgres.host}:${postgres.port} are reachable`);
}

/** Before the cluster and the services start: HAProxy is what --cluster puts in front of order-api. */
async function checkHaproxyInstalled(): Promise<void> {
  const version = await new Promise<string | undefined>((answer) =>
    execFile('haproxy', ['-v'], (error, stdout) => answer(error ? undefined : stdout.split('\n')[0])),
  );
  if (!version)
    throw new StartError('HAProxy is not installed: `npm start -- --cluster` runs it in front of order-api', [
      'install it: sudo apt-get install -y haproxy   (Debian/Ubuntu; brew install haproxy on macOS)',
      'then run `npm start -- --cluster` again.',
    ]);
  ok(`HAProxy: ${version.trim()}`);
}

async function checkServicePortsFree(
  planned: { port: number; what: string }[],
  withMailCatcher: boolean,
): Promise<void> {
  const ports = [...planned];
  if (withMailCatcher) {
    ports.push(
      { port: MAIL_CATCHER_PORTS.smtp, what: 'mail catcher SMTP' },
      { port: MAIL_CATCHER_PORTS.http, what: 'mail catcher web UI' },
    );
  }
  const taken = (
    await Promise.all(ports.map(async (entry) => ((await portIsFree(entry.port)) ? undefined : entry)))
  ).filter((entry) => entry !== undefined);
  if (taken.length === 0) return;
  const hints = [
    `see who holds them: ss -ltnp | grep -E ':(${taken.map((t) => t.port).join('|')})\\b'`,
    'another `npm start` (or a service started by hand) is the usual culprit: stop it first.',
  ];
  if (taken.some((t) => t.what.startsWith('mail catcher'))) {
    hints.push(
      `if Mailpit (or another catcher) holds ${MAIL_CATCHER_PORTS.smtp}/${MAIL_CATCHER_PORTS.http}, keep it and use it: ` +
        `SMTP_URL=smtp://127.0.0.1:${MAIL_CATCHER_PORTS.smtp} npm start`,
    );
  }
  throw new StartError(
    `port(s) already in use: ${taken.map((t) => `${t.port} (${t.what})`).join(', ')}`,
    hints,
  );
}

async function buildEverything(): Promise<void> {
  say('building every project (nx run-many -t build)…');
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((resolveExit, reject) => {
    // The nx binary itself rather than npx, so the PID stopped on Ctrl-C is nx's own.
    build = spawn(join(ROOT, 'node_modules/.bin/nx'), ['run-many', '-t', 'build', '--outputStyle=static'], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    build.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    build.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    build.once('error', reject);
    build.once('exit', (exitCode) => resolveExit(exitCode));
  });
  build = undefined;
  if (stopping) return;
  const text = output.join('');
  if (code !== 0) {
    process.stdout.write(`\n${text}\n`);
    throw new StartError(`the build failed (exit ${code}); its output is above`);
  }
  const projects = /Successfully ran target build for (\d+) projects?/.exec(text)?.[1];
  const cached = /for (\d+) out of (\d+) tasks/.exec(text)?.[1];
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  ok(`built ${projects ?? 'all'} projects in ${seconds} s${cached ? ` (${cached} from the Nx cache)` : ''}`);
}

async function waitUntilHealthy(instances: { name: string; port: number }[]): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  const started = Date.now();
  const last = new Map<string, string>();
  const portOf = new Map(instances.map(({ name, port }) => [name, port]));
  const pending = new Set(portOf.keys());
  while (pending.size > 0 && !stopping) {
    await Promise.all(
      [...pending].map(async (name) => {
        try {
          const response = await fetch(`http://127.0.0.1:${portOf.get(name)}/health`, {
            signal: AbortSignal.timeout(3_000),
          });
          const body = (await response.text()).slice(0, 300);
          last.set(name, `${response.status} ${body}`);
          if (response.status === 200) {
            pending.delete(name);
            ok(
              `${name} is healthy (http://localhost:${portOf.get(name)}/health, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
            );
          }
        } catch (error) {
          last.set(name, `no answer (${(error as Error).message})`);
        }
      }),
    );
    if (pending.size === 0 || stopping) return;
    if (Date.now() > deadline) {
      throw new StartError(
        `not healthy after ${HEALTH_TIMEOUT_MS / 1000} s: ${[...pending]
          .map((name) => `${name} (last answer: ${last.get(name) ?? 'none'})`)
          .join('; ')}`,
        ['its log lines above usually say why (a dependency down, a bad variable).'],
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A sku the banner's curl can order: the first catalogue product with stock, else any product with stock. */
async function orderableSku(databaseUrl: string): Promise<string | undefined> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ sku: string }>(
      `SELECT sku FROM products WHERE stock > 0
       ORDER BY array_position($1::text[], sku::text) NULLS LAST, sku LIMIT 1`,
      [CATALOGUE.map((product) => product.sku)],
    );
    return rows[0]?.sku;
  } finally {
    await client.end();
  }
}

function printBanner(info: {
  reportsDir: string;
  logDir: string;
  smtpUrl: string;
  sku: string | undefined;
  instances: ServiceInstance[];
  deployment: ClusterDeployment | undefined;
  /** guest's URL in the services' vhost, for the load test's queue depths. */
  adminUrl: string;
  opsToken: string;
}): void {
  const api = `http://localhost:${SERVICE_PORTS['order-api']}`;
  const line = paint('─'.repeat(78), 'gray');
  const row = (label: string, value: string) => `  ${paint(label.padEnd(11), 'bold')} ${value}`;
  const body = JSON.stringify({
    customer: { email: 'wang.fang@example.cn', name: '王芳' },
    items: [{ sku: info.sku ?? '<SKU>', quantity: 1 }],
  });
  const lines = [
    '',
    line,
    paint(
      info.deployment
        ? '  The order system is running scaled out on a RabbitMQ cluster. Ctrl-C stops the services.'
        : '  The order system is running. Ctrl-C stops everything.',
      'bold',
      'green',
    ),
    '',
    row(
      'Dashboard',
      `http://localhost:${SERVICE_PORTS.dashboard}   (live: queues, orders, workers, flash sales)`,
    ),
    row('API', info.deployment ? `${api}   (HAProxy → ${instancesOf(info.instances, 'order-api')})` : api),
    row('API docs', `${api}/docs`),
    row(
      'Operator',
      `${info.opsToken}   (OPS_TOKEN, kept in var/secrets/${LOCAL_SECRET_FILES.OPS_TOKEN}; the dashboard asks ` +
        'for it, the API takes it as Authorization: Bearer <token>)',
    ),
    row('Products', `${api}/products`),
    row(
      'Sign-in',
      `http://localhost:${info.instances.find((instance) => instance.service === 'identity')?.port}` +
        '/customers/sign-in   (customers: a code by email, exchanged at POST /customers/token for a JWT)',
    ),
    row(
      'Payments',
      `${instancesOf(info.instances, 'payment')}   (SANDBOX provider, no money moves: card ${SANDBOX_CARDS.succeeds} ` +
        `succeeds, ${SANDBOX_CARDS.declined} is declined, ${SANDBOX_CARDS.timesOut} times out, ` +
        `${SANDBOX_CARDS.succeedsLate} succeeds after ${SANDBOX_LATE_SUCCESS_MS / 1000} s)`,
    ),
    catcher
      ? row('Mail UI', `${catcher.uiUrl}   (SMTP ${catcher.smtpUrl}, API ${catcher.uiUrl}/api/v1/messages)`)
      : row('Mail', `sent to ${redactUrl(info.smtpUrl)}`),
    row('Reports', info.reportsDir),
    row('Logs', info.logDir),
    ...(info.deployment ? clusterRows(info.deployment, info.instances, row) : []),
    row(
      'Health',
      [...info.instances, { name: 'dashboard', port: SERVICE_PORTS.dashboard }]
        .map(({ name, port }) => `:${port} ${name}`)
        .join('  '),
    ),
    '',
    '  Place an order:',
    `  curl -i -X POST ${api}/orders -H 'Content-Type: application/json' -d '${body}'`,
    ...(info.sku ? [] : ['  (no product has stock yet: add one with PUT /products/<sku>, see the API docs)']),
    '  Read it with the accessToken of the answer (the PDF: /orders/<id>/report?accessToken=<accessToken>):',
    `  curl -s ${api}/orders/<id> -H 'Authorization: Bearer <accessToken>'`,
    '  Pay for it before the payBy of the answer (PAYMENT_WINDOW_MS: 15 min unless set), or cancel it:',
    `  curl -i -X POST ${api}/orders/<id>/payment -H 'Authorization: Bearer <accessToken>' -H 'Content-Type: application/json' -d '{"card":"${SANDBOX_CARDS.succeeds}"}'`,
    `  curl -i -X POST ${api}/orders/<id>/cancel -H 'Authorization: Bearer <accessToken>'`,
    '',
    info.deployment ? '  A flash sale on it (queue depths read from the cluster):' : '  A flash sale on it:',
    `  npm run loadtest:flash-sale -- --amqp '${info.adminUrl.split(',')[0]}' --cpu`,
    line,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const instancesOf = (instances: ServiceInstance[], service: ServiceName): string =>
  instances
    .filter((instance) => instance.service === service)
    .map(({ name, port }) => `${name} :${port}`)
    .join(', ');

function clusterRows(
  deployment: ClusterDeployment,
  instances: ServiceInstance[],
  row: (label: string, value: string) => string,
): string[] {
  return [
    row(
      'RabbitMQ',
      `${deployment.cluster.nodes.map((n) => `${n.label} :${n.amqpPort}`).join(', ')}   (quorum queues on all three)`,
    ),
    row('Workers', `${instancesOf(instances, 'notify-worker')}, ${instancesOf(instances, 'report-worker')}`),
    row(
      'Cluster',
      'npm run rabbitmq:cluster -- status   (it keeps running after Ctrl-C; `-- down` removes it)',
    ),
  ];
}

const redactUrl = (url: string): string =>
  url.startsWith('postgres') ? redactDatabaseUrl(url) : url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

async function shutdown(code: number, why: string, hints: readonly string[] = []): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (code === 0) say(why);
  else fail(why);
  for (const hint of hints) say(`  ${hint}`);
  if (build?.pid !== undefined) process.kill(build.pid, 'SIGTERM');
  const alive = running.filter((service) => service.isRunning());
  if (alive.length > 0) say(`stopping ${alive.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}…`);
  const exits = await Promise.all(
    alive.map(async (service) => {
      const exit = await service.stop('SIGTERM', { graceMs: STOP_GRACE_MS });
      return `${service.name}: ${describeExit(exit)}`;
    }),
  );
  if (exits.length > 0) say(`stopped (${exits.join(', ')})`);
  await balancer?.stop().catch(() => undefined);
  await catcher?.stop().catch(() => undefined);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  // One Ctrl-C can arrive more than once (from the terminal, npm and tsx): shutdown() ignores repeats.
  process.on(signal, () => void shutdown(0, `${signal}: stopping everything`));
}

main().catch((error: unknown) => {
  if (error instanceof StartError) {
    void shutdown(1, error.message, error.hints);
    return;
  }
  const message =
    error instanceof ConfigError
      ? error.message
      : `failed at step "${currentStep}": ${(error as Error).stack ?? String(error)}`;
  void shutdown(1, message);
});
