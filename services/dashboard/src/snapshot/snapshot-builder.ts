import {
  deadLetterQueueOf,
  isPaymentDueQueue,
  ORDER_STATUSES,
  ParkingQueueSources,
  Queues,
  WorkQueues,
  type ParkingQueueSource,
  type Topology,
} from '@shop/contracts';
import type { PrometheusSample } from '@shop/service-kit';
import {
  counterRate,
  latestMax,
  latestSum,
  windowQuantile,
  type LabelFilter,
  type ScrapeTick,
} from './metric-window';
import {
  PAYMENT_OUTCOMES,
  type DashboardSnapshot,
  type DeadLetterFigures,
  type DeadlineFigures,
  type OrderFigures,
  type PaymentFigures,
  type QueueFigures,
  type RecentError,
  type SaleStatus,
  type ServiceStatus,
} from './snapshot';

/** One service instance as read this second: its /health and, when it answered, its /metrics. */
export interface TargetReading {
  instance: string;
  service: string;
  health: ServiceStatus['health'];
  detail?: string;
  samples?: readonly PrometheusSample[];
}

/** One queue as the broker reports it; `rates` only where the management API gives them. */
export interface QueueReading {
  name: string;
  ready: number;
  unacked?: number;
  consumers: number;
  rates?: { publish: number; deliver: number; ack: number };
}

export interface ParkedReading {
  messageId: string;
  reason: string;
  lastError: string;
  failedAt?: string;
}

/** Everything the collector read in one tick. */
export interface RawTick {
  atMs: number;
  targets: readonly TargetReading[];
  broker: {
    source: 'management' | 'amqp';
    nodes: { name: string; up: boolean; detail?: string }[];
    /** The queues that could be read (a missing one is left out). */
    queues: readonly QueueReading[];
  };
  /** Parked messages by dead-letter queue, when they were listed this tick (they are listed less often). */
  parked: Readonly<Record<string, readonly ParkedReading[]>>;
  errors: readonly RecentError[];
  sale: SaleStatus | null;
}

export interface SnapshotBuilderOptions {
  topology: Topology;
  /** Rates are per second over this much history. */
  rateWindowMs?: number;
  /** Latency percentiles are over this much history (enough observations to mean something). */
  percentileWindowMs?: number;
}

const ORDERS_ROUTE: LabelFilter = { route: '/orders', method: 'POST' };
const SETTLED = ['handled', 'retrying', 'parked'];
/** Exchanges whose publishers count their confirmed messages in messages_published_total. */
const COUNTED_EXCHANGE_TYPES = new Set(['direct']);

/**
 * Turns a second's raw readings into a DashboardSnapshot, keeping the last few seconds of scrapes so
 * counters become rates and histogram buckets become percentiles. Pure apart from that history, so a
 * spec can feed it readings and check every figure.
 */
export class SnapshotBuilder {
  private readonly history: ScrapeTick[] = [];
  private readonly rateWindowMs: number;
  private readonly percentileWindowMs: number;

  constructor(private readonly options: SnapshotBuilderOptions) {
    this.rateWindowMs = options.rateWindowMs ?? 5_000;
    this.percentileWindowMs = options.percentileWindowMs ?? 10_000;
  }

