import { ConfigError, loadConfig } from './load-config';
import { booleanVariable, databaseUrlVariable, portVariable, rabbitmqUrlVariable } from './variables';

const shape = {
  PORT: portVariable(3000),
  DATABASE_URL: databaseUrlVariable('postgresql://postgres@127.0.0.1:5432/orders'),
  RABBITMQ_URL: rabbitmqUrlVariable('amqp://guest:guest@127.0.0.1:5672'),
};

describe('loadConfig', () => {
  it('applies defaults when variables are unset or empty', () => {
    const config = loadConfig(shape, { PORT: '' });
    expect(config).toEqual({
      PORT: 3000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/orders',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
    });
  });

  it('coerces and keeps valid values', () => {
    const config = loadConfig(shape, { PORT: '8080', RABBITMQ_URL: 'amqps://u:p@broker:5671/shop' });
    expect(config.PORT).toBe(8080);
    expect(config.RABBITMQ_URL).toBe('amqps://u:p@broker:5671/shop');
  });

  it('names every bad variable and what it got', () => {
    let thrown: unknown;
    try {
      loadConfig(shape, { PORT: 'eighty', DATABASE_URL: 'mysql://x', RABBITMQ_URL: 'amqp://ok' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const { problems, message } = thrown as ConfigError;
    expect(problems).toHaveLength(2);
    expect(message).toMatch(/PORT: must be a port number \(got "eighty"\)/);
    expect(message).toMatch(/DATABASE_URL: must be a postgresql:\/\/ URL \(got "mysql:\/\/x"\)/);
  });

  it('rejects out-of-range ports', () => {
    expect(() => loadConfig(shape, { PORT: '70000' })).toThrow(/PORT: must be between 1 and 65535/);
  });

  it('reads booleans', () => {
    const flags = { DECLARE: booleanVariable(true) };
    expect(loadConfig(flags, {}).DECLARE).toBe(true);
    expect(loadConfig(flags, { DECLARE: 'false' }).DECLARE).toBe(false);
    expect(() => loadConfig(flags, { DECLARE: 'maybe' })).toThrow(/DECLARE: must be true or false/);
  });
});
