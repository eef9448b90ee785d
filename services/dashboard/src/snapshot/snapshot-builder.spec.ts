import {
  DEFAULT_PAYMENT_WINDOW_MS,
  ORDER_STATUSES,
  ParkingQueueSources,
  paymentDueQueueOf,
  Queues,
  TOPOLOGY,
  WorkQueues,
} from '@shop/contracts';
import { parsePrometheusText } from '@shop/service-kit';
import { histogramQuantile } from './metric-window';
import {
  deadLetterQueuesOf,
  SnapshotBuilder,
  type QueueReading,
  type RawTick,
  type TargetReading,
} from './snapshot-builder';

/** A target that answered, with its /metrics written as Prometheus text. */
const target = (
  instance: string,
  metrics: string,
  service = instance.replace(/-\d+$/, ''),
): TargetReading => ({
  instance,
  service,
  health: 'up',
  samples: parsePrometheusText(metrics),
});

const tick = (
  atMs: number,
  targets: TargetReading[],
  queues: QueueReading[] = [],
  extra: Partial<RawTick> = {},
): RawTick => ({
  atMs,
  targets,
  broker: { source: 'amqp', nodes: [{ name: 'rabbit@localhost', up: true }], queues },
  parked: {},
  errors: [],
  sale: null,
  ...extra,
});

const accepted = (n: number, status = 201) =>
  `http_requests_total{method="POST",route="/orders",status="${status}"} ${n}`;

/** POST /orders duration histogram with `counts` cumulative per bound 0.01, 0.05, 0.1, +Inf. */
const durations = (counts: [number, number, number, number]) =>
  ['0.01', '0.05', '0.1', '+Inf']
    .map(
      (le, i) =>
        `http_request_duration_seconds_bucket{le="${le}",method="POST",route="/orders"} ${counts[i]}`,
    )
    .join('\n');

