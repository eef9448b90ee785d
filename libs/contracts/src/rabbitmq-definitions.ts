import { FLASH_SALE_LIMITS } from './flash-sale';
import {
  MessageTypes,
  PAYMENT_DUE_QUEUE_PREFIX,
  WAITING_ROOM_SIZE,
  Queues,
  RETRY_DELAYS,
  retryExchangeOf,
  deadLetterQueueOf,
  ParkingQueueSources,
  WorkQueues,
  Exchanges,
  type MessageType,
} from './names';
import { TOPOLOGY, type Topology } from './topology';

/**
 * What the Docker deployment's broker is provisioned with, derived from the topology so the two never
 * disagree: deploy/rabbitmq/definitions.json (imported by RabbitMQ at boot) and
 * deploy/rabbitmq/service-users.txt (read by deploy/rabbitmq/init-users.sh). Regenerate both with
 * `npm run rabbitmq:definitions`; rabbitmq-definitions.spec.ts fails while the committed files differ.
 * `npm run rabbitmq:apply-local` imports the same topology, users and permissions into a running broker
 * (buildRabbitmqAccessDefinitions).
 */

/** The virtual host the Docker deployment runs in: the path of every service's RABBITMQ_URL. */
export const RABBITMQ_VHOST = 'shop';

/** The subset of RabbitMQ's definitions format (`rabbitmqctl export_definitions`) this deployment uses. */
export interface RabbitmqDefinitions {
  vhosts: { name: string }[];
  exchanges: {
    name: string;
    vhost: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
    internal: boolean;
    arguments: Record<string, string | number>;
  }[];
  queues: {
    name: string;
    vhost: string;
    durable: boolean;
    auto_delete: boolean;
    arguments: Record<string, string | number>;
  }[];
  bindings: {
    source: string;
    vhost: string;
    destination: string;
    destination_type: 'queue' | 'exchange';
    routing_key: string;
    arguments: Record<string, string | number>;
  }[];
  policies: RabbitmqPolicyDefinition[];
}

/** A policy as RabbitMQ's definitions format has it. */
export interface RabbitmqPolicyDefinition {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': 'queues';
  definition: QueueLimit;
  priority: number;
}

/**
 * How long a queue may grow. Keys valid on RabbitMQ 3.10 and 4.x alike, for classic and quorum queues;
 * `reject-publish` nacks the publish that would overflow, so the publisher knows (docs/messaging.md).
 */
export interface QueueLimit {
  'max-length': number;
  'max-length-bytes'?: number;
  overflow: 'reject-publish';
}

export interface QueueLimitPolicy {
  /** `shop-limit-<what>`. */
  name: string;
  /** The queues it applies to, by name. */
  queues: readonly string[];
  /** And every queue named `<prefix>.<anything>` (queues made at run time, like one per payment window). */
  queuePrefixes?: readonly string[];
  limit: QueueLimit;
}

const MiB = 1024 * 1024;
/** Every parking and retry queue, by the work queue it belongs to. */
const parkingQueues = ParkingQueueSources.map(deadLetterQueueOf);
const retryQueues = WorkQueues.flatMap((queue) => RETRY_DELAYS.map(({ label }) => `${queue}.retry.${label}`));

/**
 * The queue limits, as policies rather than queue arguments: arguments cannot change on a queue that
 * exists (a redeclare fails with PRECONDITION_FAILED on every deployed broker), a policy applies to
 * existing queues at once. Applied with the topology: definitions.json (compose), applyLocalDefinitions
 * (npm start, the cluster, the test vhosts). One policy per queue (RabbitMQ applies only one): the
 * patterns never overlap.
 */
