import { Exchanges, OrderSteps, Queues, type LogRecordV1 } from '@shop/contracts';
import { attachLogPublisher, JsonLogger, runWithLogContext } from '@shop/logging';
import {
  BrokerProbe,
  createTestPool,
  freePort,
  insertProduct,
  queueExists,
  resetDatabase,
  SmtpSink,
  startServiceProcess,
  startWorkerProcesses,
  testConfig,
  testRabbitmqUrlAs,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declareLogTopology, logRecord, publishLogRecord } from '../testing/log-aggregator.harness';

const ROOT = join(__dirname, '../../../..');
const CLI = 'services/log-aggregator/src/cli/logs-tail.cli.ts';

/**
 * What `npm run logs:tail` runs, as one process (the tsx wrapper would leave its child behind when
 * killed, and signals are what this spec is about).
 */
const spawnTail = (args: string[], stdio: ('ignore' | 'pipe')[]) =>
  spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', RABBITMQ_URL: testConfig.rabbitmqUrl },
    stdio,
  });

interface Tail {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The server-named queue it printed on start. */
  queue: string;
  exited: Promise<number | null>;
}

/** `npm run logs:tail -- ...args` as a process (stdout is a pipe, so no colour). */
async function startTail(args: string[]): Promise<Tail> {
  const child = spawnTail(args, ['ignore', 'pipe', 'pipe']);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const queue = await waitFor(
    'the tail to start',
    () => {
      if (child.exitCode !== null) throw new Error(`logs:tail exited: ${stderr}`);
      return /through queue (\S+);/.exec(stderr)?.[1];
    },
    { timeoutMs: 20_000 },
  );
  return { child, stdout: () => stdout, stderr: () => stderr, queue, exited };
}

