import { serviceDatabaseUrl } from '@shop/config';
import { deadLetterQueueOf, Queues, type WorkQueueName } from '@shop/contracts';
import { waitFor, type ServiceProcess } from '@shop/testing';
import amqp from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { CpuTimeline, type CpuWindow } from '../../src/support/cpu-timeline';
import { DbActivitySampler } from '../support/db-activity-sampler';
import type { ServiceLauncher } from '../support/service-launcher';
import { Tally } from '../support/tally';
import {
  committedTransactions,
  emptyTables,
  insertOrders,
  LOG_QUEUES,
  queuesOf,
  type BenchBroker,
} from './workers-fixtures';

/** The processes a throughput run needs; everything else on the machine is competition. */
export const SET_UP = ['worker', 'bench', 'postgres', 'rabbitmq'] as const;

/** One worker as the throughput phase drives it. */
export interface WorkerUnderTest {
  service: 'notify-worker' | 'report-worker';
  queue: WorkQueueName;
  routingKey: 'order.notify' | 'order.report';
  /** What one message produces: `emails`, `PDFs`. */
  unit: string;
  /** Messages per run. */
  count: number;
  /** The service's environment besides DATABASE_URL, RABBITMQ_URL and PREFETCH (SMTP_URL, REPORTS_DIR). */
  env: () => Promise<Record<string, string>>;
  /** The SQL giving, per order done, the epoch milliseconds its row was recorded (just before the ack). */
  recordedAtSql: string;
  /** Called after each run (clear the SMTP sink, remove the PDFs). */
  afterRun?: () => Promise<void>;
}

export interface ThroughputRun {
  service: string;
  unit: string;
  prefetch: number;
  count: number;
  /** Raw amqplib consume + ack of the same messages at the same prefetch. */
  rawPerSecond: number;
  /** Worker: messages done per second, first recorded row to last. */
  perSecond: number;
  /** The same without the first 10% of results (cold JIT, pools filling). */
  steadyPerSecond: number;
  seconds: number;
  /** Spawn to first recorded row: process start, Nest, connections (and the font for PDFs). */
  firstResultSeconds: number;
  cpu: CpuWindow | undefined;
  /** Worker CPU per message, from the CPU window and the messages done inside it. */
  workerCpuMsPerMessage: number;
  /** CPU milliseconds per message of each part of the set-up: worker, bench (SMTP sink), postgres, rabbitmq. */
  cpuMsPerMessage: Record<string, number>;
  /** Database transactions (pg_stat_database) per message, the bench's own subtracted. */
  dbTransactionsPerMessage: number;
  /** Average connections of the worker by state, e.g. `ClientRead 3.1, running 0.6`. */
  dbActivity: string;
  /** Log records the worker published to the broker's `logs` exchange (log_archive), per message. */
  logRecordsPerMessage: number;
}

export interface ThroughputContext {
  pool: Pool;
  broker: BenchBroker;
  databaseUrl: string;
  rabbitmqUrl: string;
  processes: ServiceLauncher;
  log: (line: string) => void;
}

/**
 * One run: N fixture orders in the database and their messages in the queue, then the raw consumer
 * drains them (baseline), then they are published again and ONE worker process starts on the full
 * queue. Pre-loading measures the worker, not the publisher: the queue never runs dry.
 */