export const QUEUE_LIMIT_POLICIES: readonly QueueLimitPolicy[] = [
  {
    // The outbox feeds them and stops when refused (the rows wait for the sweep): room for the biggest
    // flash sale, twice over (order_status gets two events per order).
    name: 'shop-limit-work',
    queues: [
      Queues.orderNotify,
      Queues.orderReport,
      Queues.orderStatus,
      Queues.orderDeadlines,
      Queues.paymentRequests,
      Queues.orderPayments,
    ],
    limit: { 'max-length': 2 * FLASH_SALE_LIMITS.stock.max, overflow: 'reject-publish' },
  },
  {
    // Reservations waiting for their deadline, one per order placed in the window: the biggest flash
    // sale's orders, four times over. The outbox relay retries a refused deadline until there is room.
    name: 'shop-limit-deadlines',
    queues: [],
    queuePrefixes: [PAYMENT_DUE_QUEUE_PREFIX],
    limit: { 'max-length': 4 * FLASH_SALE_LIMITS.stock.max, overflow: 'reject-publish' },
  },
  {
    // The waiting room of queued sales: a full room is refused at once (503 WAITING_ROOM_FULL).
    name: 'shop-limit-waiting-room',
    queues: [Queues.orderRequests],
    limit: { 'max-length': WAITING_ROOM_SIZE, overflow: 'reject-publish' },
  },
  {
    // Sign-in codes: identity answers 503 when refused; thousands waiting means the mail is down.
    name: 'shop-limit-customer',
    queues: [Queues.customerNotify],
    limit: { 'max-length': 10_000, overflow: 'reject-publish' },
  },
  {
    // People waiting for a PDF: more than this and they time out anyway; order-api answers 503.
    name: 'shop-limit-rpc',
    queues: [Queues.reportRpc],
    limit: { 'max-length': 1_000, 'max-length-bytes': 64 * MiB, overflow: 'reject-publish' },
  },
  {
    // The log publishers drop (and count) what is refused.
    name: 'shop-limit-logs',
    queues: [Queues.logArchive, Queues.logAlerts],
    limit: { 'max-length': 500_000, 'max-length-bytes': 256 * MiB, overflow: 'reject-publish' },
  },
  {
    // Failures only; a bound for the disk, not for normal operation.
    name: 'shop-limit-parked',
    queues: [...parkingQueues, ...retryQueues],
    limit: { 'max-length': 1_000_000, 'max-length-bytes': 1024 * MiB, overflow: 'reject-publish' },
  },
];

/** The policies of QUEUE_LIMIT_POLICIES in `vhost`, as RabbitMQ's definitions (and set_policy) take them. */
export function buildQueuePolicies(
  vhost = RABBITMQ_VHOST,
  policies: readonly QueueLimitPolicy[] = QUEUE_LIMIT_POLICIES,
): RabbitmqPolicyDefinition[] {
  return policies.map(({ name, queues, queuePrefixes = [], limit }) => ({
    vhost,
    name,
    pattern: anyOf(...queues.map(named), ...queuePrefixes.map(derivedFrom)),
    'apply-to': 'queues',
    definition: { ...limit },
    priority: 0,
  }));
}

/**
 * Vhost and topology only. Users are not here on purpose: the file is re-imported on every boot and would
 * need committed password hashes; permissions cannot be here either, since importing a permission for a
 * user that does not exist yet fails the boot.
 */
export function buildRabbitmqDefinitions(
  topology: Topology = TOPOLOGY,
  vhost = RABBITMQ_VHOST,
): RabbitmqDefinitions {
  return {
    vhosts: [{ name: vhost }],
    exchanges: topology.exchanges.map(({ name, type, durable }) => ({
      name,
      vhost,
      type,
      durable,
      auto_delete: false,
      internal: false,
      arguments: {},
    })),
    queues: topology.queues.map(({ name, durable, arguments: queueArguments }) => ({
      name,
      vhost,
      durable,
      auto_delete: false,
      arguments: { ...queueArguments },
    })),
    bindings: topology.bindings.map(({ source, destination, destinationType, routingKey }) => ({
      source,
      vhost,
      destination,
      destination_type: destinationType,
      routing_key: routingKey,
      arguments: {},
    })),
    policies: buildQueuePolicies(vhost),
  };
}

export type ServiceUserName =
  'order-api' | 'notify-worker' | 'report-worker' | 'log-aggregator' | 'dashboard' | 'identity' | 'payment';

/**
 * RabbitMQ user tags (https://www.rabbitmq.com/docs/management#permissions) a service user may carry: they
 * grant access to the management HTTP API only, never to AMQP resources. `monitoring` reads the queue,
 * connection and node listings (the numbers, never the messages).
 */
export type ServiceUserTag = 'monitoring';

/**
 * One AMQP user per service. Permissions are RabbitMQ regexes matched against resource names
 * (https://www.rabbitmq.com/docs/access-control): `configure` declares and deletes, `write` publishes to an
 * exchange or binds a queue, `read` consumes from a queue or binds from an exchange.
 */
