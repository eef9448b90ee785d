import { Logger } from '@nestjs/common';
import { OrderSteps, type PaymentRefundRequestedV1Data, type PaymentRequestedV1Data } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { PermanentFailure } from '@shop/messaging';
import type { ServiceMetrics } from '@shop/service-kit';
import type { PaymentProvider } from '../provider/payment-provider';
import { PaymentResultPublisher } from './payment-result.publisher';
import { PaymentRepository, type Payment } from './payment.repository';

/** From a few milliseconds to the longest provider timeout (PAYMENT_PROVIDER_TIMEOUT_MS, at most 120 s). */
const PROVIDER_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120];

/** How long a claimed charge is held beyond the provider timeout before a redelivery may take it over. */
const CLAIM_MARGIN_MS = 10_000;

export interface PaymentsOptions {
  /** PAYMENT_PROVIDER_TIMEOUT_MS: a charge waits this long for the provider, then fails PROVIDER_TIMEOUT. */
  providerTimeoutMs: number;
}

/** Thrown to retry a request later (WorkQueueProcessor's retry delays): something else holds the payment. */
class PaymentBusy extends Error {}

/**
 * The payment service's two steps of the order saga, each idempotent:
 * - charge (payment.requested): at most one charge per payment id and per order. A payment id answered
 *   before gets its recorded result again, without asking the provider; a payment id for an order paid
 *   under another one is refused (ALREADY_PAID) and never charged.
 * - refund (payment.refund-requested, the saga's compensation of a charge): a succeeded payment is
 *   refunded once; a refunded one gets its payment.refunded again.
 * Each result is published, and confirmed, before the request is acked (the handler returns after it).
 */
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);
  private readonly charges;
  private readonly refunds;
  private readonly providerSeconds;

  constructor(
    private readonly repository: PaymentRepository,
    private readonly provider: PaymentProvider,
    private readonly results: PaymentResultPublisher,
    private readonly options: PaymentsOptions,
    metrics?: ServiceMetrics,
  ) {
    this.charges = metrics?.counter(
      'payment_charges_total',
      'Charge requests decided, by outcome (succeeded, declined, timeout, already_paid); a redelivered one is not counted again',
      ['outcome'],
    );
    this.refunds = metrics?.counter('payment_refunds_total', 'Payments refunded (each once)');
    this.providerSeconds = metrics?.histogram(
      'payment_provider_seconds',
      'How long the payment provider took to answer, by operation (charge, refund); a timed-out charge counts its timeout',
      ['operation'],
      PROVIDER_BUCKETS_SECONDS,
    );
  }

  async charge(request: PaymentRequestedV1Data, correlationId: string): Promise<void> {
    const claim = await this.repository.claimCharge(
      {
        paymentId: request.paymentId,
        orderId: request.orderId,
        amountCents: request.amountCents,
        currency: request.currency,
        cardLast4: request.card.slice(-4),
      },
      this.options.providerTimeoutMs + CLAIM_MARGIN_MS,
    );
    switch (claim.kind) {
      case 'busy':
        throw new PaymentBusy(`${claim.reason}; trying again later`);
      case 'settled':
        assertSameOrder(claim.payment, request.orderId);
        this.logger.log(
          `payment ${request.paymentId}: answered before (${claim.payment.status}); its result published again, nothing charged`,
        );
        await this.results.publishChargeResult(claim.payment, correlationId);
        return;
      case 'refused':
        if (claim.recordedNow) this.charges?.inc({ outcome: 'already_paid' });
        this.logger.warn(
          `payment ${request.paymentId}: order ${request.orderId} is paid already; refused (ALREADY_PAID), nothing charged`,
        );
        await this.results.publishChargeResult(claim.payment, correlationId);
        return;
      case 'claimed':
        await this.results.publishChargeResult(await this.chargeClaimed(request), correlationId);
    }
  }

  async refund(request: PaymentRefundRequestedV1Data, correlationId: string): Promise<void> {
    const payment = await this.repository.find(request.paymentId);
    if (!payment) {
      throw new PermanentFailure(`payment ${request.paymentId} was never charged here`, 'PAYMENT_NOT_FOUND');
    }
    assertSameOrder(payment, request.orderId);
    if (payment.status === 'charging') {
      throw new PaymentBusy(`payment ${request.paymentId} is still being charged; trying again later`);
    }
    if (payment.status === 'refunded') {
      this.logger.log(`payment ${request.paymentId}: refunded before; payment.refunded published again`);
      await this.results.publishRefunded(payment, correlationId);
      return;
    }
    if (payment.status !== 'succeeded') {
      throw new PermanentFailure(
        `payment ${request.paymentId} took no money (${payment.status}): nothing to refund`,
        'PAYMENT_NOT_REFUNDABLE',
      );
    }
    const started = performance.now();
    // The provider refunds a payment id once, so a refund repeated after a crash here gives nothing twice.
    await this.provider.refund({
      paymentId: payment.paymentId,
      chargeReference: payment.providerReference ?? '',
      amountCents: payment.amountCents,
      currency: payment.currency,
    });
    this.providerSeconds?.observe({ operation: 'refund' }, (performance.now() - started) / 1000);
    const { refundedNow, payment: refunded } = await this.repository.markRefunded(
      payment.paymentId,
      request.reason,
    );
    if (refundedNow) {
      this.refunds?.inc();
      this.logger.log(
        logEntry(
          `payment ${payment.paymentId}: refunded ${payment.amountCents} ${payment.currency} (${request.reason})`,
          { step: OrderSteps.paymentRefunded },
        ),
      );
    }
    await this.results.publishRefunded(refunded, correlationId);
  }

  /** Asks the provider, waiting PAYMENT_PROVIDER_TIMEOUT_MS at most, and records its answer. */
  private async chargeClaimed(request: PaymentRequestedV1Data): Promise<Payment> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.options.providerTimeoutMs);
    const started = performance.now();
    try {
      const answer = await this.provider.charge(
        {
          paymentId: request.paymentId,
          amountCents: request.amountCents,
          currency: request.currency,
          card: request.card,
        },
        timeout.signal,
      );
      this.providerSeconds?.observe({ operation: 'charge' }, (performance.now() - started) / 1000);
      const payment = await this.repository.settleCharge(request.paymentId, answer.outcome, answer.reference);
      this.charges?.inc({ outcome: answer.outcome });
      this.logger.log(
        logEntry(
          `payment ${request.paymentId} of order ${request.orderId}: ${answer.outcome} (card …${request.card.slice(-4)})`,
          { step: OrderSteps.paymentCharged },
        ),
      );
      return payment;
    } catch (error) {
      if (!timeout.signal.aborted) {
        await this.repository.releaseClaim(request.paymentId).catch(() => undefined);
        throw new Error(`payment provider: ${(error as Error).message}`);
      }
      this.providerSeconds?.observe({ operation: 'charge' }, (performance.now() - started) / 1000);
      const payment = await this.repository.settleCharge(request.paymentId, 'timed_out', null);
      this.charges?.inc({ outcome: 'timeout' });
      this.logger.warn(
        logEntry(
          `payment ${request.paymentId} of order ${request.orderId}: the provider did not answer within ${this.options.providerTimeoutMs} ms; nothing charged (PROVIDER_TIMEOUT)`,
          { step: OrderSteps.paymentCharged },
        ),
      );
      return payment;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A payment id names one order's attempt: the same id for another order is a bug upstream, not a retry. */
function assertSameOrder(payment: Payment, orderId: string): void {
  if (payment.orderId !== orderId) {
    throw new PermanentFailure(
      `payment ${payment.paymentId} belongs to order ${payment.orderId}, not ${orderId}`,
      'PAYMENT_ORDER_MISMATCH',
    );
  }
}
