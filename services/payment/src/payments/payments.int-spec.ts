import {
  deadLetterQueueOf,
  FailureHeaders,
  MessageTypes,
  Queues,
  RoutingKeys,
  SANDBOX_CARDS,
  SANDBOX_LATE_SUCCESS_MS,
} from '@shop/contracts';
import { createTestPool, parsePrometheusText, sampleValue } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { startPayment, type PaymentHarness } from '../testing/payment.harness';
import { PaymentExchangeProbe, paymentRequested, refundRequested } from '../testing/payment-messages';

describe('payment charges and refunds from payment_requests (real RabbitMQ and PostgreSQL)', () => {
  let pool: Pool;
  let exchange: PaymentExchangeProbe;
  let payment: PaymentHarness;

  beforeAll(async () => {
    pool = createTestPool();
    // The default provider timeout (15 s): the late card's 10 s answer is waited for.
    payment = await startPayment();
    exchange = await PaymentExchangeProbe.connect();
  });
  afterAll(async () => {
    await payment?.close();
    await exchange?.close();
    await pool?.end();
  });

  const rowOf = async (paymentId: string) =>
    (
      await pool.query(
        `SELECT order_id::text, amount_cents, currency, card_last4, status, provider_reference,
                settled_at, refunded_at, refund_reason
           FROM payment.payments WHERE payment_id = $1`,
        [paymentId],
      )
    ).rows[0];
  const metric = async (name: string, labels: Record<string, string> = {}) =>
    sampleValue(parsePrometheusText((await payment.service.get('/metrics')).body as string), name, labels) ??
    0;

  it('charges a card and publishes payment.succeeded as user payment, with the request correlation id and the order-id header', async () => {
    const charged = await metric('payment_charges_total', { outcome: 'succeeded' });
    const request = paymentRequested();
    await exchange.request(request);

    const [result] = await exchange.resultsFor(request.data.paymentId, 1);
    expect(result.routingKey).toBe(RoutingKeys.paymentSucceeded);
    expect(result.properties).toMatchObject({
      type: MessageTypes.paymentSucceededV1,
      userId: 'payment',
      appId: 'payment',
      correlationId: request.correlationId,
      messageId: result.body.messageId,
      deliveryMode: 2,
      contentType: 'application/json',
      headers: expect.objectContaining({ 'order-id': request.data.orderId }),
    });
    expect(result.body).toMatchObject({
      type: MessageTypes.paymentSucceededV1,
      correlationId: request.correlationId,
      data: {
        orderId: request.data.orderId,
        paymentId: request.data.paymentId,
        amountCents: 4_998,
        currency: 'EUR',
        providerReference: expect.stringMatching(/^sandbox_ch_[0-9a-f]{24}$/),
      },
    });
    expect(await rowOf(request.data.paymentId)).toMatchObject({
      order_id: request.data.orderId,
      amount_cents: 4_998,
      currency: 'EUR',
      card_last4: '4242',
      status: 'succeeded',
      provider_reference: result.body.data.providerReference,
      settled_at: new Date(String(result.body.data.chargedAt)),
    });
    expect(payment.sandbox.chargesOf(request.data.paymentId)).toEqual([
      expect.objectContaining({ outcome: 'succeeded', chargedCents: 4_998 }),
    ]);
    expect(await metric('payment_charges_total', { outcome: 'succeeded' })).toBe(charged + 1);
  });

  it('publishes payment.failed CARD_DECLINED for the declined card, and takes nothing', async () => {
    const request = paymentRequested({ card: SANDBOX_CARDS.declined });
    await exchange.request(request);

    const [result] = await exchange.resultsFor(request.data.paymentId, 1);
    expect(result.routingKey).toBe(RoutingKeys.paymentFailed);
    expect(result.properties).toMatchObject({ type: MessageTypes.paymentFailedV1, userId: 'payment' });
    expect(result.body.data).toMatchObject({ orderId: request.data.orderId, code: 'CARD_DECLINED' });
    expect(await rowOf(request.data.paymentId)).toMatchObject({ status: 'declined', card_last4: '0002' });
    expect(payment.sandbox.chargesOf(request.data.paymentId)).toEqual([
      expect.objectContaining({ outcome: 'declined', chargedCents: 0 }),
    ]);
  });

  it('answers the late card after about 10 s without holding up a payment sent after it', async () => {
    const late = paymentRequested({ card: SANDBOX_CARDS.succeedsLate });
    const prompt = paymentRequested();
    const sentAt = Date.now();
    await exchange.request(late);
    await exchange.request(prompt);

    await exchange.resultsFor(prompt.data.paymentId, 1);
    const promptAnsweredAfterMs = Date.now() - sentAt;
    const [lateResult] = await exchange.resultsFor(late.data.paymentId, 1, SANDBOX_LATE_SUCCESS_MS + 10_000);
    const lateAnsweredAfterMs = Date.now() - sentAt;

    expect(promptAnsweredAfterMs).toBeLessThan(SANDBOX_LATE_SUCCESS_MS / 2);
    expect(lateAnsweredAfterMs).toBeGreaterThanOrEqual(SANDBOX_LATE_SUCCESS_MS);
    expect(lateResult.routingKey).toBe(RoutingKeys.paymentSucceeded);
    const order = (await exchange.arrived()).map((result) => result.body.data.paymentId);
    expect(order.indexOf(prompt.data.paymentId)).toBeLessThan(order.indexOf(late.data.paymentId));
    expect(await rowOf(late.data.paymentId)).toMatchObject({ status: 'succeeded', card_last4: '3063' });
  }, 40_000);

  it('charges a request delivered twice once, and publishes the same result both times', async () => {
    const request = paymentRequested();
    await exchange.request(request);
    await exchange.resultsFor(request.data.paymentId, 1);
    await exchange.request(request);

    const [first, second] = await exchange.resultsFor(request.data.paymentId, 2);
    expect(second.body).toEqual(first.body);
    expect(second.properties.messageId).toBe(first.properties.messageId);
    expect(second.properties.correlationId).toBe(request.correlationId);
    expect(payment.sandbox.chargesOf(request.data.paymentId)).toHaveLength(1);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM payment.payments WHERE order_id = $1', [
      request.data.orderId,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses a second payment id of a paid order with ALREADY_PAID, and never charges it', async () => {
    const alreadyPaid = await metric('payment_charges_total', { outcome: 'already_paid' });
    const first = paymentRequested();
    await exchange.request(first);
    await exchange.resultsFor(first.data.paymentId, 1);
    const second = paymentRequested({ orderId: first.data.orderId, card: '5555555555554444' });
    await exchange.request(second);

    const [refused] = await exchange.resultsFor(second.data.paymentId, 1);
    expect(refused.routingKey).toBe(RoutingKeys.paymentFailed);
    expect(refused.body.data).toMatchObject({ orderId: first.data.orderId, code: 'ALREADY_PAID' });
    expect(payment.sandbox.chargesOf(second.data.paymentId)).toEqual([]);
    expect(payment.sandbox.chargesOf(first.data.paymentId)).toHaveLength(1);
    expect(await rowOf(second.data.paymentId)).toMatchObject({ status: 'already_paid', card_last4: '4444' });
    expect(await rowOf(first.data.paymentId)).toMatchObject({ status: 'succeeded' });
    expect(await metric('payment_charges_total', { outcome: 'already_paid' })).toBe(alreadyPaid + 1);
  });

  it('refunds a payment once, however often the refund is asked for, and publishes payment.refunded each time', async () => {
    const refunds = await metric('payment_refunds_total');
    const charge = paymentRequested();
    await exchange.request(charge);
    await exchange.resultsFor(charge.data.paymentId, 1);

    await exchange.request(refundRequested(charge, 'late-payment'));
    await exchange.resultsFor(charge.data.paymentId, 2);
    await exchange.request(refundRequested(charge, 'cancelled'));
    const [, first, second] = await exchange.resultsFor(charge.data.paymentId, 3);

    expect([first.routingKey, second.routingKey]).toEqual([
      RoutingKeys.paymentRefunded,
      RoutingKeys.paymentRefunded,
    ]);
    expect(first.properties).toMatchObject({
      type: MessageTypes.paymentRefundedV1,
      userId: 'payment',
      correlationId: charge.correlationId,
      headers: expect.objectContaining({ 'order-id': charge.data.orderId }),
    });
    // The first refund's reason and time stand.
    expect(first.body.data).toMatchObject({ amountCents: 4_998, currency: 'EUR', reason: 'late-payment' });
    expect(second.body).toEqual(first.body);
    expect(payment.sandbox.refundsOf(charge.data.paymentId)).toBe(1);
    expect(await rowOf(charge.data.paymentId)).toMatchObject({
      status: 'refunded',
      refund_reason: 'late-payment',
      refunded_at: new Date(String(first.body.data.refundedAt)),
    });
    expect(await metric('payment_refunds_total')).toBe(refunds + 1);
  });

  it('parks a malformed request in payment_requests.dlq with its reason, charging nothing', async () => {
    const request = paymentRequested({ card: '4242' });
    const messageId = randomUUID();
    await exchange.publishRaw(
      RoutingKeys.paymentRequested,
      Buffer.from(JSON.stringify(request)),
      messageId,
      request.correlationId,
      MessageTypes.paymentRequestedV1,
    );

    const parked = await exchange.broker.waitForMessages(deadLetterQueueOf(Queues.paymentRequests), 1);
    expect(parked[0].properties.messageId).toBe(messageId);
    expect(parked[0].properties.headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'invalid-message',
      [FailureHeaders.originalQueue]: Queues.paymentRequests,
    });
    expect(payment.sandbox.chargesOf(request.data.paymentId)).toEqual([]);
    expect(await rowOf(request.data.paymentId)).toBeUndefined();
  });
});
