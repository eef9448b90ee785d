import { Queues } from '@shop/contracts';
import { applyMigrations, databaseNameOf } from '@shop/db';
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from 'pg';
import { pollUntil, Tally } from './bench-support';

export {
  benchDatabaseUrl,
  benchRabbitmqUrl,
  ensureBenchVhostExists as ensureBenchVhost,
} from '@shop/testing';

/**
 * The benchmark's isolated environment: database `orders_bench`, vhost `shop_bench`, and the built
 * order-api running as a child process against them. Nothing here touches `orders` or `/`.
 */

export const REPO_ROOT = join(__dirname, '../../..');
const ORDER_API_MAIN = join(REPO_ROOT, 'services/order-api/dist/main.js');
const BENCH_QUEUES = [Queues.orderNotify, Queues.orderReport];

// ---------------------------------------------------------------------------------------------
// Database and vhost

/** Creates and migrates the bench database, then empties it so every run starts from the same state. */
export async function prepareBenchDatabase(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const name = databaseNameOf(databaseUrl);
  if (!name.includes('bench'))
    throw new Error(`Refusing to reset database "${name}": its name must contain "bench".`);
  await applyMigrations({
    databaseUrl,
    migrationsDir: join(REPO_ROOT, 'prisma/migrations'),
    log: (line) => log(`database ${name}: ${line}`),
  });
  await withClient(databaseUrl, (client) =>
    client.query('TRUNCATE order_items, outbox_messages, orders, products'),
  );
}

export async function withClient<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Messages waiting in each order queue of the bench vhost (undefined: the queue does not exist yet). */
export async function queueDepths(rabbitmqUrl: string): Promise<Record<string, number | undefined>> {
  return onBenchQueues(rabbitmqUrl, async (channel, queue) => (await channel.checkQueue(queue)).messageCount);
}

/** Empties the order queues of the bench vhost: nothing consumes them, so they would only grow. */
export async function purgeBenchQueues(rabbitmqUrl: string): Promise<Record<string, number | undefined>> {
  return onBenchQueues(rabbitmqUrl, async (channel, queue) => (await channel.purgeQueue(queue)).messageCount);
}

async function onBenchQueues(
  rabbitmqUrl: string,
  action: (channel: amqp.Channel, queue: string) => Promise<number>,
): Promise<Record<string, number | undefined>> {
  const connection = await amqp.connect(rabbitmqUrl);
  connection.on('error', () => undefined);
  try {
    const results: Record<string, number | undefined> = {};
    for (const queue of BENCH_QUEUES) {
      // One channel per queue: a missing queue closes its channel with 404.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      results[queue] = await action(channel, queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    return results;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * Samples what the database connections of one application are doing (pg_stat_activity every 50 ms):
 * running, waiting on a lock, on WAL, or idle waiting for the client. Tells a hot-row bound run from
 * one where the client cannot keep the connections busy.
 */
export class DbActivitySampler {
  private readonly states = new Tally();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private client: Client | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly applicationName: string,
  ) {}

  async begin(): Promise<void> {
    this.client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'orders-bench-sampler',
    });
    await this.client.connect();
    this.schedule();
  }

  /** Average number of connections in each state, busiest first, e.g. `Lock:tuple 9.8, running 2.1`. */
  async end(): Promise<string> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sampling;
    await this.client?.end();
    return this.states
      .entries()
      .map(([state, count]) => [state, count / Math.max(1, this.samples)] as const)
      .filter(([, average]) => average >= 0.05)
      .sort(([, a], [, b]) => b - a)
      .map(([state, average]) => `${state} ${average.toFixed(1)}`)
      .join(', ');
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sampling = this.sample()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, 50);
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client!.query<{ state: string }>(
      `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'running')
                   ELSE coalesce(state, 'unknown') END AS state
         FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database()`,
      [this.applicationName],
    );
    this.samples++;
    for (const row of rows) this.states.add(row.state);
  }
}

// ---------------------------------------------------------------------------------------------
// The order-api child process

export interface RunningOrderApi {
  pid: number;
  baseUrl: string;
  /** Log records the API wrote at warn level or above, by level. */
  problems: Tally;
  logTail(): string[];
  stop(): Promise<void>;
}

/** Fails with the command to run when the API has not been built. */
export function assertOrderApiBuilt(): void {
  if (!existsSync(ORDER_API_MAIN)) {
    throw new Error(
      `${relative(REPO_ROOT, ORDER_API_MAIN)} is missing: run \`npm run build\` first (the bench runs the built API).`,
    );
  }
}

/** Sources changed after the build, which the bench would not measure (empty when the build is fresh). */
export function sourcesNewerThanBuild(): string[] {
  const builtAt = statSync(ORDER_API_MAIN).mtimeMs;
  const roots = [
    join(REPO_ROOT, 'services/order-api/src'),
    ...readdirSync(join(REPO_ROOT, 'libs')).map((lib) => join(REPO_ROOT, 'libs', lib, 'src')),
  ];
  return roots
    .filter((root) => existsSync(root))
    .flatMap((root) =>
      readdirSync(root, { recursive: true, encoding: 'utf8' }).map((file) => join(root, file)),
    )
    .filter((file) => /(?<!spec)\.ts$/.test(file) && !file.includes('/generated/'))
    .filter((file) => statSync(file).mtimeMs > builtAt)
    .map((file) => relative(REPO_ROOT, file));
}

export async function startOrderApi(env: Record<string, string>): Promise<RunningOrderApi> {
  const child = spawn(process.execPath, [ORDER_API_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start the order-api process');
  const pid = child.pid;
  const tail: string[] = [];
  const problems = new Tally();
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    const level = /"level":"(warn|error|fatal)"/.exec(line)?.[1];
    if (level) problems.add(level);
  };
  readLines(child.stdout, onLine);
  readLines(child.stderr, onLine);

  const baseUrl = `http://127.0.0.1:${env.PORT}`;
  const api: RunningOrderApi = {
    pid,
    baseUrl,
    problems,
    logTail: () => [...tail],
    stop: () => stopChild(child),
  };
  const settled = await pollUntil(
    async () => child.exitCode !== null || (await fetch(`${baseUrl}/health`)).status === 200,
    { timeoutMs: 30_000 },
  );
  if (!settled || child.exitCode !== null) {
    await api.stop();
    throw new Error(
      `order-api did not report healthy on ${baseUrl}/health; its last output:\n${tail.join('\n')}`,
    );
  }
  return api;
}

function readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    lines.filter(Boolean).forEach(onLine);
  });
}

/** SIGTERM by pid (the API drains and closes its connections), SIGKILL if it is still there after 15 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}
