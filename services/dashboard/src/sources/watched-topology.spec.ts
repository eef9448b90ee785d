import { DEFAULT_PAYMENT_WINDOW_MS, Queues, TOPOLOGY } from '@shop/contracts';
import { defaultExchangeQueues, watchedTopology } from './watched-topology';

describe('watchedTopology', () => {
  it('is the topology itself for the default payment window, whose delay queue it holds', () => {
    expect(watchedTopology(DEFAULT_PAYMENT_WINDOW_MS)).toBe(TOPOLOGY);
    expect(defaultExchangeQueues(TOPOLOGY)).toEqual(['order_payment_due.15m', Queues.reportRpc]);
  });

  it('adds the delay queue of another window, with its TTL, to be read and drawn', () => {
    const watched = watchedTopology(2_000);
    expect(watched.queues.map((q) => q.name)).toEqual([
      ...TOPOLOGY.queues.map((q) => q.name),
      'order_payment_due.2s',
    ]);
    expect(watched.queues.at(-1)?.arguments).toMatchObject({
      'x-message-ttl': 2_000,
      'x-dead-letter-exchange': 'order',
      'x-dead-letter-routing-key': 'order.payment-due',
    });
    expect(defaultExchangeQueues(watched)).toEqual([
      'order_payment_due.15m',
      Queues.reportRpc,
      'order_payment_due.2s',
    ]);
  });
});
