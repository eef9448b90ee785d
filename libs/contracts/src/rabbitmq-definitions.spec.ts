import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_PAYMENT_WINDOW_MS,
  Exchanges,
  MessageTypes,
  paymentDueQueueOf,
  Queues,
  RETRY_DELAYS,
  WAITING_ROOM_SIZE,
} from './names';
import {
  buildQueuePolicies,
  buildRabbitmqAccessDefinitions,
  EVENT_PUBLISHERS,
  forbiddenPublisher,
  DEFAULT_EXCHANGE,
  buildRabbitmqDefinitions,
  type RabbitmqDefinitions,
  RABBITMQ_VHOST,
  renderServiceUsers,
  SERVICE_USERS,
  type ServiceUserName,
} from './rabbitmq-definitions';
import { CLUSTER_TOPOLOGY, TOPOLOGY } from './topology';

const root = join(__dirname, '../../..');
const deployDir = join(root, 'deploy/rabbitmq');
const committed = (name: string) => readFileSync(join(deployDir, name), 'utf8');

const user = (name: ServiceUserName) => {
  const found = SERVICE_USERS.find((u) => u.name === name);
  if (!found) throw new Error(`no user ${name}`);
  return found;
};
const allows = (pattern: string, resource: string) => new RegExp(pattern).test(resource);

describe('deploy/rabbitmq (regenerate with `npm run rabbitmq:definitions` when this fails)', () => {
  it('definitions.json is what the builder produces from TOPOLOGY', () => {
    const onDisk = JSON.parse(committed('definitions.json')) as RabbitmqDefinitions;
    expect(onDisk).toEqual(buildRabbitmqDefinitions());
  });

  it('cluster-definitions.json is what the builder produces from CLUSTER_TOPOLOGY', () => {
    const onDisk = JSON.parse(committed('cluster-definitions.json')) as RabbitmqDefinitions;
    expect(onDisk).toEqual(buildRabbitmqDefinitions(CLUSTER_TOPOLOGY));
  });

  it('service-users.txt is what the builder produces', () => {
    expect(committed('service-users.txt')).toBe(renderServiceUsers());
  });
});

describe('buildRabbitmqDefinitions', () => {
  const definitions = buildRabbitmqDefinitions();

  it('puts everything in the shop vhost', () => {
    expect(definitions.vhosts).toEqual([{ name: RABBITMQ_VHOST }]);
    for (const item of [...definitions.exchanges, ...definitions.queues, ...definitions.bindings]) {
      expect(item.vhost).toBe(RABBITMQ_VHOST);
    }
  });

  it('keeps every queue argument exactly as TOPOLOGY has it', () => {
    expect(definitions.queues.map((q) => [q.name, q.arguments])).toEqual(
      TOPOLOGY.queues.map((q) => [q.name, q.arguments]),
    );
  });

  it('only binds from and to exchanges and queues it defines', () => {
    const exchanges = new Set(definitions.exchanges.map((e) => e.name));
    const queues = new Set(definitions.queues.map((q) => q.name));
    expect(definitions.bindings.length).toBe(TOPOLOGY.bindings.length);
    for (const binding of definitions.bindings) {
      expect(exchanges).toContain(binding.source);
      expect(binding.destination_type === 'queue' ? queues : exchanges).toContain(binding.destination);
    }
  });

  it('dead-letters only to exchanges it defines', () => {
    const exchanges = new Set(definitions.exchanges.map((e) => e.name));
    for (const queue of definitions.queues) {
      const deadLetterExchange = queue.arguments['x-dead-letter-exchange'];
      // '' is the default exchange, built into every vhost (the retry queues dead-letter through it).
      if (deadLetterExchange !== undefined && deadLetterExchange !== '')
        expect(exchanges).toContain(deadLetterExchange);
    }
  });
});

