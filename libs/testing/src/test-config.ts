import { databaseUrlVariable, loadConfig, rabbitmqUrlVariable } from '@shop/config';
import { databaseNameOf } from '@shop/db';

/** Where integration specs run. Override with TEST_DATABASE_URL / TEST_RABBITMQ_URL. */
export const testConfig = (() => {
  const env = loadConfig({
    TEST_DATABASE_URL: databaseUrlVariable('postgresql://postgres@127.0.0.1:5432/orders_test'),
    TEST_RABBITMQ_URL: rabbitmqUrlVariable('amqp://guest:guest@127.0.0.1:5672/shop_test'),
  });
  return { databaseUrl: env.TEST_DATABASE_URL, rabbitmqUrl: env.TEST_RABBITMQ_URL };
})();

/** Refuses any database whose name lacks "test", so a spec can never truncate real data. */
export function assertTestDatabase(databaseUrl: string): void {
  const name = databaseNameOf(databaseUrl);
  if (!name.includes('test')) {
    throw new Error(`Refusing to run tests against database "${name}": its name must contain "test".`);
  }
}

/** The vhost of an amqp URL ("/" when the URL has no path). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrl).pathname;
  return path && path !== '/' ? decodeURIComponent(path.slice(1)) : '/';
}
