import { Queues } from '@shop/contracts';
import { BrokerProbe, parsePrometheusText, sampleValue, waitFor, type HttpAppHarness } from '@shop/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  declareLogTopology,
  logRecord,
  publishLogRecord,
  startLogAggregator,
} from './testing/log-aggregator.harness';

describe("log-aggregator's GET /metrics (real RabbitMQ, temporary LOG_DIR)", () => {
  let broker: BrokerProbe;
  let logDir: string;
  let aggregator: HttpAppHarness;

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
    await broker.purge(Queues.logArchive, Queues.logAlerts);
    logDir = await mkdtemp(join(tmpdir(), 'log-aggregator-metrics-'));
    aggregator = await startLogAggregator(logDir);
  });
  afterAll(async () => {
    await aggregator?.close();
    await broker?.close();
    await rm(logDir, { recursive: true, force: true });
  });

  it('counts the records it wrote, and the deliveries it rejected, per queue', async () => {
    for (let i = 0; i < 3; i++)
      await publishLogRecord(broker, logRecord({ service: 'metrics-spec', level: 'info' }));
    await publishLogRecord(broker, logRecord({ service: 'metrics-spec', level: 'error' }));
    await publishLogRecord(broker, logRecord({ service: 'metrics-spec', level: 'info' }), {
      body: Buffer.from('not a log record'),
    });

    const written = (samples: ReturnType<typeof parsePrometheusText>, queue: string, outcome: string) =>
      sampleValue(samples, 'log_records_written_total', { service: 'log-aggregator', queue, outcome }) ?? 0;
    const samples = await waitFor('every delivery written', async () => {
      const parsed = parsePrometheusText(String((await aggregator.get('/metrics')).body));
      return written(parsed, Queues.logArchive, 'record') + written(parsed, Queues.logArchive, 'rejected') >=
        5 && written(parsed, Queues.logAlerts, 'record') >= 1
        ? parsed
        : undefined;
    });
    // The fanout gives log_archive all five; only the error is bound to log_alerts.
    expect(written(samples, Queues.logArchive, 'record')).toBe(4);
    expect(written(samples, Queues.logArchive, 'rejected')).toBe(1);
    expect(written(samples, Queues.logAlerts, 'record')).toBe(1);
  });
});
