import type { JsonLogger } from '@shop/logging';
import { OutboxRelay } from '@shop/messaging';
import { startHttpApp, testConfig, testSecrets, type HttpAppHarness } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { databaseUnavailableClassifier } from '../common/database-unavailable.classifier';
import { loadOrderApiConfig } from '../config/order-api.config';

export interface OrderApiHarness extends HttpAppHarness {
  relay: OutboxRelay;
}

/** `Authorization: Bearer <token>`, as a headers object. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The operator token the harness starts order-api with. */
export const asOperator = bearer(testSecrets.OPS_TOKEN);

/**
 * Rate limits no spec reaches by accident (many place orders at once, from 127.0.0.1, as one customer);
 * the limits' own spec sets low ones.
 */
const UNREACHED_RATE_LIMITS = {
  ORDER_RATE_LIMIT_PER_CLIENT: '1000000',
  ORDER_RATE_LIMIT_PER_CUSTOMER: '1000000',
  PAYMENT_RATE_LIMIT_PER_CLIENT: '1000000',
  PAYMENT_RATE_LIMIT_PER_CUSTOMER: '1000000',
};

/**
 * Boots the real order-api against the test database and vhost, with the test secrets (testSecrets).
 * `env` overrides configuration variables (e.g. a DATABASE_URL nothing listens on, the IDENTITY_JWKS_URL
 * of a spec's own key server); `logger` replaces the errors-only default.
 */
export async function startOrderApi(
  env: Record<string, string> = {},
  options: { logger?: JsonLogger } = {},
): Promise<OrderApiHarness> {
  const config = loadOrderApiConfig({
    DATABASE_URL: testConfig.databaseUrlOf('order-api'),
    RABBITMQ_URL: testConfig.rabbitmqUrl,
    // The sweep runs often in tests so broker-outage specs finish quickly.
    OUTBOX_SWEEP_INTERVAL_MS: '250',
    ...testSecrets,
    ...UNREACHED_RATE_LIMITS,
    ...env,
  });
  const harness = await startHttpApp(AppModule.forRoot(config), {
    service: SERVICE_NAME,
    errorClassifiers: [databaseUnavailableClassifier],
    logger: options.logger,
  });
  return { ...harness, relay: harness.app.get(OutboxRelay) };
}
