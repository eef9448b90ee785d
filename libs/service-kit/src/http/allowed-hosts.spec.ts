import { hostNameOf } from './allowed-hosts';

describe('hostNameOf', () => {
  it('drops the port and a trailing dot, and lower-cases', () => {
    expect(hostNameOf('localhost:3000')).toBe('localhost');
    expect(hostNameOf('Order-API')).toBe('order-api');
    expect(hostNameOf('[::1]:3004')).toBe('[::1]');
    expect(hostNameOf('127.0.0.1')).toBe('127.0.0.1');
    expect(hostNameOf('shop.example.:80')).toBe('shop.example');
  });

  it('is undefined for what is not host[:port]', () => {
    for (const bad of [
      '',
      'a b',
      'evil.com@localhost',
      'localhost:',
      'localhost:abc',
      '::1',
      'x/y',
      'localhost:123456',
    ]) {
      expect(hostNameOf(bad)).toBeUndefined();
    }
  });
});
