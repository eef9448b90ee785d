import { assertTestDatabase, vhostOf } from './test-config';

describe('assertTestDatabase', () => {
  it('refuses a database without "test" in its name', () => {
    expect(() => assertTestDatabase('postgresql://postgres@127.0.0.1:5432/orders')).toThrow(/Refusing/);
    expect(() => assertTestDatabase('postgresql://postgres@127.0.0.1:5432/orders_test')).not.toThrow();
  });
});

describe('vhostOf', () => {
  it('reads the vhost from the URL path', () => {
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672/shop_test')).toBe('shop_test');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672')).toBe('/');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672/%2F')).toBe('/');
  });
});