export async function measureThroughput(
  context: ThroughputContext,
  worker: WorkerUnderTest,
  prefetch: number,
): Promise<ThroughputRun> {
  const { pool, broker, log } = context;
  await resetFor(context, worker);
  const events = await insertOrders(pool, worker.count);

  await broker.publishOrderPlaced(worker.routingKey, events);
  const rawPerSecond = await measureRawConsume(context.rabbitmqUrl, worker.queue, prefetch, worker.count);

  const published = performance.now();
  await broker.publishOrderPlaced(worker.routingKey, events);
  const publishSeconds = (performance.now() - published) / 1000;

  const timeline = new CpuTimeline({ bench: process.pid });
  const activity = new DbActivitySampler(context.databaseUrl, worker.service);
  await sleep(1_100); // lets pg_stat_database take in the fixture's transactions before counting
  const transactionsBefore = await committedTransactions(pool);
  let benchQueries = 1;
  timeline.start();
  await activity.begin();
  const spawnedAt = Date.now();
  let running: ServiceProcess | undefined;
  try {
    running = await context.processes.start(worker.service, {
      DATABASE_URL: serviceDatabaseUrl(context.databaseUrl, worker.service),
      RABBITMQ_URL: context.rabbitmqUrl,
      PREFETCH: String(prefetch),
      ...(await worker.env()),
    });
    const service = running;
    timeline.name('worker', service.pid);
    const doneCount = async () => {
      benchQueries++;
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (${worker.recordedAtSql}) AS recorded`,
      );
      return rows[0].n;
    };
    await waitFor(
      `${worker.count} ${worker.unit} recorded by ${worker.service}`,
      async () => {
        if (!service.isRunning())
          throw new Error(`${worker.service} exited:\n${service.output().slice(-2_000)}`);
        const parked = (await broker.depth(deadLetterQueueOf(worker.queue))).messages;
        if (parked > 0) throw new Error(`${parked} message(s) parked in ${deadLetterQueueOf(worker.queue)}`);
        return (await doneCount()) >= worker.count;
      },
      { timeoutMs: Math.max(60_000, worker.count * 100), intervalMs: 250, failFast: true },
    );
  } finally {
    timeline.stop();
    benchQueries += await activity.end();
    if (running) await context.processes.stop(running);
  }

  const logRecords = (await broker.depth(Queues.logArchive)).messages;
  const leftovers = await leftoverMessages(broker, worker.queue);
  if (leftovers !== '-') throw new Error(`after ${worker.service} stopped, queues still hold ${leftovers}`);
  await sleep(1_100); // the worker's connections flushed their statistics on exit; ours within a second
  const transactions = (await committedTransactions(pool)) - transactionsBefore - benchQueries;

  const { rows } = await pool.query<{ t: number }>(
    `SELECT t FROM (${worker.recordedAtSql}) AS recorded ORDER BY t`,
  );
  const times = rows.map((row) => row.t);
  const seconds = (times[times.length - 1] - times[0]) / 1000;
  const cpu = timeline.window(times[0], times[times.length - 1]);
  const doneInWindow = cpu ? times.filter((t) => t >= cpu.from && t <= cpu.to).length : 0;
  const cpuMsPerMessage = Object.fromEntries(
    SET_UP.map((group) => [
      group,
      cpu ? ((cpu.cpuSeconds[group] ?? 0) * 1000) / Math.max(1, doneInWindow) : Number.NaN,
    ]),
  );
  const run: ThroughputRun = {
    service: worker.service,
    unit: worker.unit,
    prefetch,
    count: times.length,
    rawPerSecond,
    perSecond: (times.length - 1) / seconds,
    steadyPerSecond: rateFrom(times, Math.floor(times.length / 10)),
    seconds,
    firstResultSeconds: (times[0] - spawnedAt) / 1000,
    cpu,
    workerCpuMsPerMessage: cpuMsPerMessage.worker ?? Number.NaN,
    cpuMsPerMessage,
    dbTransactionsPerMessage: transactions / times.length,
    dbActivity: activity.describe(),
    logRecordsPerMessage: logRecords / times.length,
  };
  log(
    `${worker.service} prefetch ${prefetch}: raw ${Math.round(rawPerSecond)} msg/s; ` +
      `worker ${Math.round(run.perSecond)} ${worker.unit}/s (${times.length} in ${seconds.toFixed(1)} s, ` +
      `first after ${run.firstResultSeconds.toFixed(1)} s; published in ${publishSeconds.toFixed(1)} s)`,
  );
  await worker.afterRun?.();
  return run;
}

/** Results per second from the `first`-th (ascending epoch ms) to the last. */
function rateFrom(times: number[], first: number): number {
  return (times.length - 1 - first) / ((times[times.length - 1] - times[first]) / 1000);
}

/** Empty queues and tables, and nobody else consuming the queue (a leftover worker would skew the run). */
export async function resetFor(context: Pick<ThroughputContext, 'pool' | 'broker'>, worker: WorkerUnderTest) {
  const { consumers } = await context.broker.depth(worker.queue);
  if (consumers > 0) {
    throw new Error(
      `${worker.queue} in the bench vhost already has ${consumers} consumer(s): stop them first`,
    );
  }
  await context.broker.purge([...queuesOf(worker.queue), ...LOG_QUEUES]);
  await emptyTables(context.pool);
}

async function leftoverMessages(broker: BenchBroker, queue: WorkQueueName): Promise<string> {
  const tally = new Tally();
  for (const name of queuesOf(queue)) {
    const { messages } = await broker.depth(name);
    if (messages > 0) tally.add(name, messages);
  }
  return tally.toString();
}

/**
 * The baseline: amqplib consuming the same messages at the same prefetch and acking each at once, no
 * work. Messages per second from the first ack to the last.
 */
async function measureRawConsume(
  url: string,
  queue: string,
  prefetch: number,
  count: number,
): Promise<number> {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(prefetch);
    let acked = 0;
    let first = 0;
    let last = 0;
    await channel.consume(queue, (message) => {
      if (!message) return;
      channel.ack(message);
      last = performance.now();
      if (acked === 0) first = last;
      acked++;
    });
    await waitFor(`raw consumer to ack ${count} messages`, () => acked >= count, {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    return (count - 1) / ((last - first) / 1000);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