describe('SnapshotBuilder', () => {
  it('turns counters into per-second rates over the window, summed over instances, across a restart', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY, rateWindowMs: 5_000 });
    builder.build(tick(0, [target('order-api-1', accepted(100)), target('order-api-2', accepted(50))]));
    builder.build(tick(1_000, [target('order-api-1', accepted(120)), target('order-api-2', accepted(60))]));
    const snapshot = builder.build(
      tick(2_000, [target('order-api-1', accepted(140)), target('order-api-2', accepted(4))]),
    );
    // order-api-1: 40 in 2 s; order-api-2 restarted (60 → 4): 4 since its restart, over 2 s.
    expect(snapshot.orders.acceptedPerSecond).toBeCloseTo(20 + 2);
    expect(snapshot.orders.acceptedTotal).toBe(144);
    expect(snapshot.rateWindowSeconds).toBe(2);
  });

  it('forgets readings older than the window, and has no rate before a second reading', () => {
    const builder = new SnapshotBuilder({
      topology: TOPOLOGY,
      rateWindowMs: 2_000,
      percentileWindowMs: 2_000,
    });
    expect(builder.build(tick(0, [target('order-api', accepted(0))])).orders.acceptedPerSecond).toBeNull();
    builder.build(tick(1_000, [target('order-api', accepted(1_000))]));
    builder.build(tick(2_000, [target('order-api', accepted(1_000))]));
    const later = builder.build(tick(3_000, [target('order-api', accepted(1_003))]));
    // The burst between 0 and 1 s fell out of the window: only 1 → 3 s counts.
    expect(later.orders.acceptedPerSecond).toBeCloseTo(1.5);
  });

  it('splits POST /orders answers into accepted, re-sent, refused (4xx) and failed (5xx)', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const metrics = (k: number) =>
      [
        accepted(10 * k),
        accepted(2 * k, 200),
        accepted(30 * k, 409),
        accepted(k, 400),
        accepted(k, 503),
      ].join('\n');
    builder.build(tick(0, [target('order-api', metrics(1))]));
    const snapshot = builder.build(tick(1_000, [target('order-api', metrics(2))]));
    expect(snapshot.orders).toMatchObject({
      acceptedPerSecond: 10,
      replayedPerSecond: 2,
      refusedPerSecond: 31,
      failedPerSecond: 1,
    });
  });

  it('computes latency percentiles from the histogram buckets observed in the window', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    // Before: 1,000 old observations, all under 10 ms; they must not count.
    builder.build(tick(0, [target('order-api', durations([1_000, 1_000, 1_000, 1_000]))]));
    // In the window: 100 more, 50 under 10 ms, 40 in 10-50 ms, 10 in 50-100 ms.
    const snapshot = builder.build(
      tick(1_000, [target('order-api', durations([1_050, 1_090, 1_100, 1_100]))]),
    );
    // p50: rank 50 is the last of the first bucket → 10 ms. p99: rank 99 is 9/10 into 50-100 ms → 95 ms.
    expect(snapshot.orders.latencyP50Ms).toBeCloseTo(10);
    expect(snapshot.orders.latencyP99Ms).toBeCloseTo(95);
  });

  it('histogramQuantile interpolates inside a bucket, answers the highest bound for +Inf, null when empty', () => {
    const buckets = [
      { le: 0.1, count: 0 },
      { le: 0.2, count: 10 },
      { le: Infinity, count: 20 },
    ];
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.15);
    expect(histogramQuantile(0.99, buckets)).toBe(0.2);
    expect(
      histogramQuantile(0.5, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeNull();
  });

  it('over AMQP: queue rates from the services’ counters, unacked from their messages in progress', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const api = (k: number) =>
      [
        `messages_published_total{exchange="order",routing_key="order.notify",outcome="confirmed"} ${10 * k}`,
        `messages_published_total{exchange="order",routing_key="order.report",outcome="confirmed"} ${10 * k}`,
        `messages_published_total{exchange="order",routing_key="order.notify",outcome="failed"} ${100 * k}`,
      ].join('\n');
    const notify = (k: number, inProgress: number) =>
      [
        `messages_processed_total{queue="order_notify",outcome="handled"} ${8 * k}`,
        `messages_processed_total{queue="order_notify",outcome="retrying"} ${k}`,
        `messages_in_progress{queue="order_notify"} ${inProgress}`,
      ].join('\n');
    const queues: QueueReading[] = [
      { name: 'order_notify', ready: 40, consumers: 2 },
      { name: 'order_notify.retry.1s', ready: 3, consumers: 0 },
    ];
    builder.build(
      tick(
        0,
        [
          target('order-api', api(1)),
          target('notify-worker-1', notify(1, 0)),
          target('notify-worker-2', notify(1, 0)),
        ],
        queues,
      ),
    );
    const snapshot = builder.build(
      tick(
        1_000,
        [
          target('order-api', api(3)),
          target('notify-worker-1', notify(2, 5)),
          target('notify-worker-2', notify(3, 4)),
        ],
        queues,
      ),
    );
    const orderNotify = snapshot.queues.find((q) => q.name === 'order_notify');
    expect(orderNotify).toEqual({
      name: 'order_notify',
      ready: 40,
      unacked: 9,
      consumers: 2,
      // Only confirmed publishes count: 20 in 1 s.
      publishRate: 20,
      // Settled by both workers: 9 + 18 in 1 s.
      deliverRate: 27,
      ackRate: 27,
    });
    expect(snapshot.queues.find((q) => q.name === 'order_notify.retry.1s')).toMatchObject({
      ready: 3,
      unacked: 0,
      deliverRate: 0,
    });
    expect(snapshot.workers.emailsPerSecond).toBe(24);
    expect(snapshot.workers.retriesPerSecond).toBe(3);
    // A queue the broker did not report is shown as unknown, not as empty.
    expect(snapshot.queues.find((q) => q.name === 'order_report')).toMatchObject({
      ready: null,
      consumers: null,
    });
    expect(snapshot.queues.map((q) => q.name)).toEqual(TOPOLOGY.queues.map((q) => q.name));
  });

  it('with the management API: the broker’s own rates and unacked counts are shown as they are', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const withQueue = builder.build(
      tick(0, [], [], {
        broker: {
          source: 'management',
          nodes: [
            { name: 'rabbit@a', up: true },
            { name: 'rabbit@b', up: false },
          ],
          queues: [
            {
              name: 'log_archive',
              ready: 7,
              unacked: 200,
              consumers: 1,
              rates: { publish: 500, deliver: 480, ack: 470 },
            },
          ],
        },
      }),
    );
    expect(withQueue.queues.find((q) => q.name === 'log_archive')).toEqual({
      name: 'log_archive',
      ready: 7,
      unacked: 200,
      consumers: 1,
      publishRate: 500,
      deliverRate: 480,
      ackRate: 470,
    });
    expect(withQueue.broker.source).toBe('management');
    expect(withQueue.broker.nodes).toEqual([
      { name: 'rabbit@a', up: true },
      { name: 'rabbit@b', up: false },
    ]);
  });

  it('groups parked messages by reason, and counts database gauges once however many replicas report them', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const gauges = [
      'orders_by_status{status="placed"} 3',
      'orders_by_status{status="completed"} 90',
      'orders_by_status{status="expired"} 12',
      // A status from before the order lifecycle (an old order-api still running) is no status any more.
      'orders_by_status{status="notified"} 7',
      'outbox_unpublished_messages 4',
    ].join('\n');
    const snapshot = builder.build(
      tick(
        0,
        [target('order-api-1', gauges), target('order-api-2', gauges)],
        [{ name: 'order_notify.dlq', ready: 3, consumers: 0 }],
        {
          parked: {
            'order_notify.dlq': [
              { messageId: 'm1', reason: 'invalid-message', lastError: 'body is not JSON' },
              { messageId: 'm2', reason: 'retries-exhausted', lastError: 'SMTP 451' },
              { messageId: 'm3', reason: 'invalid-message', lastError: 'customer.email: Invalid email' },
            ],
          },
        },
      ),
    );
    // Every status of an order's life, in that order; one no order has counts 0.
    expect(snapshot.orders.byStatus).toEqual({
      placed: 3,
      paid: 0,
      completed: 90,
      cancelled: 0,
      expired: 12,
      refunded: 0,
    });
    expect(Object.keys(snapshot.orders.byStatus)).toEqual([...ORDER_STATUSES]);
    expect(snapshot.orders.outboxBacklog).toBe(4);
    const notifyDlq = snapshot.workers.deadLetters.find((d) => d.queue === 'order_notify.dlq');
    expect(notifyDlq?.depth).toBe(3);
    expect(notifyDlq?.reasons).toEqual([
      { reason: 'invalid-message', count: 2 },
      { reason: 'retries-exhausted', count: 1 },
    ]);
    expect(notifyDlq?.messages.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
  });

  it("lists every dead-letter queue of the topology, the waiting room's too", () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const snapshot = builder.build(
      tick(0, [], [{ name: Queues.orderRequestsDeadLetter, ready: 2, consumers: 0 }]),
    );
    const listed = snapshot.workers.deadLetters.map((d) => d.queue);
    expect(listed).toEqual(TOPOLOGY.queues.map((q) => q.name).filter((name) => name.endsWith('.dlq')));
    expect(listed).toEqual(
      expect.arrayContaining([...WorkQueues.map((q) => `${q}.dlq`), 'order_requests.dlq']),
    );
    // The broker reader lists every one's parked messages as `npm run dlq` does, the waiting room's too.
    expect(deadLetterQueuesOf(TOPOLOGY).map((d) => d.source)).toEqual([...ParkingQueueSources]);
    expect(snapshot.workers.deadLetters.find((d) => d.queue === 'order_requests.dlq')).toEqual({
      queue: 'order_requests.dlq',
      depth: 2,
      reasons: [],
      messages: [],
    });
  });

  it('a total is 0 while its service was read without the series yet, unknown while the service is not read', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const read = builder.build(tick(0, [target('order-api', 'process_cpu_seconds_total 1')]));
    expect(read.orders.acceptedTotal).toBe(0);
    expect(read.orders.byStatus.paid).toBe(0);
    expect(read.workers.emailsTotal).toBeNull();
    expect(read.payments.chargesTotal).toBeNull();
    const unread = new SnapshotBuilder({ topology: TOPOLOGY }).build(tick(0, []));
    expect(Object.values(unread.orders.byStatus)).toEqual(ORDER_STATUSES.map(() => null));
  });

  it('payments per second by outcome and refunds per second, over the same window as the other rates', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY, rateWindowMs: 2_000 });
    const payment = (succeeded: number, declined: number, refunds: number, timeout?: number) =>
      target(
        'payment',
        [
          `payment_charges_total{outcome="succeeded"} ${succeeded}`,
          `payment_charges_total{outcome="declined"} ${declined}`,
          ...(timeout === undefined ? [] : [`payment_charges_total{outcome="timeout"} ${timeout}`]),
          `payment_refunds_total ${refunds}`,
        ].join('\n'),
      );
    const first = builder.build(tick(0, [payment(100, 10, 0)]));
    // One reading: totals, but no rate yet.
    expect(first.payments).toEqual({
      chargesPerSecond: null,
      byOutcome: { succeeded: null, declined: null, timeout: null, already_paid: null },
      refundsPerSecond: null,
      chargesTotal: 110,
      refundsTotal: 0,
    });
    builder.build(tick(1_000, [payment(1_000, 10, 0)]));
    builder.build(tick(2_000, [payment(1_040, 14, 2, 2)]));
    const snapshot = builder.build(tick(3_000, [payment(1_080, 18, 6, 4)]));
    // The window is 1 → 3 s: the burst before 1 s is out of it; a series that appeared meanwhile counts from 0.
    expect(snapshot.payments).toEqual({
      chargesPerSecond: (80 + 8 + 4) / 2,
      byOutcome: { succeeded: 40, declined: 4, timeout: 2, already_paid: 0 },
      refundsPerSecond: 3,
      chargesTotal: 1_102,
      refundsTotal: 6,
    });
  });

  it('delay queues over AMQP: the reservations waiting in each, deadlines in from order-api, due from order_deadlines', () => {
    const delayQueue = paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS);
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const api = (k: number) =>
      [
        `messages_published_total{exchange="",routing_key="${delayQueue}",outcome="confirmed"} ${30 * k}`,
        `messages_processed_total{queue="order_deadlines",outcome="handled"} ${5 * k}`,
        `messages_processed_total{queue="order_deadlines",outcome="retrying"} ${k}`,
      ].join('\n');
    const queues: QueueReading[] = [
      { name: delayQueue, ready: 1_234, consumers: 0 },
      { name: Queues.orderDeadlines, ready: 0, consumers: 1 },
    ];
    builder.build(tick(0, [target('order-api', api(1))], queues));
    const snapshot = builder.build(tick(1_000, [target('order-api', api(2))], queues));
    expect(snapshot.deadlines).toEqual({
      delayQueues: [{ name: delayQueue, waiting: 1_234, publishRate: 30 }],
      firedPerSecond: 5,
    });
    expect(snapshot.queues.find((q) => q.name === delayQueue)).toMatchObject({
      ready: 1_234,
      consumers: 0,
      publishRate: 30,
      deliverRate: 0,
    });
    // Dead-lettered into by the broker, counted by no publisher: its incoming rate is unknown, not 0.
    expect(snapshot.queues.find((q) => q.name === Queues.orderDeadlines)).toMatchObject({
      publishRate: null,
      deliverRate: 6,
    });
  });

  it('delay queues with the management API: every window’s queue the broker lists, also one the topology does not name', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const queue = (name: string, ready: number) => ({
      name,
      ready,
      unacked: 0,
      consumers: 0,
      rates: { publish: ready / 10, deliver: 0, ack: 0 },
    });
    const snapshot = builder.build(
      tick(0, [], [], {
        broker: {
          source: 'management',
          nodes: [{ name: 'rabbit@a', up: true }],
          queues: [queue('order_payment_due.15m', 800), queue('order_payment_due.2s', 40)],
        },
      }),
    );
    expect(snapshot.deadlines.delayQueues).toEqual([
      { name: 'order_payment_due.15m', waiting: 800, publishRate: 80 },
      { name: 'order_payment_due.2s', waiting: 40, publishRate: 4 },
    ]);
    expect(snapshot.queues.map((q) => q.name)).toEqual([
      ...TOPOLOGY.queues.map((q) => q.name),
      'order_payment_due.2s',
    ]);
  });

  it('reports each target’s health and whether its metrics were read', () => {
    const builder = new SnapshotBuilder({ topology: TOPOLOGY });
    const snapshot = builder.build(
      tick(0, [
        target('order-api', accepted(1)),
        { instance: 'notify-worker', service: 'notify-worker', health: 'down', detail: 'ECONNREFUSED' },
      ]),
    );
    expect(snapshot.services).toEqual([
      { instance: 'order-api', service: 'order-api', health: 'up', metrics: true },
      {
        instance: 'notify-worker',
        service: 'notify-worker',
        health: 'down',
        detail: 'ECONNREFUSED',
        metrics: false,
      },
    ]);
  });
});
