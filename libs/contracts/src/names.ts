/**
 * Every exchange, queue and routing-key name in the system. These names are a public contract
 * (docs/messaging.md, "Broker topology"): renaming one breaks deployed brokers and other teams' consumers.
 */
export const Exchanges = {
  /** Direct exchange for order events. */
  order: 'order',
  /** Direct exchange that dead-lettered order messages go through, keyed by their queue name. */
  orderDeadLetter: 'order.dlx',
  /** Topic exchange for log records, key `<service>.<level>`. */
  logs: 'logs',
  /** Fanout exchange bound to `logs` with `#`: every subscriber gets every record. */
  logsBroadcast: 'logs.broadcast',
  /**
   * Headers exchange bound to `logs` with `#`: a follower binds a queue with `x-match: all` on
   * LogHeaders.orderId (or .correlationId) and gets one order's records from every service.
   */
  logsFollow: 'logs.follow',
  /** Direct exchange for customer events: identity's sign-in codes, mailed by notify-worker. */
  customer: 'customer',
  /**
   * Direct exchange of the payment saga: order-api's requests (`payment.requested`,
   * `payment.refund-requested`) to the payment service, its results back to order-api.
   */
  payment: 'payment',
} as const;

export const RoutingKeys = {
  orderNotify: 'order.notify',
  orderReport: 'order.report',
  /** notify-worker's status event: the confirmation email was sent. */
  orderNotified: 'order.notified',
  /** report-worker's status event: the PDF was written. */
  orderReported: 'order.reported',
  /** identity's sign-in code for a customer, to be mailed. */
  customerSignInCode: 'customer.sign-in-code',
  /** order-api's lifecycle emails, one per transition: bound to order_notify. */
  orderPaid: 'order.paid',
  orderExpired: 'order.expired',
  orderCancelled: 'order.cancelled',
  orderRefunded: 'order.refunded',
  /**
   * A reservation's deadline that fell due: the key a delay queue `order_payment_due.<window>`
   * dead-letters its expired messages with, bound to order_deadlines.
   */
  orderPaymentDue: 'order.payment-due',
  /** order-api asks the payment service to charge an order (one attempt, one payment id). */
  paymentRequested: 'payment.requested',
  /** order-api asks the payment service to give a payment back (compensation). */
  paymentRefundRequested: 'payment.refund-requested',
  /** The payment service's results, consumed by order-api from order_payments. */
  paymentSucceeded: 'payment.succeeded',
  paymentFailed: 'payment.failed',
  paymentRefunded: 'payment.refunded',
  /** A customer's order for a sale with queued admission, waiting its turn in order_requests. */
  orderRequested: 'order.requested',
} as const;

export const Queues = {
  orderNotify: 'order_notify',
  orderReport: 'order_report',
  /** order-api's status feed: order.notified and order.reported events. */
  orderStatus: 'order_status',
  orderNotifyDeadLetter: 'order_notify.dlq',
  orderReportDeadLetter: 'order_report.dlq',
  orderStatusDeadLetter: 'order_status.dlq',
  /** notify-worker's sign-in code emails (customer.sign-in-code). */
  customerNotify: 'customer_notify',
  customerNotifyDeadLetter: 'customer_notify.dlq',
  /** order-api's deadline feed: reservations whose payment window ran out (order.payment-due). */
  orderDeadlines: 'order_deadlines',
  orderDeadlinesDeadLetter: 'order_deadlines.dlq',
  /** The payment service's work: charges and refunds order-api asks for. */
  paymentRequests: 'payment_requests',
  paymentRequestsDeadLetter: 'payment_requests.dlq',
  /** order-api's payment results: payment.succeeded, payment.failed, payment.refunded. */
  orderPayments: 'order_payments',
  orderPaymentsDeadLetter: 'order_payments.dlq',
  /**
   * The waiting room of a sale with queued admission: order-api's consumers place the requests in
   * arrival order, at the database's pace. Bounded (WAITING_ROOM_SIZE, reject-publish).
   */
  orderRequests: 'order_requests',
  orderRequestsDeadLetter: 'order_requests.dlq',
  /** report-worker's RPC requests (the PDF of an order), published to through the default exchange. */
  reportRpc: 'report_rpc',
  logArchive: 'log_archive',
  logAlerts: 'log_alerts',
} as const;

