import { Exchanges, Queues, RoutingKeys } from './names';
import { TOPOLOGY } from './topology';

describe('TOPOLOGY', () => {
  it('binds each work queue to the order exchange with its routing key', () => {
    expect(TOPOLOGY.bindings).toEqual(
      expect.arrayContaining([
        {
          source: 'order',
          destination: 'order_notify',
          destinationType: 'queue',
          routingKey: 'order.notify',
        },
        {
          source: 'order',
          destination: 'order_report',
          destinationType: 'queue',
          routingKey: 'order.report',
        },
      ]),
    );
  });

  it('dead-letters each work queue to its own .dlq queue', () => {
    for (const queue of [Queues.orderNotify, Queues.orderReport]) {
      const definition = TOPOLOGY.queues.find((q) => q.name === queue);
      expect(definition?.arguments).toMatchObject({
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': Exchanges.orderDeadLetter,
        'x-dead-letter-routing-key': queue,
      });
      const parking = TOPOLOGY.bindings.find(
        (b) => b.source === Exchanges.orderDeadLetter && b.routingKey === queue,
      );
      expect(parking?.destination).toBe(`${queue}.dlq`);
    }
  });

  it('only binds to declared exchanges and queues', () => {
    const exchanges = new Set(TOPOLOGY.exchanges.map((e) => e.name));
    const queues = new Set(TOPOLOGY.queues.map((q) => q.name));
    for (const binding of TOPOLOGY.bindings) {
      expect(exchanges.has(binding.source)).toBe(true);
      const targets = binding.destinationType === 'queue' ? queues : exchanges;
      expect(targets.has(binding.destination)).toBe(true);
    }
    expect(Object.values(RoutingKeys)).toEqual(['order.notify', 'order.report']);
  });
});
