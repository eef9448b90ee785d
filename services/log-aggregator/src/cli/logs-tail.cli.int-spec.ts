import { Exchanges, type LogRecordV1 } from '@shop/contracts';
import { BrokerProbe, testConfig, waitFor } from '@shop/testing';
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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

async function queueExists(queue: string): Promise<boolean> {
  const connection = await amqp.connect(testConfig.rabbitmqUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    // An exclusive queue of another connection answers RESOURCE_LOCKED: it exists.
    return await channel.checkQueue(queue).then(
      () => true,
      (error: Error) =>
        /RESOURCE.LOCKED/.test(error.message) ||
        (/NOT.FOUND/.test(error.message) ? false : Promise.reject(error)),
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('npm run logs:tail (a real process against the test vhost)', () => {
  let broker: BrokerProbe;
  let running: Tail | undefined;

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
  });
  afterAll(() => broker.close());

  it('with a key shows only matching records, readable and uncoloured, and leaves no queue after Ctrl-C', async () => {
    running = await startTail(['order-api.*']);
    const tail = running;
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
    running = await startTail(['--json']);
    const tail = running;
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