/**
 * Each work queue's retry path: exchange `<queue>.retry` routes a failed message, by delay label, to a
 * queue `<queue>.retry.<label>` whose TTL expires it back into the work queue (dead-lettering through
 * the default exchange). Attempt n+1 waits RETRY_DELAYS[n]; after the last delay the message is parked
 * in `<queue>.dlq`.
 */
export const RETRY_DELAYS = [
  { label: '1s', ms: 1_000 },
  { label: '5s', ms: 5_000 },
  { label: '30s', ms: 30_000 },
] as const;

export const WorkQueues = [
  Queues.orderNotify,
  Queues.orderReport,
  Queues.orderStatus,
  Queues.customerNotify,
  Queues.orderDeadlines,
  Queues.paymentRequests,
  Queues.orderPayments,
] as const;
export type WorkQueueName = (typeof WorkQueues)[number];

/**
 * Every queue that parks what it refuses in `<queue>.dlq`: the work queues, and the waiting room (a ticket
 * that is not a valid request of order-api's own). `npm run dlq` lists and replays all of them.
 */
export const ParkingQueueSources = [...WorkQueues, Queues.orderRequests] as const;
export type ParkingQueueSource = (typeof ParkingQueueSources)[number];

export const retryExchangeOf = (queue: WorkQueueName) => `${queue}.retry`;
export const retryQueueOf = (queue: WorkQueueName, label: string) => `${queue}.retry.${label}`;
export const deadLetterQueueOf = (queue: ParkingQueueSource) => `${queue}.dlq`;

/** A work queue's retry queues, shortest delay first. */
export const retryQueuesOf = (queue: WorkQueueName): string[] =>
  RETRY_DELAYS.map(({ label }) => retryQueueOf(queue, label));

/** Every queue a work queue's messages can be in: the work queue, its dead-letter queue, its retry queues. */
export const queuesOf = (queue: WorkQueueName): string[] => [
  queue,
  deadLetterQueueOf(queue),
  ...retryQueuesOf(queue),
];

/**
 * AMQP headers a worker adds when it retries or parks a message. Values are strings or numbers so they
 * read well in the management UI and in `npm run dlq -- list`.
 */
export const FailureHeaders = {
  /** How many times the message was sent back for another try (0 on first delivery). */
  retryCount: 'x-retry-count',
  /** The last error, as a sentence. */
  lastError: 'x-last-error',
  /** Why it was parked: invalid-message, retries-exhausted or permanent-failure. */
  deadLetterReason: 'x-dead-letter-reason',
  /** Total attempts made before parking. */
  attempts: 'x-attempts',
  failedAt: 'x-failed-at',
  /** The work queue it failed in, so `dlq replay` knows where to send it back. */
  originalQueue: 'x-original-queue',
} as const;

export type DeadLetterReason = 'invalid-message' | 'retries-exhausted' | 'permanent-failure';

/**
 * Reservation deadlines are delayed messages: TTL + dead-lettering, no plugin. One delay queue per
 * payment window, because a message expires only at the head of its queue: with one TTL per queue the
 * head is always the first to fall due. `order_payment_due.15m` holds the deadlines of 15-minute
 * reservations and dead-letters each, when its TTL runs out, to `order` with key `order.payment-due`.
 */
export const PAYMENT_DUE_QUEUE_PREFIX = 'order_payment_due';

/** Shortest and longest payment window a reservation may have. */
export const PAYMENT_WINDOW_LIMITS = { minMs: 1_000, maxMs: 7 * 24 * 60 * 60 * 1000 } as const;

/** The default payment window (PAYMENT_WINDOW_MS): 15 minutes. */
export const DEFAULT_PAYMENT_WINDOW_MS = 15 * 60 * 1000;

