import {
  Exchanges,
  LogAlertBindings,
  paymentDueQueueOf,
  DEFAULT_PAYMENT_WINDOW_MS,
  Queues,
  RETRY_DELAYS,
  retryExchangeOf,
  retryQueueOf,
  RoutingKeys,
  WorkQueues,
  type WorkQueueName,
} from './names';

/**
 * The broker topology as plain data. libs/messaging declares it at start-up and
 * deploy/rabbitmq/definitions.json is generated from it, so both can never disagree.
 */
export interface ExchangeDefinition {
  name: string;
  type: 'direct' | 'topic' | 'fanout' | 'headers';
  durable: true;
}

export interface QueueDefinition {
  name: string;
  durable: true;
  arguments: Record<string, string | number>;
}

export interface BindingDefinition {
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
}

export interface Topology {
  exchanges: ExchangeDefinition[];
  queues: QueueDefinition[];
  bindings: BindingDefinition[];
}

/** How many times a quorum queue redelivers a message before dead-lettering it (a poison-loop backstop). */
export const WORK_QUEUE_DELIVERY_LIMIT = 10;

/** A durable quorum work queue whose rejected or over-delivered messages go to `<queue>.dlq`. */
function workQueue(name: string): QueueDefinition {
  return {
    name,
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': WORK_QUEUE_DELIVERY_LIMIT,
      'x-dead-letter-exchange': Exchanges.orderDeadLetter,
      'x-dead-letter-routing-key': name,
    },
  };
}

function parkingQueue(name: string): QueueDefinition {
  return { name, durable: true, arguments: { 'x-queue-type': 'quorum' } };
}

function logQueue(name: string): QueueDefinition {
  return { name, durable: true, arguments: { 'x-queue-type': 'classic' } };
}

/** Holds a failed message for `ms`, then dead-letters it straight back into its work queue. */
function retryQueue(workQueue: WorkQueueName, label: string, ms: number): QueueDefinition {
  return {
    name: retryQueueOf(workQueue, label),
    durable: true,
    arguments: {
      'x-queue-type': 'classic',
      'x-message-ttl': ms,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': workQueue,
    },
  };
}

/**
 * The delay queue of one payment window: every message waits `windowMs` (the queue's TTL), then is
 * dead-lettered to `order` with key `order.payment-due`, which order_deadlines is bound to. Quorum with
 * at-least-once dead-lettering on every broker, one node or three: a deadline must never be lost between
 * the delay queue and order_deadlines, and that needs `x-overflow: reject-publish`. order-api publishes
 * to it through the default exchange (key = queue name), so it needs no binding; it declares the queue
 * of its own window at start-up (the default window's is in the definitions too).
 */
