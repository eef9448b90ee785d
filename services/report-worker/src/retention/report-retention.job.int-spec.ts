import { FailureHeaders, Queues } from '@shop/contracts';
import { BrokerProbe, createTestPool, resetDatabase, testConfig } from '@shop/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { listParked } from '@shop/messaging';
import { ReportRetentionJob } from './report-retention.job';

describe('ReportRetentionJob (real PostgreSQL and RabbitMQ)', () => {
  let pool: Pool;
  /** The job runs as report-worker does: its own role, its own schema. */
  let workerPool: Pool;
  let broker: BrokerProbe;
  let connection: ChannelModel;
  let reportsDir: string;

  const now = new Date('2026-12-07T10:00:00.000Z');
  const old = new Date('2026-11-07T09:59:59.000Z');
  const recent = new Date('2026-11-07T10:00:01.000Z');

  beforeAll(async () => {
    pool = createTestPool();
    workerPool = new Pool({ connectionString: testConfig.databaseUrlOf('report-worker'), max: 2 });
    broker = await BrokerProbe.connect();
    connection = await amqp.connect(testConfig.rabbitmqUrl);
  });
  afterAll(async () => {
    await connection.close();
    await broker.close();
    await workerPool.end();
    await pool.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.orderReportDeadLetter);
    reportsDir = await mkdtemp(join(tmpdir(), 'report-retention-'));
  });
  afterEach(() => rm(reportsDir, { recursive: true, force: true }));

  /** A recorded report: its row created at `at`, its PDF last written at `at`. */
  const report = async (at: Date): Promise<string> => {
    const orderId = randomUUID();
    await pool.query(
      `INSERT INTO order_reports (order_id, message_id, file_name, bytes, sha256, created_at)
       VALUES ($1, $2, $3, 10, $4, $5)`,
      [orderId, randomUUID(), `${orderId}.pdf`, 'a'.repeat(64), at],
    );
    await writeFile(join(reportsDir, `${orderId}.pdf`), '%PDF names a customer');
    await utimes(join(reportsDir, `${orderId}.pdf`), at, at);
    return orderId;
  };
  const park = (messageId: string, at: Date) =>
    broker.publishConfirmed('order.dlx', Queues.orderReport, Buffer.from('{}'), {
      persistent: true,
      messageId,
      headers: {
        [FailureHeaders.failedAt]: at.toISOString(),
        [FailureHeaders.originalQueue]: Queues.orderReport,
      },
    });

  it('the retention job removes exactly what is older than the limit', async () => {
    const oldReports = [await report(old), await report(new Date('2026-01-01T00:00:00Z'))];
    const keptReports = [await report(recent), await report(now)];
    // A PDF whose row never committed (a crash between the two), and a write that never finished.
    await writeFile(join(reportsDir, 'orphan.pdf'), '%PDF');
    await utimes(join(reportsDir, 'orphan.pdf'), old, old);
    await writeFile(join(reportsDir, '.kept.pdf.0a1b.tmp'), 'half');
    await park('parked-old', old);
    await park('parked-recent', recent);

    const job = new ReportRetentionJob(workerPool, reportsDir, () => connection.createChannel(), {
      retentionDays: 30,
      intervalMs: 60_000,
    });
    expect(await job.runOnce(now)).toEqual({ 'report rows': 2, PDFs: 3, 'parked messages': 1 });

    const { rows } = await pool.query<{ order_id: string }>('SELECT order_id::text FROM order_reports');
    expect(rows.map((row) => row.order_id).sort()).toEqual([...keptReports].sort());
    expect((await readdir(reportsDir)).sort()).toEqual(
      ['.kept.pdf.0a1b.tmp', ...keptReports.map((id) => `${id}.pdf`)].sort(),
    );
    expect(oldReports).toHaveLength(2);
    const parked = await listParked(await connection.createChannel(), Queues.orderReport);
    expect(parked.map((message) => message.messageId)).toEqual(['parked-recent']);
  });
});
