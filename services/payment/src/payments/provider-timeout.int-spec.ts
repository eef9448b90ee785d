import { MessageTypes, RoutingKeys, SANDBOX_CARDS } from '@shop/contracts';
import { createTestPool, parsePrometheusText, sampleValue } from '@shop/testing';
import type { Pool } from 'pg';
import { startPayment, type PaymentHarness } from '../testing/payment.harness';
import { PaymentExchangeProbe, paymentRequested } from '../testing/payment-messages';

const PROVIDER_TIMEOUT_MS = 500;

describe('payment gives up on a provider that does not answer (real RabbitMQ and PostgreSQL)', () => {
  let pool: Pool;
  let exchange: PaymentExchangeProbe;
  let payment: PaymentHarness;

  beforeAll(async () => {
    pool = createTestPool();
    payment = await startPayment({ PAYMENT_PROVIDER_TIMEOUT_MS: String(PROVIDER_TIMEOUT_MS) });
    exchange = await PaymentExchangeProbe.connect();
  });
  afterAll(async () => {
    await payment?.close();
    await exchange?.close();
    await pool?.end();
  });

  it('publishes payment.failed PROVIDER_TIMEOUT after PAYMENT_PROVIDER_TIMEOUT_MS, and the sandbox charged nothing', async () => {
    const request = paymentRequested({ card: SANDBOX_CARDS.timesOut });
    const sentAt = Date.now();
    await exchange.request(request);

    const [result] = await exchange.resultsFor(request.data.paymentId, 1);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(PROVIDER_TIMEOUT_MS);
    expect(result.routingKey).toBe(RoutingKeys.paymentFailed);
    expect(result.properties).toMatchObject({
      type: MessageTypes.paymentFailedV1,
      userId: 'payment',
      correlationId: request.correlationId,
      headers: expect.objectContaining({ 'order-id': request.data.orderId }),
    });
    expect(result.body.data).toMatchObject({ paymentId: request.data.paymentId, code: 'PROVIDER_TIMEOUT' });
    const { rows } = await pool.query(
      'SELECT status, provider_reference, card_last4 FROM payment.payments WHERE payment_id = $1',
      [request.data.paymentId],
    );
    expect(rows).toEqual([{ status: 'timed_out', provider_reference: null, card_last4: '0119' }]);
    expect(payment.sandbox.chargesOf(request.data.paymentId)).toEqual([
      expect.objectContaining({ outcome: 'abandoned', chargedCents: 0 }),
    ]);
    const metrics = parsePrometheusText((await payment.service.get('/metrics')).body as string);
    expect(sampleValue(metrics, 'payment_charges_total', { outcome: 'timeout' })).toBe(1);
  });
});
