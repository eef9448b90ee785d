import {
  databaseUrlVariable,
  type DatabaseService,
  loadConfig,
  rabbitmqUrlVariable,
  serviceDatabaseUrl,
} from '@shop/config';
import { databaseNameOf } from '@shop/db';

/** Where integration specs run. Override with TEST_DATABASE_URL / TEST_RABBITMQ_URL. */
export const testConfig = (() => {
  const env = loadConfig({
    TEST_DATABASE_URL: databaseUrlVariable('postgresql://postgres@127.0.0.1:5432/orders_test'),
    TEST_RABBITMQ_URL: rabbitmqUrlVariable('amqp://guest:guest@127.0.0.1:5672/shop_test'),
  });
  return {
    /** The admin role: fixtures and assertions read and reset every service's tables with it. */
    databaseUrl: env.TEST_DATABASE_URL,
    rabbitmqUrl: env.TEST_RABBITMQ_URL,
    /** The test database as `service`'s own role, the way the service logs in outside tests. */
    databaseUrlOf: (service: DatabaseService) => serviceDatabaseUrl(env.TEST_DATABASE_URL, service),
  };
})();

/** Refuses any database whose name lacks "test", so a spec can never truncate real data. */
export function assertTestDatabase(databaseUrl: string): void {
  const name = databaseNameOf(databaseUrl);
  if (!name.includes('test')) {
    throw new Error(`Refusing to run tests against database "${name}": its name must contain "test".`);
  }
}

export { vhostOf } from '@shop/config';

/**
 * The secrets services require (OPS_TOKEN, ORDER_TOKEN_SECRET), fixed for specs so a spec can send
 * the operator token the service under test was started with.
 */
export const testSecrets = {
  OPS_TOKEN: 'test-ops-token-0123456789abcdefghijklmnopqrstuvwxyz',
  ORDER_TOKEN_SECRET: 'test-order-token-secret-0123456789abcdefghijklmnop',
} as const;
