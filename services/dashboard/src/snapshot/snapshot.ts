import type { OrderLifecycleStatus } from '@shop/contracts';
import type { SaleForm } from '../sales/sale-form';

/**
 * What the page receives once a second over server-sent events: the system's state now and its rates
 * over the last few seconds. Every figure comes from a real source (a service's /metrics or /health,
 * the broker, the log-aggregator); one that could not be read is `null`, never made up.
 */
export interface DashboardSnapshot {
  /** ISO time the snapshot was taken. */
  at: string;
  /** Seconds the rates are computed over (shorter until the dashboard has run that long). */
  rateWindowSeconds: number;
  services: ServiceStatus[];
  broker: BrokerStatus;
  queues: QueueFigures[];
  orders: OrderFigures;
  /** Reservations waiting for their payment deadline, and the deadlines falling due. */
  deadlines: DeadlineFigures;
  payments: PaymentFigures;
  workers: WorkerFigures;
  rpc: RpcFigures;
  /** The newest error and fatal records the log-aggregator archived, newest first. */
  errors: RecentError[];
  /** The flash sale started from this page, running or the last one finished; null before the first. */
  sale: SaleStatus | null;
}

export interface ServiceStatus {
  /** `order-api`, or `order-api-2` for a replica. */
  instance: string;
  service: string;
  /** `up` (GET /health 200), `degraded` (it answered, not 200) or `down` (no answer). */
  health: 'up' | 'degraded' | 'down';
  /** What /health said was not ready, or why it could not be reached. */
  detail?: string;
  /** Whether its /metrics could be read this second. */
  metrics: boolean;
}

export interface BrokerStatus {
  /** `management`: RabbitMQ's management API; `amqp`: passive declares over AMQP plus the services' counters. */
  source: 'management' | 'amqp';
  nodes: { name: string; up: boolean; detail?: string }[];
}

export interface QueueFigures {
  name: string;
  /** Messages waiting for a consumer. */
  ready: number | null;
  /** Delivered to a consumer, not yet acked. */
  unacked: number | null;
  consumers: number | null;
  /** Messages per second into the queue, out to consumers, and acked. */
  publishRate: number | null;
  deliverRate: number | null;
  ackRate: number | null;
}

export interface OrderFigures {
  /** POST /orders answers per second: 201, 200 (a re-send), 4xx (sold out, invalid), 5xx. */
  acceptedPerSecond: number | null;
  replayedPerSecond: number | null;
  refusedPerSecond: number | null;
  failedPerSecond: number | null;
  /** 201s since the order-api instances started. */
  acceptedTotal: number | null;
  /** POST /orders latency percentiles over the percentile window, from the histogram's buckets. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Outbox rows not yet confirmed by the broker. */
  outboxBacklog: number | null;
  /**
   * Orders in the database by status, every status of an order's life in its order (placed, paid,
   * completed, cancelled, expired, refunded): 0 for one order-api counts none of, null while no
   * order-api instance is read.
   */
  byStatus: Record<OrderLifecycleStatus, number | null>;
}

export interface DeadlineFigures {
  /** Every payment window's delay queue the broker reported, by name (`order_payment_due.15m`). */
  delayQueues: DelayQueueFigures[];
  /** Deadlines order-api handled per second from order_deadlines (each expires a still unpaid order or is moot). */
  firedPerSecond: number | null;
}

export interface DelayQueueFigures {
  name: string;
  /** Reservations waiting for their deadline: the queue's messages, none of which is consumed. */
  waiting: number | null;
  /** Deadlines put in per second. */
  publishRate: number | null;
}

/** The payment service's charges and refunds, from its payment_charges_total and payment_refunds_total. */
export interface PaymentFigures {
  /** Charges answered per second, every outcome together. */
  chargesPerSecond: number | null;
  /** Charges per second by outcome, each of PAYMENT_OUTCOMES. */
  byOutcome: Record<PaymentOutcome, number | null>;
  refundsPerSecond: number | null;
  /** Since the payment service instances started. */
  chargesTotal: number | null;
  refundsTotal: number | null;
}

/** The outcomes the payment service counts a charge under. */
export const PAYMENT_OUTCOMES = ['succeeded', 'declined', 'timeout', 'already_paid'] as const;
export type PaymentOutcome = (typeof PAYMENT_OUTCOMES)[number];

export interface WorkerFigures {
  emailsPerSecond: number | null;
  pdfsPerSecond: number | null;
  /** Messages sent to a retry queue per second, every work queue together. */
  retriesPerSecond: number | null;
  emailsTotal: number | null;
  pdfsTotal: number | null;
  deadLetters: DeadLetterFigures[];
}

export interface DeadLetterFigures {
  queue: string;
  depth: number | null;
  /** The parked messages' reasons, most frequent first. */
  reasons: { reason: string; count: number }[];
  /** The first few parked messages as `npm run dlq -- list` shows them. */
  messages: { messageId: string; reason: string; lastError: string; failedAt?: string }[];
}

export interface RpcFigures {
  callsPerSecond: number | null;
  p99Ms: number | null;
  /** Since the order-api instances started. */
  timeoutsTotal: number | null;
  lateRepliesTotal: number | null;
  byOutcome: Record<string, number>;
}

export interface RecentError {
  at: string;
  service: string;
  level: string;
  message: string;
  correlationId?: string;
  /** The order it concerns: the page lets an operator follow it. */
  orderId?: string;
}

export interface SaleTick {
  /** Milliseconds since the sale started. */
  atMs: number;
  requestsPerSecond: number;
  acceptedPerSecond: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

export interface SaleStatus {
  id: string;
  state: 'starting' | 'firing' | 'draining' | 'verifying' | 'passed' | 'failed' | 'error';
  /** The form it was started with: the load test's options and the sale's rules. */
  options: SaleForm;
  startedAt: string;
  finishedAt?: string;
  /** Set by Stop: firing ended early, the orders accepted so far are still checked. */
  stopRequested: boolean;
  /** What the load test is doing now ("firing 2000 orders from 50 connections at once"). */
  step?: string;
  firing?: {
    done: number;
    total: number;
    accepted: number;
    soldOut: number;
    errors: number;
    requestsPerSecond: number;
    acceptedPerSecond: number;
    /** Client-side latency percentiles of the answers in the last tick, in ms. */
    latencyP50Ms: number | null;
    latencyP99Ms: number | null;
    /**
     * Time to the final outcome of the attempts that ended in the last tick (a queued sale's tickets
     * until placed or refused), in ms; null when none ended or the load test does not report it.
     */
    outcomeP50Ms: number | null;
    outcomeP99Ms: number | null;
    /** Every answer so far by status and code (`201`, `202`, `409 OUT_OF_STOCK`, ...); {} if not reported. */
    answersByCode: Record<string, number>;
  };
  draining?: { accepted: number; emails: number; pdfs: number; queueDepths: Record<string, number> };
  /**
   * The load test's progress ticks (four a second) while firing, for the sale's charts: all of them from
   * GET /sales/current, the last few in each snapshot (the page appends those it has not drawn).
   */
  timeline: SaleTick[];
  /** When it ended: PASS or each violation, the summary table, the report's address. */
  verdict?: {
    passed: boolean;
    violations: { code: string; message: string }[];
    summary: { label: string; value: string }[];
    reportUrl: string;
  };
  /** Why it could not run (the system unreachable, the load test crashed). */
  error?: string;
}
