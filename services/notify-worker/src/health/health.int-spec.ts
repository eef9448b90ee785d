import { startHttpApp, testConfig, waitFor, type HttpAppHarness } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadNotifyWorkerConfig } from '../config/notify-worker.config';

describe('notify-worker start-up', () => {
  let service: HttpAppHarness;

  afterEach(() => service?.close());

  it('starts, connects and answers GET /health with every dependency up', async () => {
    const config = loadNotifyWorkerConfig({
      DATABASE_URL: testConfig.databaseUrl,
      RABBITMQ_URL: testConfig.rabbitmqUrl,
    });
    service = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
    const health = await waitFor('health 200', async () => {
      const response = await service.get('/health');
      return response.status === 200 && response;
    });
    expect(health.body).toEqual({
      status: 'ok',
      checks: { database: { status: 'up' }, broker: { status: 'up' } },
    });
  });

  it('reports 503 naming the broker while RabbitMQ cannot be reached', async () => {
    const config = loadNotifyWorkerConfig({
      DATABASE_URL: testConfig.databaseUrl,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1',
    });
    service = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
    const health = await service.get('/health');
    expect(health.status).toBe(503);
    expect(health.body.checks.broker).toEqual({ status: 'down', error: 'not connected to RabbitMQ' });
  });
});