describe('SERVICE_USERS', () => {
  const topologyNames = [...TOPOLOGY.exchanges, ...TOPOLOGY.queues].map((r) => r.name);

  it('lets no service declare or delete any part of the topology but order-api its payment windows', () => {
    for (const { name, configure } of SERVICE_USERS) {
      const declarable = name === 'order-api' ? [paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS)] : [];
      expect([name, topologyNames.filter((resource) => allows(configure, resource))]).toEqual([
        name,
        declarable,
      ]);
    }
    // The delay queue of any other window too (a window not in the definitions), and nothing beside it.
    expect(allows(user('order-api').configure, paymentDueQueueOf(2_000))).toBe(true);
    expect(allows(user('order-api').configure, 'order_payment_due')).toBe(false);
  });

  it('lets order-api publish order and payment events and logs, and consume its three feeds with their retries and its waiting room only', () => {
    const { write, read } = user('order-api');
    expect(allows(write, DEFAULT_EXCHANGE)).toBe(true); // report_rpc requests, deadlines into delay queues
    const feeds = [Queues.orderStatus, Queues.orderDeadlines, Queues.orderPayments];
    expect(topologyNames.filter((resource) => allows(write, resource))).toEqual([
      Exchanges.order,
      Exchanges.orderDeadLetter,
      Exchanges.logs,
      Exchanges.payment,
      ...feeds.map((queue) => `${queue}.retry`),
      // The same `<queue>.<suffix>` rule as the workers' retry paths (write on a queue only lets it bind).
      ...feeds.map((queue) => `${queue}.dlq`),
      ...feeds.flatMap((queue) => RETRY_DELAYS.map(({ label }) => `${queue}.retry.${label}`)),
    ]);
    // And the delay queues, which declaring one with its dead-letter exchange needs (nothing consumes them).
    expect(topologyNames.filter((resource) => allows(read, resource))).toEqual([
      ...feeds,
      paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS),
      Queues.orderRequests,
      Queues.orderRequestsDeadLetter,
    ]);
  });

  it.each([
    ['notify-worker', Queues.orderNotify, Queues.orderReport],
    ['report-worker', Queues.orderReport, Queues.orderNotify],
  ] as const)(
    'lets %s consume %s, dead-letter, retry, log and publish its status event, but not touch %s',
    (name, own, other) => {
      const { write, read } = user(name);
      // report-worker also serves report_rpc (it replies through the default exchange); notify-worker also
      // mails sign-in codes (customer_notify). Each reads its dead-letter queues: its retention job empties them.
      const reads =
        name === 'report-worker'
          ? [Queues.orderReport, Queues.orderReportDeadLetter, Queues.reportRpc]
          : [
              Queues.orderNotify,
              Queues.customerNotify,
              Queues.orderNotifyDeadLetter,
              Queues.customerNotifyDeadLetter,
            ];
      expect(topologyNames.filter((resource) => allows(read, resource))).toEqual(reads);
      expect(allows(write, DEFAULT_EXCHANGE)).toBe(name === 'report-worker');
      expect(allows(write, Exchanges.orderDeadLetter)).toBe(true);
      expect(allows(write, Exchanges.logs)).toBe(true);
      expect(allows(write, `${own}.retry`)).toBe(true);
      expect(allows(write, Exchanges.order)).toBe(true);
      expect(allows(write, `${Queues.orderStatus}.retry`)).toBe(false);
      expect(allows(write, `${other}.retry`)).toBe(false);
      expect(allows(write, own)).toBe(false);
    },
  );

  it('lets payment consume payment_requests with its retries and publish results to payment only', () => {
    const { write, read, configure } = user('payment');
    expect(topologyNames.filter((resource) => allows(read, resource))).toEqual([
      Queues.paymentRequests,
      Queues.paymentRequestsDeadLetter,
    ]);
    expect(allows(write, Exchanges.payment)).toBe(true);
    expect(allows(write, Exchanges.order)).toBe(false);
    expect(allows(write, DEFAULT_EXCHANGE)).toBe(false);
    expect(allows(write, `${Queues.paymentRequests}.retry`)).toBe(true);
    expect(allows(configure, Queues.paymentRequests)).toBe(false);
  });

  it('lets log-aggregator consume its two queues and publish logs only', () => {
    const { write, read } = user('log-aggregator');
    expect(topologyNames.filter((resource) => allows(read, resource))).toEqual([
      Queues.logArchive,
      Queues.logAlerts,
    ]);
    expect(topologyNames.filter((resource) => allows(write, resource))).toEqual([Exchanges.logs]);
  });

  it("lets the dashboard publish logs, read every work queue's dead-letter queue and follow orders only", () => {
    const { write, read, configure } = user('dashboard');
    // basic.get on the parked messages; closing the channel unacked puts them back.
    expect(topologyNames.filter((resource) => allows(read, resource))).toEqual([
      Exchanges.logsFollow,
      Queues.orderNotifyDeadLetter,
      Queues.orderReportDeadLetter,
      Queues.orderStatusDeadLetter,
      Queues.customerNotifyDeadLetter,
      Queues.orderDeadlinesDeadLetter,
      Queues.paymentRequestsDeadLetter,
      Queues.orderPaymentsDeadLetter,
    ]);
    expect(topologyNames.filter((resource) => allows(write, resource))).toEqual([Exchanges.logs]);
    expect(allows(write, DEFAULT_EXCHANGE)).toBe(false);
    // A follow's own queue, server-named: declared, bound and consumed; nothing of the topology.
    const followQueue = 'amq.gen-JzTY20BRgKO-HjmUJj0wLg';
    for (const pattern of [configure, write, read]) expect(allows(pattern, followQueue)).toBe(true);
    expect(allows(configure, 'amq.gen-')).toBe(false);
    expect(allows(read, Exchanges.logsBroadcast)).toBe(false);
    expect(allows(read, Exchanges.logs)).toBe(false);
  });

  it('tags only the dashboard, with monitoring (management API reads), and never as an administrator', () => {
    expect(SERVICE_USERS.filter((u) => u.tags.length > 0).map(({ name, tags }) => [name, tags])).toEqual([
      ['dashboard', ['monitoring']],
    ]);
  });

  it('anchors every pattern, so `logs` does not also grant `logs.broadcast`', () => {
    for (const { configure, write, read } of SERVICE_USERS) {
      for (const pattern of [configure, write, read]) expect(pattern).toMatch(/^\^.*\$$/);
    }
    expect(allows(user('log-aggregator').write, Exchanges.logsBroadcast)).toBe(false);
  });
});

