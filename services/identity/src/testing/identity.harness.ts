import {
  startHttpApp,
  testConfig,
  testRabbitmqUrlAs,
  testSecrets,
  waitFor,
  type HttpAppHarness,
} from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadIdentityConfig } from '../config/identity.config';

/**
 * Boots the real identity against the test database and vhost, with the specs' OPS_TOKEN. `env`
 * overrides configuration variables (lower rate limits, say). Resolves once GET /health answers 200.
 */
export async function startIdentity(env: Record<string, string> = {}): Promise<HttpAppHarness> {
  const config = loadIdentityConfig({
    DATABASE_URL: testConfig.databaseUrlOf('identity'),
    // Its own RabbitMQ user, as in production: the codes it publishes carry user_id identity.
    RABBITMQ_URL: testRabbitmqUrlAs('identity'),
    OPS_TOKEN: testSecrets.OPS_TOKEN,
    ...env,
  });
  const identity = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  // Connected before a spec goes on: closing while the broker connection is still being set up left it open.
  await waitFor('identity to be healthy', async () => (await identity.get('/health')).status === 200);
  return identity;
}
