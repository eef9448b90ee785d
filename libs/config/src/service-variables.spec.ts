import { loadConfig } from './load-config';
import { brokerVariables, httpServerVariables, ownDatabaseVariables } from './service-variables';

describe('the variables every service shares', () => {
  const shape = {
    ...httpServerVariables('payment'),
    ...ownDatabaseVariables('payment'),
    ...brokerVariables(),
  };

  it("defaults to the service's own port, loopback, its own database role and the local broker", () => {
    expect(loadConfig(shape, {})).toEqual({
      PORT: 3006,
      HOST: '127.0.0.1',
      ALLOWED_HOSTS: ['localhost', '127.0.0.1', '[::1]'],
      DATABASE_URL: 'postgresql://payment@127.0.0.1:5432/orders',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      RABBITMQ_DECLARE_TOPOLOGY: true,
    });
  });

  it('reads what the environment sets, and refuses a bad value by name', () => {
    const config = loadConfig(shape, { PORT: '8080', HOST: '0.0.0.0', RABBITMQ_DECLARE_TOPOLOGY: 'false' });
    expect([config.PORT, config.HOST, config.RABBITMQ_DECLARE_TOPOLOGY]).toEqual([8080, '0.0.0.0', false]);
    expect(() => loadConfig(shape, { PORT: 'eighty' })).toThrow(/PORT/);
  });
});
