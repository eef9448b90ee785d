import {
  Exchanges,
  FailureHeaders,
  MessageTypes,
  paymentDueQueueOf,
  type PaymentFailureCode,
  type PaymentRequestV1,
  Queues,
  RoutingKeys,
  SANDBOX_CARDS,
} from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  insertProduct,
  resetDatabase,
  testRabbitmqUrlAs,
  waitFor,
  waitForConsumer,
} from '@shop/testing';
import type { GetMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';

/** Long enough for a spec's steps to run inside it, short enough to watch a reservation expire. */
const WINDOW_MS = 4_000;
const STOCK = 10;
const SKU = 'TEA-001';

interface PlacedOrder {
  id: string;
  accessToken: string;
  status: string;
  payBy: string;
  createdAt: string;
}

/**
 * The order's life against the real order-api, PostgreSQL and RabbitMQ: the payment service's side of the
 * saga is played here, over the broker, as its own RabbitMQ user (order-api believes payment results
 * from `payment` only), so each answer comes exactly when a spec wants it.
 */
describe('order lifecycle: pay, expire, cancel, refund (real RabbitMQ and PostgreSQL)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let asPayment: BrokerProbe;
  let api: OrderApiHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    asPayment = await BrokerProbe.connect(testRabbitmqUrlAs('payment'));
    api = await startOrderApi({ PAYMENT_WINDOW_MS: String(WINDOW_MS) });
    await waitForConsumer(Queues.orderPayments);
    await waitForConsumer(Queues.orderDeadlines);
  });
  afterAll(async () => {
    await api?.close();
    await asPayment?.close();
    await broker?.close();
    await pool?.end();
  });
  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(
      Queues.orderNotify,
      Queues.orderReport,
      Queues.paymentRequests,
      Queues.orderPaymentsDeadLetter,
      Queues.orderDeadlinesDeadLetter,
      paymentDueQueueOf(WINDOW_MS),
    );
    await insertProduct(pool, { sku: SKU, name: 'Longjing tea', priceCents: 1250, stock: STOCK });
  });

  const place = async (quantity = 1, email = 'buyer@example.com'): Promise<PlacedOrder> => {
    const response = await api.post('/orders', {
      customer: { email, name: 'Buyer' },
      items: [{ sku: SKU, quantity }],
    });
    expect(response.status).toBe(201);
    return response.body as PlacedOrder;
  };
  const pay = (order: PlacedOrder, card: string = SANDBOX_CARDS.succeeds) =>
    api.post(`/orders/${order.id}/payment`, { card }, bearer(order.accessToken));
  const cancel = (order: PlacedOrder) =>
    api.post(`/orders/${order.id}/cancel`, undefined, bearer(order.accessToken));
  const read = async (order: PlacedOrder) =>
    (await api.get(`/orders/${order.id}`, bearer(order.accessToken))).body;
  const stock = async () =>
    Number((await pool.query('SELECT stock FROM products WHERE sku = $1', [SKU])).rows[0].stock);
  const statusOf = async (orderId: string) =>
    (await pool.query<{ status: string }>('SELECT status::text FROM orders WHERE id = $1', [orderId])).rows[0]
      .status;
  const waitForStatus = (order: PlacedOrder, status: string, timeoutMs = 15_000) =>
    waitFor(`order ${order.id} to be ${status}`, async () => (await statusOf(order.id)) === status, {
      timeoutMs,
    });

  /** The payment service's side: the requests order-api published, in order. */
  const takePaymentRequests = async (
    count: number,
  ): Promise<{ message: GetMessage; request: PaymentRequestV1 }[]> =>
    (await broker.waitForMessages(Queues.paymentRequests, count, 15_000)).map((message) => ({
      message,
      request: JSON.parse(message.content.toString()) as PaymentRequestV1,
    }));

  const resultMessage = (
    orderId: string,
    paymentId: string,
    outcome: 'succeeded' | 'refunded' | { failed: PaymentFailureCode },
  ) => {
    const messageId = randomUUID();
    const at = new Date().toISOString();
    const [routingKey, type, data] =
      outcome === 'succeeded'
        ? [
            RoutingKeys.paymentSucceeded,
            MessageTypes.paymentSucceededV1,
            {
              orderId,
              paymentId,
              amountCents: 1250,
              currency: 'EUR',
              providerReference: `sandbox-${paymentId}`,
              chargedAt: at,
            },
          ]
        : outcome === 'refunded'
          ? [
              RoutingKeys.paymentRefunded,
              MessageTypes.paymentRefundedV1,
              {
                orderId,
                paymentId,
                amountCents: 1250,
                currency: 'EUR',
                reason: 'late-payment',
                refundedAt: at,
              },
            ]
          : [
              RoutingKeys.paymentFailed,
              MessageTypes.paymentFailedV1,
              { orderId, paymentId, code: outcome.failed, message: 'The card was declined.', failedAt: at },
            ];
    const body = { messageId, type, version: 1, occurredAt: at, correlationId: `spec-${orderId}`, data };
    return {
      exchange: Exchanges.payment,
      routingKey,
      body: Buffer.from(JSON.stringify(body)),
      options: {
        persistent: true,
        messageId,
        type,
        contentType: 'application/json',
        correlationId: body.correlationId,
        userId: 'payment',
      },
    };
  };
  const answer = (orderId: string, paymentId: string, outcome: Parameters<typeof resultMessage>[2]) =>
    asPayment.publishBurstConfirmed([resultMessage(orderId, paymentId, outcome)]);

  const deadlineMessage = (orderId: string) => {
    const messageId = randomUUID();
    const body = {
      messageId,
      type: MessageTypes.orderPaymentDueV1,
      version: 1,
      occurredAt: new Date().toISOString(),
      correlationId: `spec-${orderId}`,
      data: { orderId, payBy: new Date().toISOString() },
    };
    // As the delay queue dead-letters it when its TTL runs out.
    return {
      exchange: Exchanges.order,
      routingKey: RoutingKeys.orderPaymentDue,
      body: Buffer.from(JSON.stringify(body)),
      options: { persistent: true, messageId, type: body.type, contentType: 'application/json' },
    };
  };

  /** The lifecycle emails order-api asked notify-worker for, by order: [type, status, refund reason]. */
  const lifecycleEmails = async () => {
    const messages = await broker.drain(Queues.orderNotify);
    return messages
      .map((message) => JSON.parse(message.content.toString()))
      .filter((body) => body.type !== MessageTypes.orderPlacedV1)
      .map((body) => [body.type, body.data.orderId, body.data.status, body.data.refund?.reason]);
  };

  it('reserves the stock until payBy and pays: 202, a payment request with its properties, then paid', async () => {
    const order = await place(2);
    expect(order.status).toBe('placed');
    expect(new Date(order.payBy).getTime() - new Date(order.createdAt).getTime()).toBe(WINDOW_MS);
    expect(await stock()).toBe(STOCK - 2);
    // The deadline waits in the window's delay queue.
    await waitFor(
      'the deadline in its delay queue',
      async () => (await broker.messageCount(paymentDueQueueOf(WINDOW_MS))) === 1,
    );

    const accepted = await pay(order);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(`/orders/${order.id}`);
    expect(accepted.body).toEqual({ orderId: order.id, paymentId: expect.any(String), status: 'pending' });
    expect((await read(order)).payment).toEqual({ status: 'pending', paymentId: accepted.body.paymentId });

    const [{ message, request }] = await takePaymentRequests(1);
    expect(message.fields.routingKey).toBe(RoutingKeys.paymentRequested);
    expect(message.properties).toMatchObject({
      type: MessageTypes.paymentRequestedV1,
      correlationId: request.correlationId,
      messageId: request.messageId,
      deliveryMode: 2,
      headers: expect.objectContaining({ 'order-id': order.id }),
    });
    expect(request.data).toEqual({
      orderId: order.id,
      paymentId: accepted.body.paymentId,
      amountCents: 2500,
      currency: 'EUR',
      card: SANDBOX_CARDS.succeeds,
    });

    await answer(order.id, accepted.body.paymentId, 'succeeded');
    await waitForStatus(order, 'paid');
    const paid = await read(order);
    expect(paid).toMatchObject({
      status: 'paid',
      payment: { status: 'succeeded', paymentId: accepted.body.paymentId },
    });
    expect(new Date(paid.paidAt).getTime()).toBeGreaterThanOrEqual(new Date(order.createdAt).getTime());
    expect(await stock()).toBe(STOCK - 2);

    // A second charge is refused, never taken; the deadline then changes nothing.
    const again = await pay(order);
    expect([again.status, again.body.code]).toEqual([409, 'ORDER_ALREADY_PAID']);
    await waitFor(
      'the deadline to fall due',
      async () => (await broker.messageCount(paymentDueQueueOf(WINDOW_MS))) === 0,
      {
        timeoutMs: WINDOW_MS + 10_000,
      },
    );
    await waitFor(
      'the deadline to be applied',
      async () => (await broker.messageCount(Queues.orderDeadlines)) === 0,
    );
    expect(await statusOf(order.id)).toBe('paid');
    expect(await lifecycleEmails()).toEqual([[MessageTypes.orderPaidV1, order.id, 'paid', undefined]]);
  });

  it('lets a declined card be followed by another, one attempt at a time', async () => {
    const order = await place();
    const first = await pay(order, SANDBOX_CARDS.declined);
    expect(first.status).toBe(202);
    const busy = await pay(order);
    expect([busy.status, busy.body.code]).toEqual([409, 'PAYMENT_IN_PROGRESS']);
    await takePaymentRequests(1);
    await answer(order.id, first.body.paymentId, { failed: 'CARD_DECLINED' });
    await waitFor('the decline to be applied', async () => (await read(order)).payment.status === 'failed');
    expect((await read(order)).payment).toEqual({
      status: 'failed',
      paymentId: first.body.paymentId,
      failure: 'CARD_DECLINED',
    });
    expect(await statusOf(order.id)).toBe('placed');

    const second = await pay(order);
    expect(second.status).toBe(202);
    expect(second.body.paymentId).not.toBe(first.body.paymentId);
    await takePaymentRequests(1);
    // The first attempt's failure, delivered again, changes nothing now.
    await answer(order.id, first.body.paymentId, { failed: 'CARD_DECLINED' });
    await answer(order.id, second.body.paymentId, 'succeeded');
    await waitForStatus(order, 'paid');
    expect(await lifecycleEmails()).toEqual([[MessageTypes.orderPaidV1, order.id, 'paid', undefined]]);
  });

  it('expires an unpaid reservation when its delayed deadline falls due, and returns its stock once', async () => {
    const order = await place(3);
    expect(await stock()).toBe(STOCK - 3);
    await waitForStatus(order, 'expired', WINDOW_MS + 15_000);
    const expired = await read(order);
    expect(new Date(expired.expiredAt).getTime()).toBeGreaterThanOrEqual(new Date(order.payBy).getTime());
    expect(await stock()).toBe(STOCK);
    const late = await pay(order);
    expect([late.status, late.body.code]).toEqual([409, 'ORDER_NOT_PAYABLE']);
    // A second deadline for the order (redelivered) returns nothing more.
    await broker.publishBurstConfirmed([deadlineMessage(order.id)]);
    await waitFor(
      'the duplicate deadline to be applied',
      async () => (await broker.messageCount(Queues.orderDeadlines)) === 0,
    );
    expect(await stock()).toBe(STOCK);
    expect(await lifecycleEmails()).toEqual([[MessageTypes.orderExpiredV1, order.id, 'expired', undefined]]);
  });

  it('cancels an unpaid order at once (200, stock back), and again is the same answer', async () => {
    const order = await place(2);
    const cancelled = await cancel(order);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: order.id,
      status: 'cancelled',
      cancelledAt: expect.any(String),
    });
    expect(await stock()).toBe(STOCK);
    expect((await cancel(order)).status).toBe(200);
    expect(await stock()).toBe(STOCK);
    const pay_ = await pay(order);
    expect([pay_.status, pay_.body.code]).toEqual([409, 'ORDER_NOT_PAYABLE']);
    expect(await lifecycleEmails()).toEqual([
      [MessageTypes.orderCancelledV1, order.id, 'cancelled', undefined],
    ]);
  });

  it('cancels a paid order by refunding it first: 202, then cancelled with its stock back', async () => {
    const order = await place(2);
    const { body } = await pay(order);
    await takePaymentRequests(1);
    await answer(order.id, body.paymentId, 'succeeded');
    await waitForStatus(order, 'paid');

    const asked = await cancel(order);
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({
      status: 'paid',
      cancelRequestedAt: expect.any(String),
      payment: { status: 'refunding' },
    });
    expect(await stock()).toBe(STOCK - 2);
    const [{ message, request }] = await takePaymentRequests(1);
    expect(message.fields.routingKey).toBe(RoutingKeys.paymentRefundRequested);
    expect(request).toMatchObject({
      type: MessageTypes.paymentRefundRequestedV1,
      data: { orderId: order.id, paymentId: body.paymentId, amountCents: 2500, reason: 'cancelled' },
    });
    expect((await cancel(order)).status).toBe(202);

    await answer(order.id, body.paymentId, 'refunded');
    await waitForStatus(order, 'cancelled');
    expect(await read(order)).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });
    expect(await stock()).toBe(STOCK);
    expect(await lifecycleEmails()).toEqual([
      [MessageTypes.orderPaidV1, order.id, 'paid', undefined],
      [MessageTypes.orderCancelledV1, order.id, 'cancelled', 'cancelled'],
    ]);
  });

  it('refunds a payment that succeeds after the order expired, and never makes it paid', async () => {
    const order = await place();
    const { body } = await pay(order, SANDBOX_CARDS.succeedsLate);
    await takePaymentRequests(1);
    await waitForStatus(order, 'expired', WINDOW_MS + 15_000);
    expect(await stock()).toBe(STOCK);

    await answer(order.id, body.paymentId, 'succeeded');
    const [{ request }] = await takePaymentRequests(1);
    expect(request).toMatchObject({
      type: MessageTypes.paymentRefundRequestedV1,
      data: { orderId: order.id, paymentId: body.paymentId, reason: 'late-payment' },
    });
    expect(await read(order)).toMatchObject({ status: 'expired', payment: { status: 'refunding' } });
    // The same success again asks for no second refund.
    await answer(order.id, body.paymentId, 'succeeded');
    await answer(order.id, body.paymentId, 'refunded');
    await waitFor('the refund to be recorded', async () => (await read(order)).payment.status === 'refunded');
    expect(await broker.messageCount(Queues.paymentRequests)).toBe(0);
    expect(await read(order)).toMatchObject({ status: 'expired', refundedAt: expect.any(String) });
    expect(await stock()).toBe(STOCK);
    expect(await lifecycleEmails()).toEqual([
      [MessageTypes.orderExpiredV1, order.id, 'expired', undefined],
      [MessageTypes.orderRefundedV1, order.id, 'expired', 'late-payment'],
    ]);
  });

  it('decides a deadline and a payment arriving together one way, 100 times over, the stock exact', async () => {
    // 100 reservations whose payment is under way, written as place_orders and a payment request leave
    // them (their own delayed deadlines would fall due while a slow machine still places them).
    const orders: { id: string; paymentId: string }[] = [];
    for (let n = 0; n < 100; n++) {
      const { orderId } = await createOrderFixture(pool, {
        customer: { email: `racer${n}@example.com`, name: `Racer ${n}` },
        items: [{ sku: SKU, name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
      });
      orders.push({ id: orderId, paymentId: randomUUID() });
    }
    for (const { id, paymentId } of orders) {
      await pool.query('UPDATE orders SET payment_id = $2, payment_pending = true WHERE id = $1', [
        id,
        paymentId,
      ]);
    }
    const stockBefore = await stock();

    // Half the payments a moment ahead, then every deadline and the other half at once, on two connections.
    const paymentOf = ({ id, paymentId }: { id: string; paymentId: string }) =>
      resultMessage(id, paymentId, 'succeeded');
    await asPayment.publishBurstConfirmed(orders.slice(0, 50).map(paymentOf));
    await Promise.all([
      broker.publishBurstConfirmed(orders.map((order) => deadlineMessage(order.id))),
      asPayment.publishBurstConfirmed(orders.slice(50).map(paymentOf)),
    ]);
    await waitFor(
      'both events of every order applied',
      async () =>
        Number(
          (
            await pool.query(
              `SELECT count(*) AS n FROM orders
                WHERE status = 'paid' OR (status = 'expired' AND late_payment_id IS NOT NULL)`,
            )
          ).rows[0].n,
        ) === 100,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'every deadline applied',
      async () => (await broker.messageCount(Queues.orderDeadlines)) === 0,
    );
    const { rows } = await pool.query<{ status: string; n: number; refunds: number; returned: number }>(
      `SELECT status::text, count(*)::int AS n, count(late_payment_id)::int AS refunds,
              count(stock_returned_at)::int AS returned
         FROM orders GROUP BY status ORDER BY status`,
    );
    const paid = rows.find((row) => row.status === 'paid') ?? { n: 0, refunds: 0, returned: 0 };
    const expired = rows.find((row) => row.status === 'expired') ?? { n: 0, refunds: 0, returned: 0 };
    expect(paid.n + expired.n).toBe(100);
    // A paid order kept its units and owes nothing back; an expired one gave its unit back once and its
    // payment, which came after the deadline, is refunded.
    expect([paid.refunds, paid.returned]).toEqual([0, 0]);
    expect([expired.refunds, expired.returned]).toEqual([expired.n, expired.n]);
    expect(await stock()).toBe(stockBefore + expired.n);
    const refundRequests = (await broker.drain(Queues.paymentRequests)).map((m) =>
      JSON.parse(m.content.toString()),
    );
    expect(refundRequests).toHaveLength(expired.n);
    expect(refundRequests.every((request) => request.data.reason === 'late-payment')).toBe(true);
    const emails = await lifecycleEmails();
    expect(emails).toHaveLength(100);
    expect(new Set(emails.map(([, orderId]) => orderId)).size).toBe(100);
  });

  it('forgets a sold-out product once a cancellation brings its stock back', async () => {
    await pool.query('UPDATE products SET stock = 1 WHERE sku = $1', [SKU]);
    const first = await place(1);
    for (let n = 0; n < 3; n++) {
      const refused = await api.post('/orders', {
        customer: { email: 'late@example.com', name: 'Late' },
        items: [{ sku: SKU, quantity: 1 }],
      });
      expect([refused.status, refused.body.code]).toEqual([409, 'OUT_OF_STOCK']);
    }
    expect((await cancel(first)).status).toBe(200);
    await waitFor('the returned unit to be sold again', async () => {
      const again = await api.post('/orders', {
        customer: { email: 'late@example.com', name: 'Late' },
        items: [{ sku: SKU, quantity: 1 }],
      });
      return again.status === 201;
    });
    expect(await stock()).toBe(0);
  });

  it('refuses bad requests with a code: a malformed card, no credential, a wrong token', async () => {
    const order = await place();
    const malformed = await pay(order, '4242-4242');
    expect([malformed.status, malformed.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const anonymous = await api.post(`/orders/${order.id}/payment`, { card: SANDBOX_CARDS.succeeds });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
    const other = await place(1, 'other@example.com');
    const wrong = await api.post(`/orders/${order.id}/cancel`, undefined, bearer(other.accessToken));
    expect([wrong.status, wrong.body.code]).toEqual([404, 'ORDER_NOT_FOUND']);
    expect(await statusOf(order.id)).toBe('placed');
    expect(await broker.messageCount(Queues.paymentRequests)).toBe(0);
  });

  it('parks a payment result not from the payment service, and a deadline for no order, with their reasons', async () => {
    const order = await place();
    const { body } = await pay(order);
    await takePaymentRequests(1);
    const forged = resultMessage(order.id, body.paymentId, 'succeeded');
    const { userId: _payment, ...asGuest } = forged.options;
    await broker.publishBurstConfirmed([{ ...forged, options: asGuest }]);
    const [parked] = await broker.waitForMessages(Queues.orderPaymentsDeadLetter, 1, 15_000);
    expect(String(parked.properties.headers?.[FailureHeaders.lastError])).toMatch(
      /^FORBIDDEN_PUBLISHER: payment.succeeded.v1 is accepted from payment only/,
    );
    expect(await statusOf(order.id)).toBe('placed');

    await broker.publishBurstConfirmed([deadlineMessage(randomUUID())]);
    const [lost] = await broker.waitForMessages(Queues.orderDeadlinesDeadLetter, 1, 15_000);
    expect(parked.properties.headers?.[FailureHeaders.originalQueue]).toBe(Queues.orderPayments);
    expect(String(lost.properties.headers?.[FailureHeaders.lastError])).toContain('ORDER_NOT_FOUND');
  });
});