export interface ServiceUser {
  name: ServiceUserName;
  /** The environment variable init-users.sh reads the password from. */
  passwordVariable: string;
  configure: string;
  write: string;
  read: string;
  /** Its user tags, usually none: init-users.sh sets them with `rabbitmqctl set_user_tags`. */
  tags: readonly ServiceUserTag[];
}

const escapeRegex = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const named = (name: string) => escapeRegex(name);
/** A work queue's retry path: exchanges and queues named `<queue>.<suffix>` (docs/messaging.md, "Broker topology"). */
const derivedFrom = (name: string) => `${escapeRegex(name)}\\..+`;

function anyOf(...patterns: string[]): string {
  if (patterns.length === 0) return '^$';
  return patterns.length === 1 ? `^${patterns[0]}$` : `^(${patterns.join('|')})$`;
}

/**
 * The default exchange as permissions name it. It routes to any queue by name, so only the two ends of
 * report_rpc may write to it, and only because they must: order-api's requests go to `report_rpc` through
 * it, and report-worker's replies too, even to direct reply-to (`amq.rabbitmq.reply-to.*`), which
 * RabbitMQ checks as a publish to amq.default (least-privilege.int-spec.ts proves both, and that a worker
 * without it is refused). What they could reach with it is covered elsewhere: every consumer checks
 * `user_id` against EVENT_PUBLISHERS, and report-worker answers only a direct reply-to or exclusive queue.
 */
export const DEFAULT_EXCHANGE = 'amq.default';

/** A queue the broker names (`amq.gen-…`, declared with an empty name): a follower's exclusive queue. */
export const SERVER_NAMED_QUEUE = 'amq\\.gen-.+';

/**
 * A worker that consumes one work queue, dead-letters through `order.dlx`, retries through its own path
 * and publishes its status event to `order`.
 */
function workQueueConsumer(name: ServiceUserName, passwordVariable: string, queue: string): ServiceUser {
  return {
    name,
    passwordVariable,
    configure: anyOf(),
    write: anyOf(
      named(Exchanges.order),
      named(Exchanges.orderDeadLetter),
      named(Exchanges.logs),
      derivedFrom(queue),
    ),
    read: anyOf(named(queue)),
    tags: [],
  };
}