  build(tick: RawTick): DashboardSnapshot {
    this.remember(tick);
    const rateTicks = this.since(tick.atMs - this.rateWindowMs);
    const percentileTicks = this.since(tick.atMs - this.percentileWindowMs);
    const rate = (name: string, labels: LabelFilter = {}) => counterRate(rateTicks, name, labels);
    // A labelled counter's series appears on its first increment: an instance that was read without it counts 0.
    const total = (service: string, name: string, labels: LabelFilter = {}) => {
      const read = tick.targets.some((target) => target.service === service && target.samples);
      return latestSum(rateTicks, name, labels) ?? (read ? 0 : null);
    };
    const quantileMs = (name: string, labels: LabelFilter, q: number) => {
      const seconds = windowQuantile(percentileTicks, name, labels, q);
      return seconds === null ? null : seconds * 1000;
    };
    const status = (pattern: string) => ({ ...ORDERS_ROUTE, status: statusesMatching(rateTicks, pattern) });
    const queues = this.queueFigures(tick, rate);

    return {
      at: new Date(tick.atMs).toISOString(),
      rateWindowSeconds: (tick.atMs - (rateTicks[0]?.atMs ?? tick.atMs)) / 1000,
      services: tick.targets.map(({ instance, service, health, detail, samples }) => ({
        instance,
        service,
        health,
        ...(detail ? { detail } : {}),
        metrics: samples !== undefined,
      })),
      broker: { source: tick.broker.source, nodes: tick.broker.nodes },
      queues,
      orders: {
        acceptedPerSecond: rate('http_requests_total', { ...ORDERS_ROUTE, status: '201' }),
        replayedPerSecond: rate('http_requests_total', { ...ORDERS_ROUTE, status: '200' }),
        refusedPerSecond: rate('http_requests_total', status('4')),
        failedPerSecond: rate('http_requests_total', status('5')),
        acceptedTotal: total('order-api', 'http_requests_total', { ...ORDERS_ROUTE, status: '201' }),
        latencyP50Ms: quantileMs('http_request_duration_seconds', ORDERS_ROUTE, 0.5),
        latencyP99Ms: quantileMs('http_request_duration_seconds', ORDERS_ROUTE, 0.99),
        outboxBacklog: latestMax(rateTicks, 'outbox_unpublished_messages'),
        byStatus: ordersByStatus(rateTicks, tick.targets),
      },
      deadlines: deadlineFigures(queues, rate),
      payments: paymentFigures(rate, total),
      workers: {
        emailsPerSecond: rate('messages_processed_total', { queue: Queues.orderNotify, outcome: 'handled' }),
        pdfsPerSecond: rate('messages_processed_total', { queue: Queues.orderReport, outcome: 'handled' }),
        retriesPerSecond: rate('messages_processed_total', { outcome: 'retrying' }),
        emailsTotal: total('notify-worker', 'messages_processed_total', {
          queue: Queues.orderNotify,
          outcome: 'handled',
        }),
        pdfsTotal: total('report-worker', 'messages_processed_total', {
          queue: Queues.orderReport,
          outcome: 'handled',
        }),
        deadLetters: this.deadLetters(tick),
      },
      rpc: {
        callsPerSecond: rate('report_rpc_calls_total'),
        p99Ms: quantileMs('report_rpc_call_seconds', {}, 0.99),
        timeoutsTotal: total('order-api', 'report_rpc_calls_total', { outcome: 'timeout' }),
        lateRepliesTotal: total('order-api', 'report_rpc_replies_discarded_total'),
        byOutcome: labelTotals(rateTicks, 'report_rpc_calls_total', 'outcome'),
      },
      errors: [...tick.errors],
      sale: tick.sale,
    };
  }

  private remember(tick: RawTick): void {
    const byInstance = new Map<string, readonly PrometheusSample[]>();
    for (const target of tick.targets) if (target.samples) byInstance.set(target.instance, target.samples);
    this.history.push({ atMs: tick.atMs, byInstance });
    const keepFrom = tick.atMs - Math.max(this.rateWindowMs, this.percentileWindowMs);
    while (this.history.length > 1 && this.history[0].atMs < keepFrom) this.history.shift();
  }

  private since(fromMs: number): ScrapeTick[] {
    return this.history.filter((tick) => tick.atMs >= fromMs);
  }