describe('buildRabbitmqAccessDefinitions (what `npm run rabbitmq:apply-local` imports)', () => {
  const passwordHashes = {
    'order-api': 'hash-of-order-api',
    'notify-worker': 'hash-of-notify-worker',
    'report-worker': 'hash-of-report-worker',
    'log-aggregator': 'hash-of-log-aggregator',
    dashboard: 'hash-of-dashboard',
    identity: 'hash-of-identity',
    payment: 'hash-of-payment',
  };
  const access = buildRabbitmqAccessDefinitions({ vhost: 'elsewhere', adminUser: 'guest', passwordHashes });

  it('carries the same topology as definitions.json, in the given vhost', () => {
    const { users: _users, permissions: _permissions, ...topology } = access;
    expect(topology).toEqual(buildRabbitmqDefinitions(TOPOLOGY, 'elsewhere'));
  });

  it('creates the service users with their hashes and tags, and never the admin user', () => {
    expect(access.users).toEqual(
      SERVICE_USERS.map(({ name, tags }) => ({
        name,
        password_hash: passwordHashes[name],
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: [...tags],
        limits: {},
      })),
    );
    expect(access.users.map((u) => u.name)).not.toContain('guest');
    expect(access.users.find((u) => u.name === 'dashboard')?.tags).toEqual(['monitoring']);
  });

  it('gives the admin user everything and each service user its own permissions, in that vhost only', () => {
    expect(access.permissions).toEqual([
      { user: 'guest', vhost: 'elsewhere', configure: '.*', write: '.*', read: '.*' },
      ...SERVICE_USERS.map(({ name, configure, write, read }) => ({
        user: name,
        vhost: 'elsewhere',
        configure,
        write,
        read,
      })),
    ]);
  });

  it('refuses a service user as the administrator', () => {
    expect(() =>
      buildRabbitmqAccessDefinitions({ vhost: 'elsewhere', adminUser: 'order-api', passwordHashes }),
    ).toThrow(/order-api is a service user/);
  });
});

describe('service user passwords', () => {
  // Compose requires each (npm run secrets writes them into .env); npm start keeps its own in var/secrets.
  it('are variables docker-compose.yml passes to the broker', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const { passwordVariable } of SERVICE_USERS) {
      expect([passwordVariable, compose]).toEqual([
        passwordVariable,
        expect.stringMatching(new RegExp(`\\$\\{${passwordVariable}:[?-]`)),
      ]);
    }
  });
});

describe('QUEUE_LIMIT_POLICIES', () => {
  const policies = buildQueuePolicies('elsewhere');
  const matching = (queue: string) => policies.filter((p) => new RegExp(p.pattern).test(queue));

  it('bounds every queue of the topology, each by exactly one policy (RabbitMQ applies only one)', () => {
    for (const { name } of [...TOPOLOGY.queues, ...CLUSTER_TOPOLOGY.queues]) {
      expect([name, matching(name).length]).toEqual([name, 1]);
    }
  });

  it('rejects the publish that would overflow, with keys RabbitMQ 3.10 and 4.x both know', () => {
    for (const policy of policies) {
      expect(policy).toMatchObject({ vhost: 'elsewhere', 'apply-to': 'queues', priority: 0 });
      expect(policy.definition.overflow).toBe('reject-publish');
      expect(
        Object.keys(policy.definition).every((key) =>
          ['max-length', 'max-length-bytes', 'overflow'].includes(key),
        ),
      ).toBe(true);
      expect(policy.definition['max-length']).toBeGreaterThan(0);
    }
    expect(matching(Queues.reportRpc)[0].definition['max-length']).toBe(1_000);
    // The waiting room's size: one more request is refused by the broker, and the customer hears 503.
    expect(matching(Queues.orderRequests)[0]).toMatchObject({
      name: 'shop-limit-waiting-room',
      definition: { 'max-length': WAITING_ROOM_SIZE, overflow: 'reject-publish' },
    });
  });

  it('are in definitions.json and in what apply-local imports', () => {
    expect(buildRabbitmqDefinitions().policies).toEqual(buildQueuePolicies(RABBITMQ_VHOST));
  });
});

describe('EVENT_PUBLISHERS', () => {
  it('names a service user for each status event, and only that user passes', () => {
    const names = SERVICE_USERS.map((u) => u.name as string);
    for (const publisher of Object.values(EVENT_PUBLISHERS)) expect(names).toContain(publisher);
    expect(forbiddenPublisher([MessageTypes.orderReportedV1], 'report-worker')).toBeUndefined();
    expect(forbiddenPublisher([MessageTypes.orderReportedV1], 'notify-worker')).toMatch(
      /order.reported.v1 is accepted from report-worker only, not from notify-worker/,
    );
    expect(forbiddenPublisher([MessageTypes.orderNotifiedV1], undefined)).toMatch(/without user_id/);
    // Types nobody is named for are anyone's (order.placed.v1 comes through the outbox).
    expect(forbiddenPublisher([MessageTypes.orderPlacedV1], 'guest')).toBeUndefined();
  });
});
