import { rabbitmqNodesOf, vhostOf } from './variables';

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