  /**
   * Each queue of the topology with what the broker said and, without the management API, the rates
   * the services' own counters give: publishes their confirmed publishers counted for the queue's
   * bindings, deliveries and acks their consumers counted. A queue without consumers delivers nothing.
   */
  private queueFigures(
    tick: RawTick,
    rate: (name: string, labels?: LabelFilter) => number | null,
  ): QueueFigures[] {
    const readings = new Map(tick.broker.queues.map((queue) => [queue.name, queue]));
    const exchangeTypes = new Map(this.options.topology.exchanges.map((e) => [e.name, e.type]));
    const names = this.options.topology.queues.map((queue) => queue.name);
    // The management API lists the delay queues of windows the topology does not name (other windows).
    for (const { name } of tick.broker.queues)
      if (isPaymentDueQueue(name) && !names.includes(name)) names.push(name);
    // A binding the broker feeds by dead-lettering (a delay queue's expired deadlines): no publisher counts it.
    const deadLettered = new Set(
      this.options.topology.queues
        .filter((queue) => queue.arguments['x-message-ttl'] !== undefined)
        .map(
          (queue) =>
            `${queue.arguments['x-dead-letter-exchange']} ${queue.arguments['x-dead-letter-routing-key']}`,
        ),
    );
    // The gauge's series for a queue appears with its first delivery: before that, nothing is in progress.
    const inProgress = (queue: string) =>
      latestSum(this.since(tick.atMs), 'messages_in_progress', { queue }) ??
      (tick.targets.some((target) => target.samples) ? 0 : null);
    return names.map((name): QueueFigures => {
      const reading = readings.get(name);
      const consumers = reading?.consumers ?? null;
      if (reading?.rates) {
        return {
          name,
          ready: reading.ready,
          unacked: reading.unacked ?? null,
          consumers,
          publishRate: reading.rates.publish,
          deliverRate: reading.rates.deliver,
          ackRate: reading.rates.ack,
        };
      }
      const isWorkQueue = (WorkQueues as readonly string[]).includes(name);
      const bindings = this.options.topology.bindings.filter(
        (b) => b.destination === name && COUNTED_EXCHANGE_TYPES.has(exchangeTypes.get(b.source) ?? ''),
      );
      let publishRate: number | null = null;
      if (name === Queues.reportRpc) publishRate = rate('report_rpc_calls_total');
      else if (isPaymentDueQueue(name)) {
        // order-api's outbox publishes each deadline through the default exchange, keyed by the queue's name.
        publishRate = rate('messages_published_total', {
          exchange: '',
          routing_key: name,
          outcome: 'confirmed',
        });
      } else if (bindings.some((b) => deadLettered.has(`${b.source} ${b.routingKey}`))) {
        publishRate = null;
      } else if (bindings.length > 0) {
        publishRate = 0;
        for (const binding of bindings) {
          const published = rate('messages_published_total', {
            exchange: binding.source,
            routing_key: binding.routingKey,
            outcome: 'confirmed',
          });
          if (published === null) publishRate = null;
          else if (publishRate !== null) publishRate += published;
        }
      }
      let deliverRate: number | null = null;
      let ackRate: number | null = null;
      if (consumers === 0) {
        deliverRate = 0;
        ackRate = 0;
      } else if (isWorkQueue) {
        // Every settled message is acked: a retry or parking copy is confirmed first, then the original acked.
        deliverRate = rate('messages_processed_total', { queue: name, outcome: SETTLED });
        ackRate = deliverRate;
      } else if (name === Queues.logArchive || name === Queues.logAlerts) {
        deliverRate = rate('log_records_written_total', { queue: name });
        ackRate = deliverRate;
      } else if (name === Queues.reportRpc) {
        deliverRate = rate('report_rpc_requests_total');
        ackRate = deliverRate;
      }
      return {
        name,
        ready: reading?.ready ?? null,
        unacked: reading?.unacked ?? (consumers === 0 ? 0 : isWorkQueue ? inProgress(name) : null),
        consumers,
        publishRate,
        deliverRate,
        ackRate,
      };
    });
  }

