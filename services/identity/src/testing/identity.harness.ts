import { startHttpApp, testConfig, testSecrets, type HttpAppHarness } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadIdentityConfig } from '../config/identity.config';

/**
 * Boots the real identity against the test database and vhost, with the specs' OPS_TOKEN. `env`
 * overrides configuration variables (lower rate limits, say).
 */
export function startIdentity(env: Record<string, string> = {}): Promise<HttpAppHarness> {
  const config = loadIdentityConfig({
    DATABASE_URL: testConfig.databaseUrlOf('identity'),
    RABBITMQ_URL: testConfig.rabbitmqUrl,
    OPS_TOKEN: testSecrets.OPS_TOKEN,
    ...env,
  });
  return startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
}
