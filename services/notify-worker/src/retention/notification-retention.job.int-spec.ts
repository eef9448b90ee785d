import { FailureHeaders, Queues } from '@shop/contracts';
import { listParked } from '@shop/messaging';
import { BrokerProbe, createTestPool, resetDatabase, testConfig } from '@shop/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { NotificationRetentionJob } from './notification-retention.job';

describe('NotificationRetentionJob (real PostgreSQL and RabbitMQ)', () => {
  let pool: Pool;
  /** The job runs as notify-worker does: its own role, its own schema. */
  let workerPool: Pool;
  let broker: BrokerProbe;
  let connection: ChannelModel;

  const now = new Date('2026-12-07T10:00:00.000Z');
  const old = new Date('2026-11-07T09:59:59.000Z');
  const recent = new Date('2026-11-07T10:00:01.000Z');

  beforeAll(async () => {
    pool = createTestPool();
    workerPool = new Pool({ connectionString: testConfig.databaseUrlOf('notify-worker'), max: 2 });
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
    await pool.query('TRUNCATE order_lifecycle_emails');
    await broker.purge(Queues.orderNotifyDeadLetter, Queues.customerNotifyDeadLetter);
  });

  const notification = async (at: Date, status = 'sent'): Promise<string> => {
    const orderId = randomUUID();
    await pool.query(
      `INSERT INTO order_notifications (order_id, message_id, status, recipient, created_at)
       VALUES ($1, $2, $3, 'wang.fang@example.cn', $4)`,
      [orderId, randomUUID(), status, at],
    );
    return orderId;
  };
  const lifecycleEmail = (orderId: string, kind: string, at: Date) =>
    pool.query(
      `INSERT INTO order_lifecycle_emails (order_id, kind, message_id, status, created_at)
       VALUES ($1, $2, $3, 'sent', $4)`,
      [orderId, kind, randomUUID(), at],
    );
  const park = (queue: 'order_notify' | 'customer_notify', messageId: string, at: Date) =>
    broker.publishConfirmed('order.dlx', queue, Buffer.from('{}'), {
      persistent: true,
      messageId,
      headers: { [FailureHeaders.failedAt]: at.toISOString(), [FailureHeaders.originalQueue]: queue },
    });

  it('the retention job removes exactly what is older than the limit', async () => {
    await notification(old);
    await notification(new Date('2026-01-01T00:00:00Z'), 'sending');
    const kept = [await notification(recent), await notification(now, 'sending')];
    await park(Queues.orderNotify, 'notify-old', old);
    await park(Queues.orderNotify, 'notify-recent', recent);
    await park(Queues.customerNotify, 'code-old', old);
    // One order's old email goes, its recent one stays: rows of one order are removed one by one.
    const refundedLater = randomUUID();
    await lifecycleEmail(refundedLater, 'paid', old);
    await lifecycleEmail(refundedLater, 'refunded', recent);
    await lifecycleEmail(randomUUID(), 'expired', old);

    const job = new NotificationRetentionJob(workerPool, () => connection.createChannel(), {
      retentionDays: 30,
      intervalMs: 60_000,
    });
    expect(await job.runOnce(now)).toEqual(
      expect.objectContaining({ 'notification rows': 2, 'lifecycle email rows': 2, 'parked messages': 2 }),
    );
    const lifecycle = await pool.query('SELECT order_id::text, kind FROM order_lifecycle_emails');
    expect(lifecycle.rows).toEqual([{ order_id: refundedLater, kind: 'refunded' }]);

    const { rows } = await pool.query<{ order_id: string }>('SELECT order_id::text FROM order_notifications');
    expect(rows.map((row) => row.order_id).sort()).toEqual([...kept].sort());
    const parked = await listParked(await connection.createChannel(), Queues.orderNotify);
    expect(parked.map((message) => message.messageId)).toEqual(['notify-recent']);
    expect(await listParked(await connection.createChannel(), Queues.customerNotify)).toEqual([]);
  });
});
