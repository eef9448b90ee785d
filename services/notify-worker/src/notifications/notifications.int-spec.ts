import { FailureHeaders, Queues, retryQueuesOf } from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  describeStatusEvent,
  publishOrderPlaced,
  resetDatabase,
  waitFor,
  type OrderFixture,
} from '@shop/testing';
import type { Pool } from 'pg';
import { startNotifyWorker, type NotifyWorkerHarness } from '../testing/notify-worker.harness';

const retryQueues = retryQueuesOf(Queues.orderNotify);

describe('notify-worker (real RabbitMQ, PostgreSQL and SMTP server)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let notify: NotifyWorkerHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    notify = await startNotifyWorker();
  });
  afterAll(async () => {
    await notify.close();
    await broker.close();
    await pool.end();
  });
  beforeEach(async () => {
    notify.smtp.setBehaviour({});
    notify.smtp.clear();
    // First let the worker finish what the last spec left in hand (a duplicate waiting out its 1 s retry).
    await broker.settle(Queues.orderNotify, notify.messagesInHand);
    // No order-api here: the status events the last spec produced are still on order_status.
    await broker.purge(Queues.orderStatus);
    await resetDatabase(pool);
  });

  /** Reserved until a known time, whatever the fixture's default window, so the email can be checked. */
  const PAY_BY = '2026-12-07T05:15:42.000Z';
  const wangsOrder = async () => {
    const order = await createOrderFixture(pool, {
      customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
      items: [
        { sku: 'TEA-001', name: '龙井茶 Longjing tea', quantity: 2, unitPriceCents: 1250 },
        { sku: 'GIM-002', name: '한국 김 seaweed', quantity: 1, unitPriceCents: 480 },
      ],
    });
    order.event.data.payBy = PAY_BY;
    return order;
  };

  const notificationStatus = async (orderId: string): Promise<string | undefined> =>
    (await pool.query('SELECT status FROM order_notifications WHERE order_id = $1', [orderId])).rows[0]
      ?.status;

  const waitUntilNotified = (order: OrderFixture) =>
    waitFor(
      'the email to be recorded as sent',
      async () => (await notificationStatus(order.orderId)) === 'sent',
    );

  it('emails the customer once the order is placed, and records it', async () => {
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.notify', order.event);

    const [mail] = await notify.smtp.waitForMessages(1);
    expect(mail.to).toEqual([{ address: 'wang.xiaoming@example.cn', name: '王小明' }]);
    expect(mail.from?.address).toBe('orders@shop.local');
    expect(mail.subject).toBe(
      `Your order ${order.orderId.slice(0, 8).toUpperCase()} is reserved: please pay by 2026-12-07 05:15 UTC`,
    );
    expect(mail.text).toContain('Hello 王小明,');
    expect(mail.text).toContain('Your items are reserved until 2026-12-07 05:15 UTC. Please pay by then');
    expect(mail.text).toContain('2 × 龙井茶 Longjing tea (TEA-001) at €12.50 = €25.00');
    expect(mail.text).toContain('1 × 한국 김 seaweed (GIM-002) at €4.80 = €4.80');
    expect(mail.text).toContain('Total: €29.80');
    expect(mail.html).toContain('王小明');
    expect(mail.messageId).toBe(`<order-${order.orderId}@shop.local>`);

    await waitUntilNotified(order);
    const { rows } = await pool.query(
      'SELECT status, message_id, recipient, sent_at FROM order_notifications',
    );
    expect(rows).toEqual([
      {
        status: 'sent',
        message_id: order.event.messageId,
        recipient: 'wang.xiaoming@example.cn',
        sent_at: expect.any(Date),
      },
    ]);
    // The worker announces it to order-api: order.notified.v1, persistent, after the email was recorded.
    const [announced] = await broker.waitForMessages(Queues.orderStatus, 1);
    const event = describeStatusEvent(announced);
    expect(event).toMatchObject({
      routingKey: 'order.notified',
      properties: {
        type: 'order.notified.v1',
        contentType: 'application/json',
        deliveryMode: 2,
        correlationId: order.event.correlationId,
        appId: 'notify-worker',
      },
      sameMessageId: true,
      body: { type: 'order.notified.v1', version: 1, data: { orderId: order.orderId } },
    });
    expect(new Date(String(event.body.data?.notifiedAt)).getTime()).toBeGreaterThanOrEqual(
      rows[0].sent_at.getTime() - 1000,
    );
    await waitFor(
      'the message to be acked',
      async () => (await broker.messageCount(Queues.orderNotify)) === 0,
    );
  });

  it('sends one email when the same order arrives twice (same and different message ids)', async () => {
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.notify', order.event);
    await publishOrderPlaced(broker, 'order.notify', order.event);
    await publishOrderPlaced(broker, 'order.notify', {
      ...order.event,
      messageId: '0b6c3c1e-4a8e-4f55-9a71-3b8f5c1d2e4f',
    });

    await waitUntilNotified(order);
    // A copy that arrived while the first was sending waits out a 1 s retry, then finds the email sent.
    await broker.settle(Queues.orderNotify, notify.messagesInHand, { discard: false });
    // Give a wrongly sent second email time to arrive before counting.
    await expect(notify.smtp.waitForMessages(2, 1_000)).rejects.toThrow();
    expect(notify.smtp.messages).toHaveLength(1);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    // Every copy announces the sent email (at least once), each time with when it was recorded.
    const announced = await broker.waitForMessages(Queues.orderStatus, 3);
    const events = announced.map((message) => JSON.parse(message.content.toString()));
    expect(events.map((event) => event.data.orderId)).toEqual([order.orderId, order.orderId, order.orderId]);
    expect(new Set(events.map((event) => event.messageId)).size).toBe(3);
  });

  it('retries while the SMTP server refuses, then delivers once it accepts again', async () => {
    notify.smtp.setBehaviour({ refuseWith: { code: 451, message: 'Temporary local problem - try later' } });
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.notify', order.event);

    // The first attempt fails and the message waits in the 1 s retry queue, then comes back. The claim
    // row exists before the SMTP conversation, so wait for the retry copy, not the row: accepting again
    // any earlier could let the first attempt through.
    await waitFor('a failed first attempt', async () => (await broker.messageCount(retryQueues[0])) === 1);
    const { rows } = await pool.query('SELECT status, attempts FROM order_notifications');
    expect(rows[0].status).toBe('sending');
    notify.smtp.setBehaviour({});

    const [mail] = await notify.smtp.waitForMessages(1, 15_000);
    expect(mail.to[0].address).toBe('wang.xiaoming@example.cn');
    await waitUntilNotified(order);
    const after = await pool.query('SELECT status, attempts FROM order_notifications');
    expect(after.rows[0].status).toBe('sent');
    expect(after.rows[0].attempts).toBeGreaterThanOrEqual(2);
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
  });

  it('parks the message with the reason and the attempt count when the last retry fails too', async () => {
    notify.smtp.setBehaviour({ refuseWith: { code: 451, message: 'Mailbox service unavailable' } });
    const order = await wangsOrder();
    // As if the 1 s, 5 s and 30 s retries had already failed (waiting 36 s in a spec proves nothing more).
    await broker.publishConfirmed('order', 'order.notify', Buffer.from(JSON.stringify(order.event)), {
      persistent: true,
      contentType: 'application/json',
      messageId: order.event.messageId,
      correlationId: order.event.correlationId,
      type: order.event.type,
      headers: { [FailureHeaders.retryCount]: 3 },
    });

    const [parked] = await broker.waitForMessages(Queues.orderNotifyDeadLetter, 1, 15_000);
    expect(parked.properties.messageId).toBe(order.event.messageId);
    expect(parked.properties.correlationId).toBe(order.event.correlationId);
    expect(parked.properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'retries-exhausted',
      [FailureHeaders.attempts]: 4,
      [FailureHeaders.originalQueue]: 'order_notify',
      [FailureHeaders.lastError]: expect.stringContaining('Mailbox service unavailable'),
    });
    expect(JSON.parse(parked.content.toString())).toEqual(order.event);
    expect(notify.smtp.messages).toHaveLength(0);
    expect(await notificationStatus(order.orderId)).toBe('sending');
    expect(await broker.messageCount(Queues.orderStatus)).toBe(0);
  });

  it('parks a malformed message at once and carries on with the next one', async () => {
    await publishOrderPlaced(
      broker,
      'order.notify',
      {},
      { body: Buffer.from('{"this is": not json'), messageId: 'bad-json' },
    );
    await publishOrderPlaced(broker, 'order.notify', {
      messageId: 'c8a7a3d2-3c1e-4e0e-9d59-3e0a3b7f1a10',
      type: 'order.placed.v1',
    });
    const order = await wangsOrder();
    await publishOrderPlaced(broker, 'order.notify', order.event);

    const parked = await broker.waitForMessages(Queues.orderNotifyDeadLetter, 2);
    expect(parked.map((m) => m.properties.headers?.[FailureHeaders.deadLetterReason])).toEqual([
      'invalid-message',
      'invalid-message',
    ]);
    expect(parked[0].properties.headers?.[FailureHeaders.lastError]).toMatch(/^body is not valid JSON/);
    expect(parked[1].properties.headers?.[FailureHeaders.lastError]).toMatch(
      /^body does not match the contract: .*data/,
    );
    expect(parked.map((m) => m.properties.headers?.[FailureHeaders.attempts])).toEqual([1, 1]);

    await notify.smtp.waitForMessages(1);
    await waitUntilNotified(order);
    for (const queue of retryQueues) expect(await broker.messageCount(queue)).toBe(0);
  });

  it("works from the message alone: an order missing from order-api's table still gets its email", async () => {
    // notify-worker cannot read order-api's schema; everything it needs travels in order.placed.v1.
    const order = await wangsOrder();
    await pool.query('DELETE FROM orders WHERE id = $1', [order.orderId]);
    await publishOrderPlaced(broker, 'order.notify', order.event);

    const [email] = await notify.smtp.waitForMessages(1);
    expect(email.envelope.to).toEqual(['wang.xiaoming@example.cn']);
    await waitUntilNotified(order);
    const [announced] = await broker.waitForMessages(Queues.orderStatus, 1);
    expect(describeStatusEvent(announced).body).toMatchObject({ data: { orderId: order.orderId } });
    expect(await broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
  });
});
