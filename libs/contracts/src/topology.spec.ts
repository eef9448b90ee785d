import {
  DEFAULT_PAYMENT_WINDOW_MS,
  Exchanges,
  followBindingOf,
  LogHeaders,
  paymentDueQueueOf,
  paymentWindowLabel,
  Queues,
  RoutingKeys,
} from './names';
import { CLUSTER_TOPOLOGY, paymentDueQueue, TOPOLOGY } from './topology';

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
    expect(Object.values(RoutingKeys)).toEqual([
      'order.notify',
      'order.report',
      'order.notified',
      'order.reported',
      'customer.sign-in-code',
      'order.paid',
      'order.expired',
      'order.cancelled',
      'order.refunded',
      'order.payment-due',
      'payment.requested',
      'payment.refund-requested',
      'payment.succeeded',
      'payment.failed',
      'payment.refunded',
      'order.requested',
    ]);
  });

  it('keeps the waiting room in order: a quorum queue that parks what it cannot read, with no retry path or delivery limit', () => {
    const room = TOPOLOGY.queues.find((q) => q.name === Queues.orderRequests);
    expect(room?.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'order.dlx',
      'x-dead-letter-routing-key': 'order_requests',
    });
    expect(TOPOLOGY.bindings).toContainEqual({
      source: 'order',
      destination: 'order_requests',
      destinationType: 'queue',
      routingKey: 'order.requested',
    });
    expect(TOPOLOGY.queues.some((q) => q.name.startsWith('order_requests.retry'))).toBe(false);
  });

  it('gives each work queue retry queues that expire back into it', () => {
    const retry = TOPOLOGY.queues.find((q) => q.name === 'order_notify.retry.5s');
    expect(retry?.arguments).toEqual({
      'x-queue-type': 'classic',
      'x-message-ttl': 5000,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'order_notify',
    });
    expect(TOPOLOGY.bindings).toContainEqual({
      source: 'order_notify.retry',
      destination: 'order_notify.retry.5s',
      destinationType: 'queue',
      routingKey: '5s',
    });
    expect(TOPOLOGY.exchanges.map((e) => e.name)).toEqual(
      expect.arrayContaining(['order_notify.retry', 'order_report.retry']),
    );
  });
});

describe('log exchanges', () => {
  it('copies every record from the topic exchange to a fanout (everything) and a headers exchange (follow one order)', () => {
    expect(TOPOLOGY.exchanges).toEqual(
      expect.arrayContaining([
        { name: 'logs', type: 'topic', durable: true },
        { name: 'logs.broadcast', type: 'fanout', durable: true },
        { name: 'logs.follow', type: 'headers', durable: true },
      ]),
    );
    expect(TOPOLOGY.bindings.filter((b) => b.destinationType === 'exchange')).toEqual([
      { source: 'logs', destination: 'logs.broadcast', destinationType: 'exchange', routingKey: '#' },
      { source: 'logs', destination: 'logs.follow', destinationType: 'exchange', routingKey: '#' },
    ]);
    // Nothing durable is bound to it: followers bring their own exclusive queues.
    expect(TOPOLOGY.bindings.filter((b) => b.source === Exchanges.logsFollow)).toEqual([]);
  });

  it('follows one order or one correlation id by matching every named header', () => {
    expect(followBindingOf(LogHeaders.orderId, 'o-1')).toEqual({ 'x-match': 'all', 'order-id': 'o-1' });
    expect(followBindingOf(LogHeaders.correlationId, 'c-1')).toEqual({
      'x-match': 'all',
      'correlation-id': 'c-1',
    });
  });
});

describe('payment deadlines', () => {
  it('names each window by the largest unit that divides it, and refuses a window out of bounds', () => {
    expect(paymentWindowLabel(900_000)).toBe('15m');
    expect(paymentWindowLabel(7_200_000)).toBe('2h');
    expect(paymentWindowLabel(90_000)).toBe('90s');
    expect(paymentWindowLabel(1_500)).toBe('1500ms');
    expect(paymentDueQueueOf(2_000)).toBe('order_payment_due.2s');
    expect(() => paymentWindowLabel(999)).toThrow(RangeError);
    expect(() => paymentWindowLabel(1.5e3 + 0.5)).toThrow(RangeError);
    expect(() => paymentWindowLabel(8 * 24 * 3_600_000)).toThrow(RangeError);
  });

  it('delays each deadline in a quorum queue that dead-letters it, at least once, to order_deadlines', () => {
    expect(paymentDueQueue(2_000)).toEqual({
      name: 'order_payment_due.2s',
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-message-ttl': 2_000,
        'x-dead-letter-exchange': Exchanges.order,
        'x-dead-letter-routing-key': RoutingKeys.orderPaymentDue,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
    expect(TOPOLOGY.queues).toContainEqual(paymentDueQueue(DEFAULT_PAYMENT_WINDOW_MS));
    expect(TOPOLOGY.bindings).toContainEqual({
      source: Exchanges.order,
      destination: Queues.orderDeadlines,
      destinationType: 'queue',
      routingKey: RoutingKeys.orderPaymentDue,
    });
    // The same arguments on a cluster: declaring it from order-api must not clash with the definitions.
    expect(CLUSTER_TOPOLOGY.queues).toContainEqual(paymentDueQueue(DEFAULT_PAYMENT_WINDOW_MS));
  });
});

describe('CLUSTER_TOPOLOGY', () => {
  const queueOf = (name: string) => CLUSTER_TOPOLOGY.queues.find((q) => q.name === name);

  it('makes every queue a quorum queue, report_rpc included', () => {
    const classic = CLUSTER_TOPOLOGY.queues.filter((q) => q.arguments['x-queue-type'] !== 'quorum');
    expect(classic.map((q) => q.name)).toEqual([]);
    expect(TOPOLOGY.queues.find((q) => q.name === Queues.reportRpc)?.arguments['x-queue-type']).toBe(
      'classic',
    );
    expect(CLUSTER_TOPOLOGY.queues.map((q) => q.name)).toEqual(TOPOLOGY.queues.map((q) => q.name));
  });

  it('dead-letters at least once wherever a queue dead-letters', () => {
    expect(queueOf('order_notify.retry.5s')?.arguments).toEqual({
      'x-queue-type': 'quorum',
      'x-message-ttl': 5000,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': 'order_notify',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    expect(queueOf(Queues.orderReport)?.arguments).toMatchObject({
      'x-dead-letter-exchange': Exchanges.orderDeadLetter,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    expect(queueOf(Queues.logArchive)?.arguments).toEqual({ 'x-queue-type': 'quorum' });
  });

  it('routes exactly as the single-node topology does', () => {
    expect(CLUSTER_TOPOLOGY.exchanges).toEqual(TOPOLOGY.exchanges);
    expect(CLUSTER_TOPOLOGY.bindings).toEqual(TOPOLOGY.bindings);
  });
});
