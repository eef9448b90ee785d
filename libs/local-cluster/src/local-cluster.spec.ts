import { LOCAL_CLUSTER_AMQP_PORTS, LocalCluster } from './local-cluster';

describe('LocalCluster (no node started)', () => {
  const cluster = new LocalCluster({ dir: '/tmp/never-created-cluster' });

  it('names three nodes beside the machine broker, with their own ports and folders', () => {
    expect(cluster.nodes.map((node) => [node.name, node.amqpPort, node.distPort])).toEqual([
      ['shop-rabbit-1@localhost', 5681, 25681],
      ['shop-rabbit-2@localhost', 5682, 25682],
      ['shop-rabbit-3@localhost', 5683, 25683],
    ]);
    expect(LOCAL_CLUSTER_AMQP_PORTS).not.toContain(5672);
    expect(new Set(cluster.nodes.map((node) => node.dir)).size).toBe(3);
    for (const node of cluster.nodes) expect(node.dir.startsWith('/tmp/never-created-cluster/')).toBe(true);
  });

  it('writes RABBITMQ_URL as the node list, credentials and vhost encoded, in the order asked', () => {
    const [first, second, third] = cluster.nodes;
    expect(
      cluster.url({ user: 'order-api', password: 'p@ss:/', vhost: 'shop' }, [second, third, first]),
    ).toBe(
      'amqp://order-api:p%40ss%3A%2F@127.0.0.1:5682/shop,' +
        'amqp://order-api:p%40ss%3A%2F@127.0.0.1:5683/shop,' +
        'amqp://order-api:p%40ss%3A%2F@127.0.0.1:5681/shop',
    );
    expect(cluster.url({ user: 'guest', password: 'guest', vhost: '/' }).split(',')).toHaveLength(3);
  });

  it('lists the nodes from any one of them, wrapping round (replica k starts at node k)', () => {
    const ports = (index: number) => cluster.nodesFrom(index).map((node) => node.amqpPort);
    expect([ports(0), ports(1), ports(2), ports(3)]).toEqual([
      [5681, 5682, 5683],
      [5682, 5683, 5681],
      [5683, 5681, 5682],
      [5681, 5682, 5683],
    ]);
  });

  it('finds a node by its Erlang name, and refuses one that is not of this cluster', () => {
    expect(cluster.nodeNamed('shop-rabbit-2@localhost').amqpPort).toBe(5682);
    expect(() => cluster.nodeNamed('rabbit@localhost')).toThrow(/not a node of the local cluster/);
  });
});
