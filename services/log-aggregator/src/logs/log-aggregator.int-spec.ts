import { Exchanges, Queues, type LogRecordV1 } from '@shop/contracts';
import { BrokerProbe, testSecrets, waitFor, type HttpAppHarness } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  declareLogTopology,
  logRecord,
  publishLogRecord,
  readJsonLines,
  startLogAggregator,
} from '../testing/log-aggregator.harness';
import { utcDateOf } from './log-record';

/** A service name no other process on the test vhost uses, so counts and filters see only this spec. */
const uniqueService = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

describe('log-aggregator (real RabbitMQ, temporary LOG_DIR)', () => {
  let broker: BrokerProbe;
  let logDir: string;
  let aggregator: HttpAppHarness;

  const file = (date: string, name: string) => join(logDir, date, name);
  const linesOf = async (date: string, name: string, keep: (line: any) => boolean) =>
    (await readJsonLines(file(date, name))).filter(keep);
  /** Both log queues empty and no delivery in the aggregator's hands: nothing more can be written. */
  const settled = () =>
    waitFor('the log queues and the aggregator settled', async () => {
      const depths = await Promise.all(
        [Queues.logArchive, Queues.logAlerts].map((q) => broker.messageCount(q)),
      );
      const { inHand } = (await aggregator.get('/logs/stats')).body as { inHand: number };
      return depths.every((depth) => depth === 0) && inHand === 0;
    });

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
    await broker.purge(Queues.logArchive, Queues.logAlerts);
    logDir = await mkdtemp(join(tmpdir(), 'log-aggregator-'));
    aggregator = await startLogAggregator(logDir);
  });
  afterAll(async () => {
    await aggregator.close();
    await broker.close();
    await rm(logDir, { recursive: true, force: true });
  });
  beforeEach(() => broker.purge(Queues.logArchive, Queues.logAlerts));

  it('archives every record under the UTC day of its time, errors also to errors.jsonl, and counts them', async () => {
    const api = uniqueService('checkout');
    const mail = uniqueService('mailer');
    const records: LogRecordV1[] = [
      logRecord({ service: api, level: 'info', time: '2026-03-01T23:59:59.999Z', correlationId: 'order-1' }),
      logRecord({
        service: api,
        level: 'error',
        time: '2026-03-02T00:00:00.000Z',
        correlationId: 'order-1',
        context: 'OrdersService',
        stack: 'Error: boom\n    at place (orders.service.ts:1:1)',
      }),
      // 01:30 at UTC+2 is 23:30 UTC the day before.
      logRecord({ service: mail, level: 'fatal', time: '2026-03-02T01:30:00+02:00', message: 'SMTP gone' }),
      logRecord({ service: mail, level: 'warn', time: '2026-03-02T00:00:01Z' }),
    ];
    for (const record of records) await publishLogRecord(broker, record);

    const mine = (line: LogRecordV1) => line.service === api || line.service === mail;
    await waitFor('all four records in all.jsonl', async () => {
      const lines = [
        ...(await linesOf('2026-03-01', 'all.jsonl', mine)),
        ...(await linesOf('2026-03-02', 'all.jsonl', mine)),
      ];
      return lines.length >= 4;
    });
    expect(await linesOf('2026-03-01', 'all.jsonl', mine)).toEqual([records[0], records[2]]);
    expect(await linesOf('2026-03-02', 'all.jsonl', mine)).toEqual([records[1], records[3]]);

    await waitFor('both errors in errors.jsonl', async () => {
      const lines = [
        ...(await linesOf('2026-03-01', 'errors.jsonl', mine)),
        ...(await linesOf('2026-03-02', 'errors.jsonl', mine)),
      ];
      return lines.length >= 2;
    });
    expect(await linesOf('2026-03-01', 'errors.jsonl', mine)).toEqual([records[2]]);
    expect(await linesOf('2026-03-02', 'errors.jsonl', mine)).toEqual([records[1]]);

    // Counters move right after the batch's write returns: poll them rather than read once.
    const stats = await waitFor('the error counters to count both errors', async () => {
      const response = await aggregator.get('/logs/stats');
      const counted = response.body.errors?.byService ?? {};
      return counted[api] !== undefined && counted[mail] !== undefined && response;
    });
    expect(stats.status).toBe(200);
    expect(stats.body.errors.byService[api]).toEqual({ error: 1 });
    expect(stats.body.errors.byService[mail]).toEqual({ fatal: 1 });
    expect(stats.body.archived.byService[api]).toEqual({ info: 1, error: 1 });
    expect(stats.body.archived.byService[mail]).toEqual({ fatal: 1, warn: 1 });
    expect(stats.body.archived.byLevel.info).toBeGreaterThanOrEqual(1);
    expect(stats.body.archived.recent.capacity).toBe(50_000);
    await waitFor('both queues settled', async () => {
      return (
        (await broker.messageCount(Queues.logArchive)) + (await broker.messageCount(Queues.logAlerts)) === 0
      );
    });
  });

  it('GET /logs filters by service, level, correlationId and since, newest first, up to a limit', async () => {
    const api = uniqueService('checkout');
    const worker = uniqueService('packer');
    const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
    const order = `order-${randomUUID()}`;
    const records = [
      logRecord({ service: api, level: 'info', time: at(50), correlationId: order, message: 'order placed' }),
      logRecord({ service: worker, level: 'info', time: at(40), correlationId: order, message: 'packing' }),
      logRecord({ service: worker, level: 'error', time: at(30), correlationId: order, message: 'no box' }),
      logRecord({ service: api, level: 'warn', time: at(20), correlationId: 'another', message: 'slow' }),
      logRecord({ service: api, level: 'info', time: at(10), message: 'no correlation' }),
    ];
    // Published oldest last: the answer is sorted by the records' time, not by arrival.
    for (const record of [...records].reverse()) await publishLogRecord(broker, record);

    const messages = async (query: string) => {
      const response = await aggregator.get(`/logs?${query}`);
      expect(response.status).toBe(200);
      expect(response.body.count).toBe(response.body.records.length);
      return response.body.records.map((r: LogRecordV1) => r.message);
    };
    await waitFor('the five records in GET /logs', async () => {
      return (await messages(`service=${api}`)).length + (await messages(`service=${worker}`)).length === 5;
    });

    expect(await messages(`service=${api}`)).toEqual(['no correlation', 'slow', 'order placed']);
    expect(await messages(`correlationId=${order}`)).toEqual(['no box', 'packing', 'order placed']);
    expect(await messages(`correlationId=${order}&service=${worker}`)).toEqual(['no box', 'packing']);
    expect(await messages(`service=${worker}&level=error`)).toEqual(['no box']);
    expect(await messages(`service=${api}&since=${encodeURIComponent(at(25))}`)).toEqual([
      'no correlation',
      'slow',
    ]);
    expect(await messages(`service=${api}&limit=1`)).toEqual(['no correlation']);
    // An empty parameter is no filter.
    expect(await messages(`service=${api}&level=&correlationId=`)).toHaveLength(3);
    const full = await aggregator.get(`/logs?service=${worker}&level=error`);
    expect(full.body.records).toEqual([records[2]]);
  });

  it('refuses bad query parameters with 400 VALIDATION_FAILED naming each one', async () => {
    const bad = await aggregator.get('/logs?limit=0&level=loud&since=yesterday&service=Order.Api&sevrice=x');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'level',
      'limit',
      'service',
      'sevrice',
      'since',
    ]);
    for (const query of ['limit=1001', 'limit=ten', 'limit=1.5', 'since=2026-13-01T00:00:00Z']) {
      const response = await aggregator.get(`/logs?${query}`);
      expect([query, response.status, response.body.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
    }
    expect((await aggregator.get('/logs?limit=1000')).status).toBe(200);
  });

  it('writes a malformed delivery to rejected.jsonl with the reason, acks it once, and carries on', async () => {
    const service = uniqueService('garbler');
    const ids = { notJson: randomUUID(), missingFields: randomUUID(), otherType: randomUUID() };
    const valid = logRecord({ service, level: 'info', message: 'after the garbage' });
    await publishLogRecord(broker, valid, {
      body: Buffer.from('{"this is": not json'),
      properties: { messageId: ids.notJson },
    });
    await publishLogRecord(broker, valid, {
      body: Buffer.from(JSON.stringify({ service, level: 'info' })),
      properties: { messageId: ids.missingFields },
    });
    await publishLogRecord(broker, valid, {
      properties: { messageId: ids.otherType, type: 'log.record.v2' },
    });
    await publishLogRecord(broker, valid);

    const today = utcDateOf(new Date());
    await waitFor('the valid record archived', async () => {
      return (await linesOf(today, 'all.jsonl', (line) => line.service === service)).length === 1;
    });
    const rejected = async () =>
      linesOf(today, 'rejected.jsonl', (line) => Object.values(ids).includes(line.messageId));
    await waitFor('three rejected lines', async () => (await rejected()).length >= 3);
    const byId = Object.fromEntries((await rejected()).map((line) => [line.messageId, line]));
    expect(byId[ids.notJson]).toMatchObject({
      queue: Queues.logArchive,
      exchange: Exchanges.logs,
      routingKey: `${service}.info`,
      reason: expect.stringMatching(/^body is not valid JSON/),
      body: '{"this is": not json',
    });
    expect(byId[ids.missingFields].reason).toMatch(/time.*message|message.*time/s);
    expect(byId[ids.otherType].reason).toMatch(/unsupported message type "log.record.v2"/);
    expect(Date.parse(byId[ids.notJson].receivedAt)).not.toBeNaN();

    // Acked, not requeued: nothing left in the queue nor in the aggregator's hands, so nothing more can be written.
    await settled();
    expect(await rejected()).toHaveLength(3);
    expect((await aggregator.get('/logs/stats')).body.rejected[Queues.logArchive]).toBeGreaterThanOrEqual(3);
  });

  it('writes a record delivered twice (same messageId) once', async () => {
    const service = uniqueService('resender');
    const record = logRecord({ service, level: 'error', message: 'sent twice' });
    const messageId = randomUUID();
    await publishLogRecord(broker, record, { properties: { messageId } });
    const today = utcDateOf(new Date());
    const archived = () => linesOf(today, 'all.jsonl', (line) => line.service === service);
    await waitFor('the first copy archived', async () => (await archived()).length === 1);

    // As the log publisher does when a confirm was lost: the same record again, then another one.
    await publishLogRecord(broker, record, { properties: { messageId } });
    const next = logRecord({ service, level: 'info', message: 'next' });
    await publishLogRecord(broker, next);
    await waitFor('the next record archived', async () => (await archived()).length >= 2);
    const stats = await waitFor('the second copy skipped on both queues', async () => {
      const body = (await aggregator.get('/logs/stats')).body;
      return body.duplicates[Queues.logArchive] >= 1 && body.duplicates[Queues.logAlerts] >= 1 && body;
    });

    expect((await archived()).map((line) => line.message)).toEqual(['sent twice', 'next']);
    expect(await linesOf(today, 'errors.jsonl', (line) => line.service === service)).toEqual([record]);
    expect(stats.errors.byService[service]).toEqual({ error: 1 });
  });

  it('keeps records whose write failed in the queue and archives each once when the disk is back', async () => {
    const service = uniqueService('patient');
    const date = '2026-04-01';
    // A directory where all.jsonl belongs: every append to it fails (EISDIR), as on a broken disk.
    await mkdir(file(date, 'all.jsonl'), { recursive: true });
    const records = [1, 2, 3].map((n) =>
      logRecord({ service, level: 'info', time: `${date}T10:00:0${n}.000Z`, message: `record ${n}` }),
    );
    for (const record of records) await publishLogRecord(broker, record);

    const health = await waitFor('GET /health to report the archive down', async () => {
      const response = await aggregator.get('/health');
      return response.status === 503 && response;
    });
    expect(health.body.checks).toEqual({
      broker: { status: 'up' },
      archive: { status: 'down', error: expect.stringMatching(/^cannot write .*all\.jsonl: EISDIR/) },
    });
    // The records come back from the queue and fail again: nothing is archived while the disk is broken.
    const failedWrites = async () => (await aggregator.get('/logs/stats')).body.failedWrites as number;
    const failedBefore = await failedWrites();
    await waitFor('another write attempt to fail', async () => (await failedWrites()) > failedBefore);
    expect((await aggregator.get(`/logs?service=${service}`)).body.records).toEqual([]);

    await rm(file(date, 'all.jsonl'), { recursive: true });
    await waitFor(
      'the three records archived',
      async () => (await linesOf(date, 'all.jsonl', (line) => line.service === service)).length >= 3,
      { timeoutMs: 15_000 },
    );
    await settled();
    const archived = await linesOf(date, 'all.jsonl', (line) => line.service === service);
    expect(archived.map((line) => line.message).sort()).toEqual(['record 1', 'record 2', 'record 3']);
    expect((await aggregator.get(`/logs?service=${service}`)).body.count).toBe(3);
    expect((await aggregator.get('/health')).status).toBe(200);
  });

  // GET /logs and /logs/stats name orders: operators only. /health and /metrics stay open.
  const getAs = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${aggregator.baseUrl}${path}`, { headers });

  it.each(['/logs', '/logs?level=error', '/logs/stats'])(
    '%s: 401 without a token, 403 with another, 200 with OPS_TOKEN',
    async (path) => {
      const none = await getAs(path);
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ code: 'AUTHENTICATION_REQUIRED' });

      for (const authorization of [
        `Bearer ${testSecrets.OPS_TOKEN}x`,
        'Bearer short',
        `Basic ${testSecrets.OPS_TOKEN}`,
      ]) {
        const wrong = await getAs(path, { authorization });
        expect([401, 403]).toContain(wrong.status);
        expect(((await wrong.json()) as { code: string }).code).toMatch(
          /^(AUTHENTICATION_REQUIRED|FORBIDDEN)$/,
        );
      }
      const other = await getAs(path, { authorization: `Bearer ${'x'.repeat(43)}` });
      expect(other.status).toBe(403);
      expect(await other.json()).toMatchObject({ code: 'FORBIDDEN' });

      const operator = await getAs(path, { authorization: `Bearer ${testSecrets.OPS_TOKEN}` });
      expect(operator.status).toBe(200);
      await operator.body?.cancel();
    },
  );

  it('leaves /health and /metrics open', async () => {
    for (const path of ['/health', '/metrics']) {
      const response = await getAs(path);
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }
  });
});
