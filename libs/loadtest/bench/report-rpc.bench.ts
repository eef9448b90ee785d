/**
 * `npm run build && npm run bench:rpc`: the round trip of report_rpc for a stored PDF, at 1 and 20
 * concurrent callers, beside a raw amqplib request/reply baseline measured in the same run (a replier
 * in this process that answers each request at once with a buffer the size of the PDF).
 *
 * Both use what order-api uses: direct reply-to, a request through the default exchange, one channel
 * for the requests and the replies. Prints p50 / p99 / max per concurrency and the CPU that one call
 * costs report-worker (from /proc). Knobs: BENCH_RPC_CALLS (400 per concurrency).
 *
 * Environment: database `orders_bench` (created, migrated, emptied), vhost `shop_bench`, one built
 * report-worker process with a temporary REPORTS_DIR.
 */
import { LOCAL_DEFAULTS, serviceDatabaseUrl } from '@shop/config';
import { MessageTypes, Queues } from '@shop/contracts';
import { ensureVhostExists } from '@shop/testing';
import { connect, type Channel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { summarise } from '../src/stats';
import { formatNumber, formatTable } from '../src/summary';
import { CpuTimeline } from '../src/support/cpu-timeline';
import { ServiceLauncher } from './support/service-launcher';
import {
  assertBuilt,
  BENCH_VHOST,
  benchDatabaseUrl,
  benchRabbitmqUrl,
  prepareToolDatabase,
  warnIfBuildIsStale,
} from './support/tool-environment';
import { insertOrders } from './workers/workers-fixtures';

const CALLS = Number(process.env.BENCH_RPC_CALLS ?? 400);
const CONCURRENCIES = [1, 20];
const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const BASELINE_QUEUE = 'bench.rpc.baseline';
const log = (line: string) => console.error(`[bench] ${line}`);

/** A direct reply-to caller: many calls in flight on one channel, replies matched by correlation id. */
class Caller {
  private readonly waiting = new Map<string, (reply: ConsumeMessage) => void>();
  private constructor(private readonly channel: Channel) {}

  static async open(channel: Channel): Promise<Caller> {
    const caller = new Caller(channel);
    await channel.consume(DIRECT_REPLY_TO, (reply) => reply && caller.onReply(reply), { noAck: true });
    return caller;
  }

  call(queue: string, body: object): Promise<{ ms: number; reply: ConsumeMessage }> {
    const correlationId = randomUUID();
    const started = performance.now();
    return new Promise((resolve) => {
      this.waiting.set(correlationId, (reply) => resolve({ ms: performance.now() - started, reply }));
      this.channel.sendToQueue(queue, Buffer.from(JSON.stringify(body)), {
        replyTo: DIRECT_REPLY_TO,
        correlationId,
        type: MessageTypes.reportRequestV1,
        contentType: 'application/json',
        expiration: '10000',
      });
    });
  }

  private onReply(reply: ConsumeMessage): void {
    const id = String(reply.properties.correlationId);
    this.waiting.get(id)?.(reply);
    this.waiting.delete(id);
  }
}

async function measure(caller: Caller, queue: string, body: object, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < CALLS) {
        const { ms, reply } = await caller.call(queue, body);
        if (queue === Queues.reportRpc && reply.properties.type !== MessageTypes.reportPdfV1) {
          throw new Error(`report_rpc answered ${reply.properties.type}: ${reply.content.toString()}`);
        }
        latencies.push(ms);
      }
    }),
  );
  return {
    latency: summarise(latencies),
    perSecond: (latencies.length * 1000) / (performance.now() - started),
  };
}

async function main(): Promise<void> {
  assertBuilt(['report-worker']);
  warnIfBuildIsStale(['report-worker']);
  const databaseUrl = benchDatabaseUrl(process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl);
  const rabbitmqUrl = benchRabbitmqUrl(process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl);
  await prepareToolDatabase(databaseUrl, log);
  ensureVhostExists(rabbitmqUrl, BENCH_VHOST, log);
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const reportsDir = await mkdtemp(join(tmpdir(), 'rpc-bench-'));
  const processes = new ServiceLauncher();
  // noDelay, as the services connect: without it Nagle and delayed ACK hold a lone round trip back.
  const connection = await connect(rabbitmqUrl, { noDelay: true });
  try {
    const worker = await processes.start('report-worker', {
      DATABASE_URL: serviceDatabaseUrl(databaseUrl, 'report-worker'),
      RABBITMQ_URL: rabbitmqUrl,
      REPORTS_DIR: reportsDir,
    });
    const channel = await connection.createChannel();
    await channel.purgeQueue(Queues.reportRpc);
    const caller = await Caller.open(channel);
    const [event] = await insertOrders(pool, 1);
    // The first call renders and stores the PDF; every measured call gets the stored one.
    const first = await caller.call(Queues.reportRpc, { orderId: event.data.orderId, order: event.data });
    const pdfBytes = first.reply.content.length;
    log(`order ${event.data.orderId}: PDF of ${pdfBytes} bytes stored`);

    // Baseline: a replier that answers at once with as many bytes, through the same broker.
    const replier = await connection.createChannel();
    await replier.assertQueue(BASELINE_QUEUE, { exclusive: true });
    const payload = Buffer.alloc(pdfBytes, 1);
    await replier.consume(
      BASELINE_QUEUE,
      (request) =>
        request &&
        replier.sendToQueue(String(request.properties.replyTo), payload, {
          correlationId: request.properties.correlationId,
        }),
      { noAck: true },
    );

    const timeline = new CpuTimeline({ 'report-worker': worker.pid });
    timeline.start();
    const rows: string[][] = [];
    for (const concurrency of CONCURRENCIES) {
      const raw = await measure(caller, BASELINE_QUEUE, { orderId: event.data.orderId }, concurrency);
      timeline.mark(`rpc-${concurrency}-start`);
      const rpc = await measure(caller, Queues.reportRpc, { orderId: event.data.orderId }, concurrency);
      timeline.mark(`rpc-${concurrency}-end`);
      const window = timeline.between(`rpc-${concurrency}-start`, `rpc-${concurrency}-end`);
      const workerMs = ((window?.cpuSeconds['report-worker'] ?? NaN) * 1000) / CALLS;
      for (const [name, figures, cpu] of [
        ['raw amqplib request/reply', raw, '-'],
        ['report_rpc, stored PDF', rpc, formatNumber(workerMs, 2)],
      ] as const) {
        rows.push([
          name,
          String(concurrency),
          formatNumber(figures.perSecond),
          formatNumber(figures.latency.p50, 2),
          formatNumber(figures.latency.p99, 2),
          formatNumber(figures.latency.max, 1),
          cpu,
        ]);
      }
    }
    console.log(
      `\nreport_rpc round trip, ${CALLS} calls per row, PDF ${pdfBytes} bytes (same run, same broker)\n`,
    );
    console.log(
      formatTable(
        ['calls', 'callers', 'calls/s', 'p50 ms', 'p99 ms', 'max ms', 'report-worker CPU ms/call'],
        rows,
      ),
    );
    timeline.stop();
    // The first call's render announced order.reported.v1; no order-api here consumes it.
    await channel.purgeQueue(Queues.orderStatus);
  } finally {
    await connection.close().catch(() => undefined);
    await processes.stopAll();
    await pool.end();
    await rm(reportsDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
