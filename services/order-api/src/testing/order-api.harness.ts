import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@shop/logging';
import { OutboxRelay } from '@shop/messaging';
import { createServiceApp } from '@shop/service-kit';
import { testConfig } from '@shop/testing';
import { AppModule } from '../app.module';
import { databaseUnavailableClassifier } from '../common/database-unavailable.classifier';
import { loadOrderApiConfig } from '../config/order-api.config';

export interface OrderApiHarness {
  app: NestFastifyApplication;
  baseUrl: string;
  relay: OutboxRelay;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; body: any }>;
  get(path: string): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

/**
 * Boots the real order-api (same module, same Fastify app factory as main.ts) on a free port against
 * the test database and vhost. `env` overrides configuration variables (e.g. a dead DATABASE_URL).
 */
export async function startOrderApi(env: Record<string, string> = {}): Promise<OrderApiHarness> {
  const config = loadOrderApiConfig({
    DATABASE_URL: testConfig.databaseUrl,
    RABBITMQ_URL: testConfig.rabbitmqUrl,
    // The sweep runs often in tests so broker-outage specs finish quickly.
    OUTBOX_SWEEP_INTERVAL_MS: '250',
    ...env,
  });
  const app = await createServiceApp(AppModule.forRoot(config), {
    logger: new JsonLogger('order-api', { minLevel: 'error' }),
    errorClassifiers: [databaseUnavailableClassifier],
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the raw text (e.g. HTML docs)
    }
    return { status: response.status, headers: response.headers, body: parsed as any };
  };

  return {
    app,
    baseUrl,
    relay: app.get(OutboxRelay),
    post: (path, body, headers) => send('POST', path, body, headers),
    get: (path) => send('GET', path),
    close: () => app.close(),
  };
}
