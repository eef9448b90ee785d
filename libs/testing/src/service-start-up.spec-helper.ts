import type * as JestGlobals from '@jest/globals';
import type { HttpAppHarness } from './http-app.harness';
import { testConfig } from './test-config';
import { waitFor } from './wait-for';

/**
 * The start-up contract every service keeps: it boots, connects and answers GET /health with each of
 * its checks "up"; with RabbitMQ unreachable it still starts and answers 503 naming the broker.
 * `boot` starts the service with the given RABBITMQ_URL (and the test database where it has one).
 */
export function describeServiceStartUp(
  service: string,
  checks: string[],
  boot: (rabbitmqUrl: string) => Promise<HttpAppHarness>,
): void {
  // Jest's globals, looked up on call: importing '@jest/globals' would break tools that load this lib outside Jest.
  const { afterEach, describe, expect, it } = globalThis as unknown as typeof JestGlobals;
  describe(`${service} start-up`, () => {
    let running: HttpAppHarness | undefined;

    afterEach(async () => {
      await running?.close();
      running = undefined;
    });

    it('starts, connects and answers GET /health with every dependency up', async () => {
      running = await boot(testConfig.rabbitmqUrl);
      const app = running;
      const health = await waitFor('health 200', async () => {
        const response = await app.get('/health');
        return response.status === 200 && response;
      });
      expect(health.body).toEqual({
        status: 'ok',
        checks: Object.fromEntries(checks.map((name) => [name, { status: 'up' }])),
      });
    });

    it('reports 503 naming the broker while RabbitMQ cannot be reached', async () => {
      running = await boot('amqp://guest:guest@127.0.0.1:1');
      const health = await running.get('/health');
      expect(health.status).toBe(503);
      expect(health.body.checks.broker).toEqual({ status: 'down', error: 'not connected to RabbitMQ' });
    });
  });
}