describe('npm run logs:tail (a real process against the test vhost)', () => {
  let broker: BrokerProbe;
  const running: Tail[] = [];
  /** Starts a tail that afterEach kills if the test left it running. */
  const tailOf = async (args: string[]) => {
    const tail = await startTail(args);
    running.push(tail);
    return tail;
  };

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
  });
  afterEach(async () => {
    for (const tail of running.splice(0)) {
      if (tail.child.exitCode === null) tail.child.kill('SIGKILL');
      await tail.exited;
    }
  });
  afterAll(() => broker.close());

  it('with a key shows only matching records, readable and uncoloured, and leaves no queue after Ctrl-C', async () => {
    const tail = await tailOf(['order-api.*']);
    expect(tail.stderr()).toContain(`tailing ${Exchanges.logs} "order-api.*"`);
    expect(await queueExists(tail.queue)).toBe(true);

    const order = `order-${randomUUID()}`;
    await publishLogRecord(
      broker,
      logRecord({ service: 'notify-worker', level: 'error', correlationId: order, message: 'not for me' }),
    );
    await publishLogRecord(
      broker,
      logRecord({
        service: 'order-api',
        level: 'error',
        correlationId: order,
        context: 'OrdersService',
        message: 'could not place',
        stack: 'Error: could not place\n    at place (orders.service.ts:1:1)',
      }),
    );
    const lines = await waitFor('the order-api record on stdout', () => {
      const mine = tail.stdout().split('\n');
      const at = mine.findIndex((line) => line.includes(order));
      return at >= 0 && mine.length > at + 2 && mine.slice(at, at + 3);
    });
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ERROR order-api \\[OrdersService\\] could not place \\(correlation ${order}\\)$`,
      ),
    );
    expect(lines.slice(1)).toEqual([
      '    Error: could not place',
      '        at place (orders.service.ts:1:1)',
    ]);
    expect(tail.stdout()).not.toContain('not for me');
    expect(tail.stdout()).not.toContain('\x1b[');

    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(await queueExists(tail.queue)).toBe(false);
  });

  it('without keys shows every record through the fanout; --json prints them raw', async () => {
    const tail = await tailOf(['--json']);
    expect(tail.stderr()).toContain(`tailing ${Exchanges.logsBroadcast} through queue`);

    const order = `order-${randomUUID()}`;
    const records: LogRecordV1[] = [
      logRecord({ service: 'report-worker', level: 'debug', correlationId: order }),
      logRecord({ service: 'notify-worker', level: 'warn', correlationId: order }),
    ];
    for (const record of records) await publishLogRecord(broker, record);
    const printed = await waitFor('both records on stdout', () => {
      const mine = tail
        .stdout()
        .split('\n')
        .filter((line) => line.includes(order))
        .map((line) => JSON.parse(line));
      return mine.length >= 2 && mine;
    });
    expect(printed).toEqual(records);

    tail.child.kill('SIGTERM');
    expect(await tail.exited).toBe(0);
    expect(await queueExists(tail.queue)).toBe(false);
  });

  it("--order shows one order's records from every service, as two orders' records interleave, and nothing else; a killed follower leaves no queue", async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const [tailFirst, tailSecond] = await Promise.all([
      tailOf(['--order', first, '--json']),
      tailOf(['--order', second, '--json']),
    ]);
    expect(tailFirst.stderr()).toContain(`tailing ${Exchanges.logsFollow} order-id=${first} through queue`);

    // Three services log about both orders in turn, as their loggers do in production.
    const services = ['order-api', 'notify-worker', 'report-worker'];
    const loggers = services.map((service) => {
      const logger = new JsonLogger(service, { write: () => undefined });
      return { logger, publisher: attachLogPublisher(logger, { url: testConfig.rabbitmqUrl }) };
    });
    try {
      for (let round = 0; round < 3; round++) {
        for (const { logger } of loggers) {
          for (const orderId of [first, second]) {
            runWithLogContext({ correlationId: `corr-${orderId}`, orderId }, () =>
              logger.log(`order ${orderId}: step ${round}`),
            );
          }
          logger.log('about no order at all');
        }
      }
    } finally {
      await Promise.all(loggers.map(({ publisher }) => publisher.close()));
    }

    const recordsOf = (tail: Tail) =>
      tail
        .stdout()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LogRecordV1);
    for (const [tail, orderId] of [
      [tailFirst, first],
      [tailSecond, second],
    ] as const) {
      const records = await waitFor(`the 9 records of order ${orderId}`, () => {
        const shown = recordsOf(tail);
        return shown.length >= 9 && shown;
      });
      expect(records.every((record) => record.orderId === orderId)).toBe(true);
      expect(records.map((record) => record.message)).toEqual(
        expect.arrayContaining([0, 1, 2].map((round) => `order ${orderId}: step ${round}`)),
      );
      expect(new Set(records.map((record) => record.service))).toEqual(new Set(services));
    }

    // A follower gone without a word (SIGKILL): the broker deletes its exclusive queue with its connection.
    tailSecond.child.kill('SIGKILL');
    await tailSecond.exited;
    await waitFor(
      'the killed follower’s queue to be gone',
      async () => !(await queueExists(tailSecond.queue)),
    );
    tailFirst.child.kill('SIGINT');
    expect(await tailFirst.exited).toBe(0);
    expect(await queueExists(tailFirst.queue)).toBe(false);
    expect(recordsOf(tailFirst)).toHaveLength(9);
  });

  it('--correlation shows the records of one correlation id only', async () => {
    const correlationId = `req-${randomUUID()}`;
    const tail = await tailOf(['--correlation', correlationId]);
    const logger = new JsonLogger('order-api', { write: () => undefined });
    const publisher = attachLogPublisher(logger, { url: testConfig.rabbitmqUrl });
    try {
      runWithLogContext({ correlationId: `${correlationId}-other` }, () => logger.log('another request'));
      runWithLogContext({ correlationId }, () => logger.log('the followed request'));
    } finally {
      await publisher.close();
    }
    // Published after the other one on the same channel: had that been routed here, it would be here first.
    await waitFor('the record of that request', () => tail.stdout().includes('the followed request'));
    expect(tail.stdout()).not.toContain('another request');
  });

  it("--order shows a real order's records from order-api, notify-worker and report-worker, and none of another order placed beside it", async () => {
    const pool = createTestPool();
    const smtp = new SmtpSink();
    const processes: ServiceProcess[] = [];
    try {
      await resetDatabase(pool);
      await broker.purge(Queues.orderNotify, Queues.orderReport, Queues.orderStatus);
      await insertProduct(pool, { sku: 'TAIL-TEA', name: '追踪 tea', priceCents: 650, stock: 10 });
      await smtp.start();
      // order-api first, alone: both orders wait in the work queues until the followers are there.
      const api = await startServiceProcess(
        'order-api',
        {
          RABBITMQ_URL: testRabbitmqUrlAs('order-api'),
          DATABASE_URL: testConfig.databaseUrlOf('order-api'),
          IDENTITY_JWKS_URL: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`,
        },
        { port: await freePort() },
      );
      processes.push(api);
      const place = async (i: number): Promise<string> => {
        const response = await fetch(`${api.baseUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            customer: { email: `tail${i}@example.kr`, name: '추적' },
            items: [{ sku: 'TAIL-TEA', quantity: 1 }],
          }),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { id: string }).id;
      };
      const orders = [await place(1), await place(2)];
      const tails = await Promise.all(orders.map((orderId) => tailOf(['--order', orderId, '--json'])));
      processes.push(
        ...(await startWorkerProcesses({
          smtpUrl: smtp.url,
          reportsDir: await mkdtemp(join(tmpdir(), 'tail-reports-')),
        })),
      );

      const services = ['order-api', 'notify-worker', 'report-worker'];
      for (const [i, tail] of tails.entries()) {
        const records = await waitFor(
          `records of order ${orders[i]} from ${services.join(', ')}`,
          () => {
            const shown = tail
              .stdout()
              .split('\n')
              .filter((line) => line !== '')
              .map((line) => JSON.parse(line) as LogRecordV1);
            return services.every((service) => shown.some((record) => record.service === service)) && shown;
          },
          { timeoutMs: 30_000 },
        );
        expect(records.every((record) => record.orderId === orders[i])).toBe(true);
        expect(tail.stdout()).not.toContain(orders[1 - i]);
        expect(records.map((record) => record.step)).toEqual(
          expect.arrayContaining([OrderSteps.emailSent, OrderSteps.pdfWritten, OrderSteps.statusApplied]),
        );
      }
    } finally {
      await Promise.all(processes.map((process) => process.stop()));
      await smtp.stop();
      await pool.end();
    }
  });

  it('refuses an unknown option with the usage', async () => {
    const child = spawnTail(['--colour'], ['ignore', 'ignore', 'pipe']);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("Unknown option '--colour'");
    expect(stderr).toContain('usage: npm run logs:tail');
  });
});
