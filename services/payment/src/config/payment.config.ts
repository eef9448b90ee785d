import {
  brokerVariables,
  httpServerVariables,
  loadConfig,
  ownDatabaseVariables,
  positiveIntVariable,
  retentionDaysVariable,
} from '@shop/config';

export const paymentConfigShape = {
  ...httpServerVariables('payment'),
  ...ownDatabaseVariables('payment'),
  ...brokerVariables(),
  /**
   * Payment requests handled at once (the consumer's prefetch). A charge mostly waits on the provider,
   * up to PAYMENT_PROVIDER_TIMEOUT_MS, so a slow answer must not hold up the others behind it.
   */
  PREFETCH: positiveIntVariable(50, 1_000),
  /**
   * How long a charge may wait for the provider before it fails with PROVIDER_TIMEOUT (nothing taken).
   * 15 s by default: longer than the sandbox's late card (10 s), which succeeds, and much shorter than
   * the card that never answers.
   */
  PAYMENT_PROVIDER_TIMEOUT_MS: positiveIntVariable(15_000, 120_000),
  /** Days a parked payment request (it carries a card) is kept in payment_requests.dlq before the daily job removes it. */
  RETENTION_DAYS: retentionDaysVariable(),
};

export type PaymentConfig = ReturnType<typeof loadPaymentConfig>;

/** Reads the environment once, at start-up; a bad value stops the service with a message naming it. */
export function loadPaymentConfig(env?: Record<string, string | undefined>) {
  return loadConfig(paymentConfigShape, env);
}