  private deadLetters(tick: RawTick): DeadLetterFigures[] {
    return deadLetterQueuesOf(this.options.topology).map(({ queue }) => {
      const depth = tick.broker.queues.find((q) => q.name === queue)?.ready ?? null;
      const parked = depth === 0 ? [] : (tick.parked[queue] ?? []);
      const counts = new Map<string, number>();
      for (const message of parked) counts.set(message.reason, (counts.get(message.reason) ?? 0) + 1);
      return {
        queue,
        depth,
        reasons: [...counts]
          .map(([reason, count]) => ({ reason, count }))
          .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
        messages: parked.slice(0, 5).map((message) => ({ ...message })),
      };
    });
  }
}

const DEAD_LETTER_SUFFIX = '.dlq';

/**
 * Every dead-letter queue the topology declares (`<queue>.dlq`, the work queues' and the waiting
 * room's alike) in the topology's order, with the work queue whose messages it parks when it is one
 * (`npm run dlq` reads those).
 */
export function deadLetterQueuesOf(topology: Topology): { queue: string; source?: ParkingQueueSource }[] {
  return topology.queues
    .filter(({ name }) => name.endsWith(DEAD_LETTER_SUFFIX))
    .map(({ name }) => ({
      queue: name,
      source: ParkingQueueSources.find((source) => deadLetterQueueOf(source) === name),
    }));
}

/**
 * Every status an order can have, in its life's order: the largest count any order-api instance
 * reports (they all count the same table). A status the gauge has no series for has no orders.
 */
function ordersByStatus(
  ticks: readonly ScrapeTick[],
  targets: readonly TargetReading[],
): OrderFigures['byStatus'] {
  const read = targets.some((target) => target.service === 'order-api' && target.samples);
  const byStatus = {} as OrderFigures['byStatus'];
  for (const status of ORDER_STATUSES) {
    byStatus[status] = latestMax(ticks, 'orders_by_status', { status }) ?? (read ? 0 : null);
  }
  return byStatus;
}

/** Each delay queue's waiting reservations, and how fast order-api handles the deadlines that fell due. */
function deadlineFigures(
  queues: readonly QueueFigures[],
  rate: (name: string, labels?: LabelFilter) => number | null,
): DeadlineFigures {
  return {
    delayQueues: queues
      .filter((queue) => isPaymentDueQueue(queue.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((queue) => ({ name: queue.name, waiting: queue.ready, publishRate: queue.publishRate })),
    firedPerSecond: rate('messages_processed_total', { queue: Queues.orderDeadlines, outcome: 'handled' }),
  };
}

/** Charges per second by outcome and refunds per second, over the same window as every other rate. */
function paymentFigures(
  rate: (name: string, labels?: LabelFilter) => number | null,
  total: (service: string, name: string, labels?: LabelFilter) => number | null,
): PaymentFigures {
  const byOutcome = {} as PaymentFigures['byOutcome'];
  for (const outcome of PAYMENT_OUTCOMES) byOutcome[outcome] = rate('payment_charges_total', { outcome });
  return {
    chargesPerSecond: rate('payment_charges_total'),
    byOutcome,
    refundsPerSecond: rate('payment_refunds_total'),
    chargesTotal: total('payment', 'payment_charges_total'),
    refundsTotal: total('payment', 'payment_refunds_total'),
  };
}

/** The status codes seen for POST /orders that start with `digit` (4 → 400, 409, 422 …). */
function statusesMatching(ticks: readonly ScrapeTick[], digit: string): string[] {
  const statuses = new Set<string>();
  for (const tick of ticks) {
    for (const samples of tick.byInstance.values()) {
      for (const sample of samples) {
        if (sample.name === 'http_requests_total' && sample.labels.route === ORDERS_ROUTE.route) {
          if (sample.labels.status?.startsWith(digit)) statuses.add(sample.labels.status);
        }
      }
    }
  }
  return [...statuses];
}

/** A counter's current total per value of one label, over every instance. */
function labelTotals(ticks: readonly ScrapeTick[], name: string, label: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const samples of ticks.at(-1)?.byInstance.values() ?? []) {
    for (const sample of samples) {
      if (sample.name === name)
        totals[sample.labels[label]] = (totals[sample.labels[label]] ?? 0) + sample.value;
    }
  }
  return totals;
}