export function paymentDueQueue(windowMs: number): QueueDefinition {
  return {
    name: paymentDueQueueOf(windowMs),
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-message-ttl': windowMs,
      'x-dead-letter-exchange': Exchanges.order,
      'x-dead-letter-routing-key': RoutingKeys.orderPaymentDue,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/**
 * The waiting room: a quorum queue (no request is lost with a node) that dead-letters only what cannot
 * be read. No retry path and no delivery limit: a request that cannot be placed now (the database is
 * down) goes back to the head of the line, so the line keeps its order. Its length limit is a policy
 * (`shop-limit-waiting-room`: max-length WAITING_ROOM_SIZE, overflow reject-publish).
 */
function waitingRoomQueue(name: string): QueueDefinition {
  return {
    name,
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': Exchanges.orderDeadLetter,
      'x-dead-letter-routing-key': name,
    },
  };
}

const retryPaths = WorkQueues.flatMap((workQueue) =>
  RETRY_DELAYS.map(({ label, ms }) => ({ workQueue, label, queue: retryQueue(workQueue, label, ms) })),
);

const toQueue = (source: string, destination: string, routingKey: string): BindingDefinition => ({
  source,
  destination,
  destinationType: 'queue',
  routingKey,
});

const toExchange = (source: string, destination: string, routingKey: string): BindingDefinition => ({
  source,
  destination,
  destinationType: 'exchange',
  routingKey,
});

export const TOPOLOGY: Topology = {
  exchanges: [
    { name: Exchanges.order, type: 'direct', durable: true },
    { name: Exchanges.orderDeadLetter, type: 'direct', durable: true },
    { name: Exchanges.logs, type: 'topic', durable: true },
    { name: Exchanges.logsBroadcast, type: 'fanout', durable: true },
    { name: Exchanges.logsFollow, type: 'headers', durable: true },
    { name: Exchanges.customer, type: 'direct', durable: true },
    { name: Exchanges.payment, type: 'direct', durable: true },
    ...WorkQueues.map((queue) => ({
      name: retryExchangeOf(queue),
      type: 'direct' as const,
      durable: true as const,
    })),
  ],
  queues: [
    workQueue(Queues.orderNotify),
    workQueue(Queues.orderReport),
    workQueue(Queues.orderStatus),
    workQueue(Queues.customerNotify),
    workQueue(Queues.orderDeadlines),
    workQueue(Queues.paymentRequests),
    workQueue(Queues.orderPayments),
    paymentDueQueue(DEFAULT_PAYMENT_WINDOW_MS),
    waitingRoomQueue(Queues.orderRequests),
    parkingQueue(Queues.orderNotifyDeadLetter),
    parkingQueue(Queues.orderReportDeadLetter),
    parkingQueue(Queues.orderStatusDeadLetter),
    parkingQueue(Queues.customerNotifyDeadLetter),
    parkingQueue(Queues.orderDeadlinesDeadLetter),
    parkingQueue(Queues.paymentRequestsDeadLetter),
    parkingQueue(Queues.orderPaymentsDeadLetter),
    parkingQueue(Queues.orderRequestsDeadLetter),
    // Classic on one node: requests are transient and short-lived (they expire per message), and a
    // quorum queue's log would buy nothing without other nodes to replicate to. Quorum on a cluster.
    { name: Queues.reportRpc, durable: true, arguments: { 'x-queue-type': 'classic' } },
    logQueue(Queues.logArchive),
    logQueue(Queues.logAlerts),
    ...retryPaths.map((path) => path.queue),
  ],
  bindings: [
    toQueue(Exchanges.order, Queues.orderNotify, RoutingKeys.orderNotify),
    toQueue(Exchanges.order, Queues.orderReport, RoutingKeys.orderReport),
    toQueue(Exchanges.order, Queues.orderStatus, RoutingKeys.orderNotified),
    toQueue(Exchanges.order, Queues.orderStatus, RoutingKeys.orderReported),
    toQueue(Exchanges.customer, Queues.customerNotify, RoutingKeys.customerSignInCode),
    // One email per lifecycle transition: notify-worker's work queue takes them beside order.notify.
    toQueue(Exchanges.order, Queues.orderNotify, RoutingKeys.orderPaid),
    toQueue(Exchanges.order, Queues.orderNotify, RoutingKeys.orderExpired),
    toQueue(Exchanges.order, Queues.orderNotify, RoutingKeys.orderCancelled),
    toQueue(Exchanges.order, Queues.orderNotify, RoutingKeys.orderRefunded),
    toQueue(Exchanges.order, Queues.orderDeadlines, RoutingKeys.orderPaymentDue),
    toQueue(Exchanges.order, Queues.orderRequests, RoutingKeys.orderRequested),
    toQueue(Exchanges.payment, Queues.paymentRequests, RoutingKeys.paymentRequested),
    toQueue(Exchanges.payment, Queues.paymentRequests, RoutingKeys.paymentRefundRequested),
    toQueue(Exchanges.payment, Queues.orderPayments, RoutingKeys.paymentSucceeded),
    toQueue(Exchanges.payment, Queues.orderPayments, RoutingKeys.paymentFailed),
    toQueue(Exchanges.payment, Queues.orderPayments, RoutingKeys.paymentRefunded),
    // Dead-lettered messages keep their queue's name as routing key (x-dead-letter-routing-key).
    toQueue(Exchanges.orderDeadLetter, Queues.orderNotifyDeadLetter, Queues.orderNotify),
    toQueue(Exchanges.orderDeadLetter, Queues.orderReportDeadLetter, Queues.orderReport),
    toQueue(Exchanges.orderDeadLetter, Queues.orderStatusDeadLetter, Queues.orderStatus),
    toQueue(Exchanges.orderDeadLetter, Queues.customerNotifyDeadLetter, Queues.customerNotify),
    toQueue(Exchanges.orderDeadLetter, Queues.orderDeadlinesDeadLetter, Queues.orderDeadlines),
    toQueue(Exchanges.orderDeadLetter, Queues.paymentRequestsDeadLetter, Queues.paymentRequests),
    toQueue(Exchanges.orderDeadLetter, Queues.orderPaymentsDeadLetter, Queues.orderPayments),
    toQueue(Exchanges.orderDeadLetter, Queues.orderRequestsDeadLetter, Queues.orderRequests),
    toExchange(Exchanges.logs, Exchanges.logsBroadcast, '#'),
    // Followers bind their own exclusive queues to it at run time, on headers (followBindingOf).
    toExchange(Exchanges.logs, Exchanges.logsFollow, '#'),
    toQueue(Exchanges.logsBroadcast, Queues.logArchive, ''),
    ...LogAlertBindings.map((key) => toQueue(Exchanges.logs, Queues.logAlerts, key)),
    ...retryPaths.map(({ workQueue, label, queue }) =>
      toQueue(retryExchangeOf(workQueue), queue.name, label),
    ),
  ],
};

/**
 * The topology for a RabbitMQ cluster: every queue is a quorum queue, replicated on three nodes, so
 * losing a node loses no message and stops no consumer for longer than a leader election. On one node
 * the retry, log and report_rpc queues are classic: nothing to replicate to, and classic is cheaper.
 * Dead-lettering is at-least-once wherever a queue dead-letters (work queues into their `.dlq`, retry
 * queues back into their work queue): the broker keeps the message until the target has it, which
 * needs `x-overflow: reject-publish`. Quorum queues honour message TTL, per queue (retry delays) and
 * per message (report_rpc requests' `expiration`), since RabbitMQ 3.10. Exchanges and bindings are the
 * same as on one node.
 *
 * Queue types cannot change in place, so a cluster gets this from its definitions file and services on
 * it run with RABBITMQ_DECLARE_TOPOLOGY=false; the single-node TOPOLOGY stays as it is.
 */
export const CLUSTER_TOPOLOGY: Topology = {
  ...TOPOLOGY,
  queues: TOPOLOGY.queues.map(replicated),
};

function replicated(queue: QueueDefinition): QueueDefinition {
  const deadLetters = queue.arguments['x-dead-letter-exchange'] !== undefined;
  return {
    ...queue,
    arguments: {
      ...queue.arguments,
      'x-queue-type': 'quorum',
      ...(deadLetters ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
    },
  };
}
