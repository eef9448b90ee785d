import { loadConfig } from './load-config';
import { allowedHostsVariable, rabbitmqNodesOf, trustProxyVariable, vhostOf } from './variables';

describe('RABBITMQ_URL helpers', () => {
  const cluster = ' amqp://u:p@127.0.0.1:5681/shop , amqp://u:p@127.0.0.1:5682/shop,';

  it('lists the nodes of a comma-separated URL', () => {
    expect(rabbitmqNodesOf(cluster)).toEqual([
      'amqp://u:p@127.0.0.1:5681/shop',
      'amqp://u:p@127.0.0.1:5682/shop',
    ]);
  });

  it('reads the vhost of one URL or of a node list, "/" without a path', () => {
    expect(vhostOf(cluster)).toBe('shop');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672/shop%5Ftest')).toBe('shop_test');
    expect(vhostOf('amqp://guest:guest@127.0.0.1:5672')).toBe('/');
  });
});

describe('allowedHostsVariable', () => {
  const shape = { ALLOWED_HOSTS: allowedHostsVariable() };

  it('defaults to the loopback names and reads a list, lower-cased', () => {
    expect(loadConfig(shape, {}).ALLOWED_HOSTS).toEqual(['localhost', '127.0.0.1', '[::1]']);
    expect(loadConfig(shape, { ALLOWED_HOSTS: ' Order-API, [::1],shop.example ' }).ALLOWED_HOSTS).toEqual([
      'order-api',
      '[::1]',
      'shop.example',
    ]);
    expect(loadConfig(shape, { ALLOWED_HOSTS: '*' }).ALLOWED_HOSTS).toEqual(['*']);
  });

  it('refuses what is not a host name', () => {
    for (const bad of ['localhost:3000', 'http://localhost', 'a b', ',']) {
      expect(() => loadConfig(shape, { ALLOWED_HOSTS: bad })).toThrow(/ALLOWED_HOSTS: must be host names/);
    }
  });
});

describe('trustProxyVariable', () => {
  const shape = { TRUST_PROXY: trustProxyVariable() };

  it('defaults to loopback and reads addresses, subnets and proxy-addr names', () => {
    expect(loadConfig(shape, {}).TRUST_PROXY).toEqual(['127.0.0.1', '::1']);
    expect(
      loadConfig(shape, { TRUST_PROXY: ' 10.0.0.0/8, FD00::/8,loopback,uniquelocal ' }).TRUST_PROXY,
    ).toEqual(['10.0.0.0/8', 'fd00::/8', 'loopback', 'uniquelocal']);
  });

  it('refuses what proxy-addr would not read', () => {
    for (const bad of ['haproxy', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '10.0.0.0/x', ',', '*']) {
      expect(() => loadConfig(shape, { TRUST_PROXY: bad })).toThrow(/TRUST_PROXY: must be IP addresses/);
    }
  });
});
