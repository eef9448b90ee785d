import { Queues, type LogRecordV1 } from '@shop/contracts';
import {
  BrokerProbe,
  freePort,
  startServiceProcess,
  testConfig,
  waitFor,
  type HttpAppHarness,
} from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeConnectionsNamed,
  declareLogTopology,
  logRecord,
  publishLogRecord,
  readJsonLines,
  startLogAggregator,
} from '../testing/log-aggregator.harness';
import { SERVICE_NAME } from '../app.module';
import { utcDateOf } from './log-record';

describe('log-aggregator across restarts and connection loss (real RabbitMQ, temporary LOG_DIR)', () => {
  let broker: BrokerProbe;
  let logDir: string;
  let aggregator: HttpAppHarness | undefined;
  const today = utcDateOf(new Date());
  const service = `restarted-${randomUUID().slice(0, 8)}`;

  const mine = async (name: string) =>
    (await readJsonLines(join(logDir, today, name), { skipInvalid: name === 'errors.jsonl' })).filter(
      (line: LogRecordV1) => line.service === service,
    );

  /**
   * Publishes `count` records tagged `<label> <uuid>`, running `fault` halfway once some are archived;
   * returns the reader of the archived messages of this stream.
   */
  const streamWithFaultHalfway = async (label: string, count: number, fault: () => Promise<unknown>) => {
    const prefix = `${label} ${randomUUID()}`;
    const archived = async () =>
      (await mine('all.jsonl')).filter((line) => line.message.startsWith(prefix)).map((line) => line.message);
    for (let n = 0; n < count; n++) {
      await publishLogRecord(broker, logRecord({ service, level: 'info', message: `${prefix} ${n}` }));
      if (n === count / 2) {
        await waitFor('some records archived', async () => (await archived()).length > 0);
        await fault();
      }
    }
    return archived;
  };

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
    logDir = await mkdtemp(join(tmpdir(), 'log-aggregator-restart-'));
    // Today's errors.jsonl as an earlier run left it: two errors, one fatal, and a line cut short by a crash.
    await mkdir(join(logDir, today), { recursive: true });
    const earlier = [
      logRecord({ service, level: 'error' }),
      logRecord({ service, level: 'error' }),
      logRecord({ service, level: 'fatal' }),
    ];
    await writeFile(
      join(logDir, today, 'errors.jsonl'),
      `${earlier.map((record) => JSON.stringify(record)).join('\n')}\n{"time":"2026-`,
    );
  });
  beforeEach(() => broker.purge(Queues.logArchive, Queues.logAlerts));
  afterEach(async () => {
    await aggregator?.close();
    aggregator = undefined;
  });
  afterAll(async () => {
    await broker.close();
    await rm(logDir, { recursive: true, force: true });
  });

  const consumers = async (queue: string) => (await broker.channel.checkQueue(queue)).consumerCount;

  it("starts its error counters from today's errors.jsonl", async () => {
    aggregator = await startLogAggregator(logDir);
    const stats = await aggregator.get('/logs/stats');
    expect(stats.body.errors.byService[service]).toEqual({ error: 2, fatal: 1 });
    expect(stats.body.errors.since).toBe(`${today}T00:00:00.000Z`);
  });

  it('archives every record published while it was stopped, each once, after it starts again', async () => {
    aggregator = await startLogAggregator(logDir);
    await waitFor('the aggregator consuming', async () => (await consumers(Queues.logArchive)) > 0);
    await aggregator.close();
    aggregator = undefined;
    // Records must wait in the queue, not go to some other aggregator on the test vhost.
    await waitFor('no consumer left on log_archive', async () => (await consumers(Queues.logArchive)) === 0);

    // More than one batch (200), a tenth of them errors.
    const count = 450;
    const linesBefore = (await mine('all.jsonl')).length;
    for (let n = 0; n < count; n++) {
      await publishLogRecord(
        broker,
        logRecord({ service, level: n % 10 === 0 ? 'error' : 'info', message: `while stopped ${n}` }),
      );
    }
    expect(await broker.messageCount(Queues.logArchive)).toBeGreaterThanOrEqual(count);

    aggregator = await startLogAggregator(logDir);
    await waitFor(
      `${count} records in all.jsonl`,
      async () => (await mine('all.jsonl')).length - linesBefore >= count,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      '45 more errors in errors.jsonl',
      async () => (await mine('errors.jsonl')).length >= 3 + 45,
    );
    await waitFor('log_archive and log_alerts settled', async () => {
      return (
        (await broker.messageCount(Queues.logArchive)) + (await broker.messageCount(Queues.logAlerts)) === 0
      );
    });

    const archived = (await mine('all.jsonl')).map((line) => line.message);
    // The line an earlier crash cut short stays alone on its line: the records after it are intact.
    const errorsFile = await readFile(join(logDir, today, 'errors.jsonl'), 'utf8');
    expect(errorsFile.split('\n').filter((line) => line.startsWith('{"time":"2026-{'))).toEqual([]);
    expect(errorsFile.split('\n')).toContain('{"time":"2026-');
    expect(new Set(archived).size).toBe(count);
    expect(archived).toHaveLength(count);
    const stats = (await aggregator.get('/logs/stats')).body;
    expect(stats.archived.byService[service]).toEqual({ info: 405, error: 45 });
    expect(stats.errors.byService[service]).toEqual({ error: 2 + 45, fatal: 1 });
  });

  it('loses nothing when the process is killed mid-stream (SIGKILL): unacked records come back', async () => {
    const env = { RABBITMQ_URL: testConfig.rabbitmqUrl, LOG_DIR: logDir };
    const killed = await startServiceProcess('log-aggregator', env, { port: await freePort() });
    const count = 2_000;
    let archived: () => Promise<string[]> = async () => [];
    try {
      archived = await streamWithFaultHalfway('killed', count, () => killed.stop('SIGKILL'));
    } finally {
      await killed.stop('SIGKILL');
    }
    expect((await archived()).length).toBeLessThan(count);

    aggregator = await startLogAggregator(logDir);
    await waitFor(`all ${count} records archived`, async () => new Set(await archived()).size === count, {
      timeoutMs: 30_000,
    });
    // At least once: a batch written but not yet acked when the process died is written again.
    expect((await archived()).length).toBeGreaterThanOrEqual(count);
  });

  it('survives its connection being closed mid-stream and still archives every record', async () => {
    const env = { RABBITMQ_URL: testConfig.rabbitmqUrl, LOG_DIR: logDir };
    const process = await startServiceProcess('log-aggregator', env, { port: await freePort() });
    const count = 2_000;
    try {
      const archived = await streamWithFaultHalfway('dropped', count, async () => {
        expect(await closeConnectionsNamed(SERVICE_NAME)).toBeGreaterThan(0);
      });
      await waitFor(`all ${count} records archived`, async () => new Set(await archived()).size === count, {
        timeoutMs: 30_000,
      });
      // The acks of the batch in flight failed on the closed channel: handled, not a crash.
      expect(process.isRunning()).toBe(true);
      const health = await fetch(`${process.baseUrl}/health`);
      expect(health.status).toBe(200);
    } finally {
      await process.stop('SIGTERM');
    }
  });
});