/** A window's name in its queue: `15m`, `90s`, `1500ms` (the largest unit that divides it). */
export function paymentWindowLabel(windowMs: number): string {
  if (
    !Number.isInteger(windowMs) ||
    windowMs < PAYMENT_WINDOW_LIMITS.minMs ||
    windowMs > PAYMENT_WINDOW_LIMITS.maxMs
  ) {
    throw new RangeError(
      `a payment window is a whole number of milliseconds from ${PAYMENT_WINDOW_LIMITS.minMs} to ${PAYMENT_WINDOW_LIMITS.maxMs}, not ${windowMs}`,
    );
  }
  if (windowMs % 3_600_000 === 0) return `${windowMs / 3_600_000}h`;
  if (windowMs % 60_000 === 0) return `${windowMs / 60_000}m`;
  if (windowMs % 1_000 === 0) return `${windowMs / 1_000}s`;
  return `${windowMs}ms`;
}

/** The delay queue of one payment window: `order_payment_due.<label>`. */
export const paymentDueQueueOf = (windowMs: number) =>
  `${PAYMENT_DUE_QUEUE_PREFIX}.${paymentWindowLabel(windowMs)}`;

/** Whether a queue is one of the payment windows' delay queues. */
export const isPaymentDueQueue = (queue: string) => queue.startsWith(`${PAYMENT_DUE_QUEUE_PREFIX}.`);

/**
 * How many order requests the waiting room (order_requests) holds; one more is refused by the broker
 * (`overflow: reject-publish`, a nack to the publisher) and POST /orders answers 503 WAITING_ROOM_FULL.
 */
export const WAITING_ROOM_SIZE = 10_000;

export const LogAlertBindings = ['*.error', '*.fatal'] as const;

/**
 * AMQP headers of every published log record, what a binding on `logs.follow` matches on. `order-id`
 * is there only when the record concerns an order, `correlation-id` only when it has one.
 */
export const LogHeaders = {
  orderId: 'order-id',
  correlationId: 'correlation-id',
  service: 'service',
  level: 'level',
} as const;

/** The arguments of a `logs.follow` binding that takes the records whose `header` is `value`, and no other. */
export const followBindingOf = (
  header: typeof LogHeaders.orderId | typeof LogHeaders.correlationId,
  value: string,
): Record<string, string> => ({ 'x-match': 'all', [header]: value });

/** Routing key of a log record on the `logs` topic exchange: `<service>.<level>`, e.g. `order-api.info`. */
export const logRoutingKeyOf = (service: string, level: string) => `${service}.${level}`;

/** AMQP `type` property of each message kind; a breaking change gets a new version suffix. */
export const MessageTypes = {
  orderPlacedV1: 'order.placed.v1',
  orderNotifiedV1: 'order.notified.v1',
  orderReportedV1: 'order.reported.v1',
  reportRequestV1: 'report.request.v1',
  reportPdfV1: 'report.pdf.v1',
  reportErrorV1: 'report.error.v1',
  logRecordV1: 'log.record.v1',
  customerSignInCodeV1: 'customer.sign-in-code.v1',
  /** A reservation's deadline, delayed in `order_payment_due.<window>` until it falls due. */
  orderPaymentDueV1: 'order.payment-due.v1',
  /** order-api's lifecycle events, one per transition, mailed by notify-worker. */
  orderPaidV1: 'order.paid.v1',
  orderExpiredV1: 'order.expired.v1',
  orderCancelledV1: 'order.cancelled.v1',
  orderRefundedV1: 'order.refunded.v1',
  paymentRequestedV1: 'payment.requested.v1',
  paymentRefundRequestedV1: 'payment.refund-requested.v1',
  paymentSucceededV1: 'payment.succeeded.v1',
  paymentFailedV1: 'payment.failed.v1',
  paymentRefundedV1: 'payment.refunded.v1',
  /** A queued order request: the ticket, the customer and the order they asked for. */
  orderRequestedV1: 'order.requested.v1',
} as const;

export type ExchangeName = (typeof Exchanges)[keyof typeof Exchanges];
export type QueueName = (typeof Queues)[keyof typeof Queues];
export type MessageType = (typeof MessageTypes)[keyof typeof MessageTypes];
