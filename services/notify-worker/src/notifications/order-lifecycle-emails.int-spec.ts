import {
  FailureHeaders,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  type OrderLifecycleEventV1,
  type OrderLifecycleV1Data,
  type OrderPlacedV1,
} from '@shop/contracts';
import { publishOrderPlaced, resetDatabase, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { useNotifyWorkerSuite } from '../testing/notify-worker.harness';

type LifecycleType = OrderLifecycleEventV1['type'];

const ROUTING_KEY_OF: Record<LifecycleType, string> = {
  [MessageTypes.orderPaidV1]: 'order.paid',
  [MessageTypes.orderExpiredV1]: 'order.expired',
  [MessageTypes.orderCancelledV1]: 'order.cancelled',
  [MessageTypes.orderRefundedV1]: 'order.refunded',
};

describe('notify-worker lifecycle emails (real RabbitMQ, PostgreSQL and SMTP server)', () => {
  const suite = useNotifyWorkerSuite();

  beforeEach(async () => {
    suite.notify.smtp.setBehaviour({});
    suite.notify.smtp.clear();
    await suite.broker.settle(Queues.orderNotify, suite.notify.messagesInHand);
    await suite.broker.purge(Queues.orderStatus, Queues.orderNotifyDeadLetter);
    await resetDatabase(suite.pool);
    await suite.pool.query('TRUNCATE order_lifecycle_emails');
  });

  /** An event as order-api's outbox publishes it: persistent JSON, its type, the order's correlation id. */
  const lifecycleEvent = (
    type: LifecycleType,
    data: Partial<OrderLifecycleV1Data> & Pick<OrderLifecycleV1Data, 'status'>,
  ) => {
    const orderId = data.orderId ?? randomUUID();
    return {
      messageId: randomUUID(),
      occurredAt: new Date().toISOString(),
      correlationId: `order-${orderId}`,
      type,
      version: 1,
      data: {
        orderId,
        at: '2026-12-07T05:12:30.000Z',
        customer: { email: 'kim.minji@example.kr', name: '김민지' },
        totalCents: 2980,
        currency: 'EUR',
        ...data,
      },
    };
  };

  const publishLifecycle = (event: ReturnType<typeof lifecycleEvent>, body?: Buffer) =>
    suite.broker.publishConfirmed(
      'order',
      ROUTING_KEY_OF[event.type],
      body ?? Buffer.from(JSON.stringify(event)),
      jsonMessageProperties({
        messageId: event.messageId,
        correlationId: event.correlationId,
        type: event.type,
        occurredAt: new Date(event.occurredAt),
        appId: 'order-api',
        headers: { 'order-id': event.data.orderId },
      }),
    );

  const sentRows = async (orderId: string) =>
    (
      await suite.pool.query<{ kind: string; status: string; message_id: string; smtp_message_id: string }>(
        `SELECT kind, status, message_id::text, smtp_message_id FROM order_lifecycle_emails
          WHERE order_id = $1 ORDER BY kind`,
        [orderId],
      )
    ).rows;

  const waitUntilSent = (orderId: string, kind: string) =>
    waitFor(`the ${kind} email of ${orderId} to be recorded as sent`, async () =>
      (await sentRows(orderId)).some((row) => row.kind === kind && row.status === 'sent'),
    );

  it.each<
    [
      LifecycleType,
      string,
      Partial<OrderLifecycleV1Data> & Pick<OrderLifecycleV1Data, 'status'>,
      string,
      string,
    ]
  >([
    [
      MessageTypes.orderPaidV1,
      'paid',
      { status: 'paid' },
      ' is paid',
      'we received your payment of €29.80 for order',
    ],
    [
      MessageTypes.orderExpiredV1,
      'expired',
      { status: 'expired' },
      ': reservation expired, nothing was charged',
      'ended on 2026-12-07 05:12 UTC before it was paid',
    ],
    [
      MessageTypes.orderCancelledV1,
      'cancelled',
      { status: 'cancelled' },
      ' is cancelled',
      'If you had paid for it, the full amount goes back to your card',
    ],
    [
      MessageTypes.orderRefundedV1,
      'refunded',
      { status: 'expired', refund: { amountCents: 2980, reason: 'late-payment' } },
      ': refund of €29.80',
      'Your payment arrived after the reservation had ended, so it was given back in full.',
    ],
  ])(
    'mails %s to the customer once, records it and announces nothing',
    async (type, kind, data, subject, sentence) => {
      const event = lifecycleEvent(type, data);
      const orderId = event.data.orderId;
      const number = orderId.slice(0, 8).toUpperCase();
      await publishLifecycle(event);

      const [mail] = await suite.notify.smtp.waitForMessages(1);
      expect(mail.to).toEqual([{ address: 'kim.minji@example.kr', name: '김민지' }]);
      expect(mail.envelope.to).toEqual(['kim.minji@example.kr']);
      expect(mail.from?.address).toBe('orders@shop.local');
      expect(mail.subject).toBe(`Your order ${number}${subject}`);
      expect(mail.text).toContain('Hello 김민지,');
      expect(mail.text).toContain(sentence);
      expect(mail.text).toContain(`Order id: ${orderId}`);
      expect(mail.messageId).toBe(`<order-${orderId}.${kind}@shop.local>`);

      await waitUntilSent(orderId, kind);
      expect(await sentRows(orderId)).toEqual([
        { kind, status: 'sent', message_id: event.messageId, smtp_message_id: mail.messageId },
      ]);
      await waitFor(
        'the message to be acked',
        async () => (await suite.broker.messageCount(Queues.orderNotify)) === 0,
      );
      // order.notified is the placement email's step in order-api: a lifecycle email never announces it.
      expect(await suite.broker.messageCount(Queues.orderStatus)).toBe(0);
      expect(await suite.broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    },
  );

  it('sends one email per order and kind: the same message twice and another message id change nothing', async () => {
    const paid = lifecycleEvent(MessageTypes.orderPaidV1, { status: 'paid' });
    const orderId = paid.data.orderId;
    await publishLifecycle(paid);
    await publishLifecycle(paid);
    await publishLifecycle({ ...paid, messageId: randomUUID() });
    // Another kind of the same order is another email.
    const refunded = lifecycleEvent(MessageTypes.orderRefundedV1, {
      orderId,
      status: 'refunded',
      refund: { amountCents: 2980, reason: 'provider' },
    });
    await publishLifecycle(refunded);

    await waitUntilSent(orderId, 'paid');
    await waitUntilSent(orderId, 'refunded');
    // A copy that arrived while the first was sending waits out a 1 s retry, then finds the email sent.
    await suite.broker.settle(Queues.orderNotify, suite.notify.messagesInHand, { discard: false });
    // Give a wrongly sent third email time to arrive before counting.
    await expect(suite.notify.smtp.waitForMessages(3, 1_000)).rejects.toThrow();
    expect(suite.notify.smtp.messages.map((mail) => mail.messageId).sort()).toEqual([
      `<order-${orderId}.paid@shop.local>`,
      `<order-${orderId}.refunded@shop.local>`,
    ]);
    expect((await sentRows(orderId)).map((row) => [row.kind, row.status])).toEqual([
      ['paid', 'sent'],
      ['refunded', 'sent'],
    ]);
    expect(await suite.broker.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
    expect(await suite.broker.messageCount(Queues.orderStatus)).toBe(0);
  });

  it('tells the customer at placement until when the reservation holds and that it must be paid by then', async () => {
    // The email is made from the message alone, so no order row is needed.
    const orderId = randomUUID();
    const placed: OrderPlacedV1 = {
      messageId: randomUUID(),
      occurredAt: '2026-12-07T05:00:10.000Z',
      correlationId: `order-${orderId}`,
      type: MessageTypes.orderPlacedV1,
      version: 1,
      data: {
        orderId,
        placedAt: '2026-12-07T05:00:10.000Z',
        customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
        items: [{ sku: 'TEA-001', name: '龙井茶 Longjing tea', quantity: 2, unitPriceCents: 1250 }],
        totalCents: 2500,
        currency: 'EUR',
        payBy: '2026-12-07T05:15:10.000Z',
      },
    };
    await publishOrderPlaced(suite.broker, 'order.notify', placed);

    const [mail] = await suite.notify.smtp.waitForMessages(1);
    const number = orderId.slice(0, 8).toUpperCase();
    expect(mail.subject).toBe(`Your order ${number} is reserved: please pay by 2026-12-07 05:15 UTC`);
    expect(mail.text).toContain(
      'Your items are reserved until 2026-12-07 05:15 UTC. Please pay by then: an unpaid reservation expires and its items go back on sale.',
    );
    expect(mail.text).toContain('2 × 龙井茶 Longjing tea (TEA-001) at €12.50 = €25.00');
    expect(mail.messageId).toBe(`<order-${orderId}@shop.local>`);
    // Still the placement email: recorded in order_notifications and announced to order-api.
    const [announced] = await suite.broker.waitForMessages(Queues.orderStatus, 1);
    expect(announced.properties.type).toBe('order.notified.v1');
  });

  it('parks a lifecycle message with bad data, and one of a type it does not know, each with the reason', async () => {
    const badAddress = lifecycleEvent(MessageTypes.orderExpiredV1, {
      status: 'expired',
      customer: { email: 'not an address', name: '김민지' },
    });
    await publishLifecycle(badAddress);
    const unknown = {
      ...lifecycleEvent(MessageTypes.orderPaidV1, { status: 'paid' }),
      type: 'order.shipped.v1',
    };
    await suite.broker.publishConfirmed(
      'order',
      'order.paid',
      Buffer.from(JSON.stringify(unknown)),
      jsonMessageProperties({
        messageId: unknown.messageId,
        type: unknown.type,
        occurredAt: new Date(),
        appId: 'order-api',
      }),
    );
    // The queue carries on with the next message.
    const good = lifecycleEvent(MessageTypes.orderCancelledV1, { status: 'cancelled' });
    await publishLifecycle(good);

    const parked = await suite.broker.waitForMessages(Queues.orderNotifyDeadLetter, 2);
    const byId = new Map(parked.map((message) => [message.properties.messageId, message]));
    expect(byId.get(badAddress.messageId)?.properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'invalid-message',
      [FailureHeaders.attempts]: 1,
      [FailureHeaders.originalQueue]: 'order_notify',
      [FailureHeaders.lastError]: expect.stringMatching(
        /^body does not match the contract: data\.customer\.email/,
      ),
    });
    expect(JSON.parse(byId.get(badAddress.messageId)!.content.toString())).toEqual(badAddress);
    expect(byId.get(unknown.messageId)?.properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'invalid-message',
      [FailureHeaders.lastError]: expect.stringMatching(/^body does not match the contract: type: /),
    });

    const [mail] = await suite.notify.smtp.waitForMessages(1);
    expect(mail.messageId).toBe(`<order-${good.data.orderId}.cancelled@shop.local>`);
    await waitUntilSent(good.data.orderId, 'cancelled');
    expect(await sentRows(badAddress.data.orderId)).toEqual([]);
    expect(await sentRows(unknown.data.orderId)).toEqual([]);
  });
});