/** No service may declare or delete anything: the topology comes from definitions.json. */
export const SERVICE_USERS: readonly ServiceUser[] = [
  {
    name: 'order-api',
    passwordVariable: 'RABBITMQ_ORDER_API_PASSWORD',
    // Declares the delay queue of its own payment window (`order_payment_due.<window>`: a window other
    // than the default one's is not in the definitions), and nothing else.
    configure: anyOf(derivedFrom(PAYMENT_DUE_QUEUE_PREFIX)),
    // Publishes the outbox to `order` and `payment`, deadlines into the delay queues and report RPC
    // requests through the default exchange; consumes its status, payment and deadline feeds like a
    // worker consumes its work queue.
    write: anyOf(
      named(DEFAULT_EXCHANGE),
      named(Exchanges.order),
      named(Exchanges.payment),
      named(Exchanges.orderDeadLetter),
      named(Exchanges.logs),
      derivedFrom(Queues.orderStatus),
      derivedFrom(Queues.orderPayments),
      derivedFrom(Queues.orderDeadlines),
    ),
    // Read on the delay queues too: RabbitMQ checks it (and write on the dead-letter exchange, `order`)
    // when a queue with a dead-letter exchange is declared. Nothing consumes them.
    read: anyOf(
      named(Queues.orderStatus),
      named(Queues.orderPayments),
      named(Queues.orderDeadlines),
      // The waiting room, and its parked requests (its retention job removes the old ones).
      named(Queues.orderRequests),
      named(Queues.orderRequestsDeadLetter),
      derivedFrom(PAYMENT_DUE_QUEUE_PREFIX),
    ),
    tags: [],
  },
  {
    // Also mails identity's sign-in codes: consumes customer_notify, retries through its retry exchange.
    ...workQueueConsumer('notify-worker', 'RABBITMQ_NOTIFY_WORKER_PASSWORD', Queues.orderNotify),
    write: anyOf(
      named(Exchanges.order),
      named(Exchanges.orderDeadLetter),
      named(Exchanges.logs),
      derivedFrom(Queues.orderNotify),
      named(retryExchangeOf(Queues.customerNotify)),
    ),
    // And their dead-letter queues: its retention job removes the parked messages older than RETENTION_DAYS.
    read: anyOf(
      named(Queues.orderNotify),
      named(Queues.customerNotify),
      named(Queues.orderNotifyDeadLetter),
      named(Queues.customerNotifyDeadLetter),
    ),
  },
  {
    // Also serves report_rpc: consumes the requests, replies through the default exchange.
    ...workQueueConsumer('report-worker', 'RABBITMQ_REPORT_WORKER_PASSWORD', Queues.orderReport),
    write: anyOf(
      named(DEFAULT_EXCHANGE),
      named(Exchanges.order),
      named(Exchanges.orderDeadLetter),
      named(Exchanges.logs),
      derivedFrom(Queues.orderReport),
    ),
    // Its dead-letter queue too: its retention job removes the parked messages older than RETENTION_DAYS.
    read: anyOf(named(Queues.orderReport), named(Queues.orderReportDeadLetter), named(Queues.reportRpc)),
  },
  {
    name: 'log-aggregator',
    passwordVariable: 'RABBITMQ_LOG_AGGREGATOR_PASSWORD',
    configure: anyOf(),
    write: anyOf(named(Exchanges.logs)),
    read: anyOf(named(Queues.logArchive), named(Queues.logAlerts)),
    tags: [],
  },
  {
    // Watches the system and publishes only its own log records. Queue depths and consumer counts come
    // from passive declares, which need no permission; it lists the parked messages of every
    // dead-letter queue with basic.get and closes the channel unacked, which puts them back (read only).
    // `monitoring` lets the management API show it /api/queues/<vhost> and /api/nodes.
    // Follows an order: declares a server-named exclusive queue, binds it to `logs.follow` (write on
    // the queue, read on the exchange) and consumes it; another connection's exclusive queue is locked.
    name: 'dashboard',
    passwordVariable: 'RABBITMQ_DASHBOARD_PASSWORD',
    configure: anyOf(SERVER_NAMED_QUEUE),
    write: anyOf(named(Exchanges.logs), SERVER_NAMED_QUEUE),
    read: anyOf(
      ...WorkQueues.map((queue) => named(deadLetterQueueOf(queue))),
      named(Exchanges.logsFollow),
      SERVER_NAMED_QUEUE,
    ),
    tags: ['monitoring'],
  },
  {
    // Publishes sign-in codes to `customer` and its own log records; reads nothing, never the default exchange.
    name: 'identity',
    passwordVariable: 'RABBITMQ_IDENTITY_PASSWORD',
    configure: anyOf(),
    write: anyOf(named(Exchanges.customer), named(Exchanges.logs)),
    read: anyOf(),
    tags: [],
  },
  {
    // Consumes payment_requests (charges and refunds), publishes their results to `payment`; its
    // dead-letter queue too, for its retention job.
    name: 'payment',
    passwordVariable: 'RABBITMQ_PAYMENT_PASSWORD',
    configure: anyOf(),
    write: anyOf(
      named(Exchanges.payment),
      named(Exchanges.orderDeadLetter),
      named(Exchanges.logs),
      derivedFrom(Queues.paymentRequests),
    ),
    read: anyOf(named(Queues.paymentRequests), named(Queues.paymentRequestsDeadLetter)),
    tags: [],
  },
];

/**
 * Which service user may publish which event: its consumers accept the event only from that user
 * (`user_id`, which the broker checks against the connection's login) and park anything else with
 * FORBIDDEN_PUBLISHER. RabbitMQ's permissions cannot tell the keys of the direct exchange `order`
 * apart, so this check, not a permission, is what keeps notify-worker from announcing a PDF.
 */
export const EVENT_PUBLISHERS: Readonly<Partial<Record<MessageType, ServiceUserName>>> = {
  [MessageTypes.orderNotifiedV1]: 'notify-worker',
  [MessageTypes.orderReportedV1]: 'report-worker',
  // Money: order-api believes a payment only from the payment service.
  [MessageTypes.paymentSucceededV1]: 'payment',
  [MessageTypes.paymentFailedV1]: 'payment',
  [MessageTypes.paymentRefundedV1]: 'payment',
};

/** The parking code of an event from a user EVENT_PUBLISHERS does not name for it. */
export const FORBIDDEN_PUBLISHER = 'FORBIDDEN_PUBLISHER';

/**
 * Why `publisher` may not have published a message of these types (its envelope's and its AMQP `type`),
 * or undefined when it may: a type EVENT_PUBLISHERS lists must come from that user.
 */
export function forbiddenPublisher(
  types: readonly (string | undefined)[],
  publisher: string | undefined,
): string | undefined {
  for (const type of new Set(types)) {
    const expected = type === undefined ? undefined : EVENT_PUBLISHERS[type as MessageType];
    if (expected !== undefined && publisher !== expected) {
      return `${type} is accepted from ${expected} only, not from ${publisher === undefined ? 'a message without user_id' : publisher}`;
    }
  }
  return undefined;
}

/**
 * The file under var/secrets holding a service user's password on this machine's brokers when its
 * variable is unset (`rabbitmq-order-api-password` for RABBITMQ_ORDER_API_PASSWORD).
 */
export const localPasswordFile = (passwordVariable: string): string =>
  passwordVariable.toLowerCase().replace(/_/g, '-');

/** The whitespace-separated table init-users.sh reads (regexes and tags never contain whitespace). */
export function renderServiceUsers(
  users: readonly ServiceUser[] = SERVICE_USERS,
  vhost = RABBITMQ_VHOST,
): string {
  const header = [
    '# Generated by `npm run rabbitmq:definitions` from libs/contracts/src/rabbitmq-definitions.ts: do not edit.',
    '# init-users.sh creates one RabbitMQ user per line with these permissions and user tags',
    '# (comma-separated, - for none).',
    '# vhost user password-variable configure write read tags',
  ];
  const rows = users.map((u) =>
    [vhost, u.name, u.passwordVariable, u.configure, u.write, u.read, u.tags.join(',') || '-'].join(' '),
  );
  return [...header, ...rows, ''].join('\n');
}

/** A user as `rabbitmqctl import_definitions` takes it: the password only as a salted hash. */
export interface RabbitmqUserDefinition {
  name: string;
  password_hash: string;
  hashing_algorithm: 'rabbit_password_hashing_sha256';
  tags: string[];
  limits: Record<string, number>;
}

export interface RabbitmqPermissionDefinition {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

/** Topology plus users and permissions: what a broker that already runs gets imported. */
export interface RabbitmqAccessDefinitions extends RabbitmqDefinitions {
  users: RabbitmqUserDefinition[];
  permissions: RabbitmqPermissionDefinition[];
}

/**
 * For a broker that is already running (the local one, a test vhost): the topology in `vhost`, the
 * service users with SERVICE_USERS' tags and permissions there, and `.*` for `adminUser` there, so whoever
 * runs tests or the management UI keeps full rights. `adminUser` must exist already; it is not in `users`,
 * so its password and tags stay as they are. Never committed: it carries password hashes.
 */
export function buildRabbitmqAccessDefinitions({
  vhost = RABBITMQ_VHOST,
  adminUser,
  passwordHashes,
  topology = TOPOLOGY,
  users = SERVICE_USERS,
}: {
  vhost?: string;
  adminUser: string;
  /** rabbit_password_hashing_sha256 hashes, one per service user. */
  passwordHashes: Readonly<Record<ServiceUserName, string>>;
  topology?: Topology;
  users?: readonly ServiceUser[];
}): RabbitmqAccessDefinitions {
  if (users.some((u) => u.name === adminUser)) {
    throw new Error(`${adminUser} is a service user; it cannot also be the administrator of ${vhost}`);
  }
  return {
    ...buildRabbitmqDefinitions(topology, vhost),
    users: users.map(({ name, tags }) => ({
      name,
      password_hash: passwordHashes[name],
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: [...tags],
      limits: {},
    })),
    permissions: [
      { user: adminUser, vhost, configure: '.*', write: '.*', read: '.*' },
      ...users.map(({ name, configure, write, read }) => ({ user: name, vhost, configure, write, read })),
    ],
  };
}

/** definitions.json as written to disk. */
export function renderRabbitmqDefinitions(
  definitions: RabbitmqDefinitions = buildRabbitmqDefinitions(),
): string {
  return `${JSON.stringify(definitions, null, 2)}\n`;
}
