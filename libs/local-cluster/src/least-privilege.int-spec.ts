import {
  Exchanges,
  FailureHeaders,
  followBindingOf,
  LogHeaders,
  LOG_RECORD_LIMITS,
  LogRecordV1,
  MAX_MESSAGE_BYTES,
  isPaymentDueQueue,
  MessageTypes,
  paymentDueQueue,
  QUEUE_LIMIT_POLICIES,
  Queues,
  RoutingKeys,
  TOPOLOGY,
} from '@shop/contracts';
import {
  BrokerProbe,
  createOrderFixture,
  createTestPool,
  extractPdfText,
  freePort,
  publishOrderPlaced,
  resetDatabase,
  SmtpSink,
  startServiceProcess,
  testConfig,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { LogPublisher, type LogRecord } from '@shop/logging';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
// Exactly what `npm run rabbitmq:apply-local` and `npm start -- --cluster` run.
import { applyLocalDefinitions, type AppliedDefinitions } from './local-definitions';

const run = promisify(execFile);
const ROOT = join(__dirname, '../../..');

/** Its own vhost: the definitions are imported here exactly as `npm run rabbitmq:apply-local` does. */
const VHOST = 'shop_privileges_test';
/** The user tests run as (guest): it must keep full rights on the vhost. */
const adminUser = decodeURIComponent(new URL(testConfig.rabbitmqUrl).username) || 'guest';

type BrokerError = Error & { code?: number };
type ServiceUserName = AppliedDefinitions['users'][number]['name'];

/** The test broker's URL, as `user` (or the admin), in VHOST. */
function urlAs(user: ServiceUserName | 'admin', applied: AppliedDefinitions): string {
  const url = new URL(testConfig.rabbitmqUrl);
  if (user !== 'admin') {
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(applied.users.find((u) => u.name === user)!.password);
  }
  url.pathname = `/${encodeURIComponent(VHOST)}`;
  return url.toString();
}

async function vhostExists(): Promise<boolean> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_vhosts', 'name', '--no-table-headers']);
  return stdout.split('\n').some((line) => line.trim() === VHOST);
}

async function deleteVhostIfPresent(): Promise<void> {
  if (await vhostExists()) await run('rabbitmqctl', ['-q', 'delete_vhost', VHOST], { timeout: 60_000 });
}

/** `ACCESS_REFUSED`, as the broker words it when it closes a channel (reply code 403). */
const refusal = (user: ServiceUserName, kind: 'exchange' | 'queue', name: string) =>
  expect.objectContaining({
    code: 403,
    message: expect.stringContaining(
      `ACCESS_REFUSED - access to ${kind} '${name}' in vhost '${VHOST}' refused for user '${user}'`,
    ),
  });

describe(`least privilege: the service users on the local broker (vhost ${VHOST})`, () => {
  let applied: AppliedDefinitions;
  let admin: BrokerProbe;
  const connections = new Map<ServiceUserName, ChannelModel>();

  const connectionOf = async (user: ServiceUserName): Promise<ChannelModel> => {
    let connection = connections.get(user);
    if (!connection) {
      connection = await amqp.connect(urlAs(user, applied));
      // A refused operation closes its channel only; the connection stays (and says so here, not by crashing).
      connection.on('error', () => undefined);
      connections.set(user, connection);
    }
    return connection;
  };

  /**
   * Runs `operation` on a fresh confirm channel of `user` and resolves with the error the broker closed the
   * channel with, or undefined when it allowed everything. A refusal kills the channel, so each check gets one.
   */
  const brokerErrorOf = async (
    user: ServiceUserName,
    operation: (channel: ConfirmChannel) => Promise<unknown>,
  ): Promise<BrokerError | undefined> => {
    const channel = await (await connectionOf(user)).createConfirmChannel();
    let closedWith: BrokerError | undefined;
    // Emitted before the operation's own promise rejects (and before a confirm callback fails).
    channel.on('error', (error: BrokerError) => (closedWith = error));
    try {
      await operation(channel);
    } catch (error) {
      if (!closedWith) throw error;
      return closedWith;
    }
    await channel.close();
    return closedWith;
  };

  /** Publishes one persistent message and waits for the broker's confirm. */
  const publishConfirmed = (exchange: string, routingKey: string) => (channel: ConfirmChannel) => {
    channel.publish(exchange, routingKey, Buffer.from('{"spec":"least-privilege"}'), {
      persistent: true,
      contentType: 'application/json',
    });
    return channel.waitForConfirms();
  };
  /** Consumes without acking; closing the channel hands anything taken back to the queue. */
  const consume = (queue: string) => (channel: ConfirmChannel) => channel.consume(queue, () => undefined);

  beforeAll(async () => {
    // A vhost left behind by an interrupted run may hold stale messages: start from nothing.
    await deleteVhostIfPresent();
    // env {}: the generated passwords under var/secrets, whatever this shell exports.
    applied = await applyLocalDefinitions({ vhost: VHOST, adminUser, env: {} });
    admin = await BrokerProbe.connect(urlAs('admin', applied));
  });

  afterAll(async () => {
    for (const connection of connections.values()) await connection.close().catch(() => undefined);
    await admin?.close();
    // The vhost only: users are global and other runs may use them.
    await deleteVhostIfPresent();
  });

  describe('what applyLocalDefinitions set up', () => {
    it('creates the vhost with the whole topology, which the admin user may still use', async () => {
      expect(applied).toMatchObject({ vhost: VHOST, vhostCreated: true, adminUser });
      for (const exchange of TOPOLOGY.exchanges) await admin.channel.checkExchange(exchange.name);
      for (const queue of TOPOLOGY.queues) await admin.channel.checkQueue(queue.name);
      const { stdout } = await run('rabbitmqctl', [
        '-q',
        'list_permissions',
        '-p',
        VHOST,
        '--no-table-headers',
      ]);
      const permissions = stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t'));
      expect(permissions).toEqual(
        expect.arrayContaining([
          [adminUser, '.*', '.*', '.*'],
          ...applied.users.map((u) => [u.name, u.configure, u.write, u.read]),
        ]),
      );
      expect(permissions).toHaveLength(applied.users.length + 1);
    });

    it('leaves the admin user as it was: still an administrator, still able to declare', async () => {
      const { stdout } = await run('rabbitmqctl', ['-q', 'list_users', '--no-table-headers']);
      expect(stdout).toMatch(new RegExp(`^${adminUser}\\t\\[.*administrator.*\\]$`, 'm'));
      await admin.channel.assertQueue('', { exclusive: true, autoDelete: true });
    });

    it.each(['order-api', 'notify-worker', 'report-worker', 'log-aggregator'] as const)(
      '%s may publish log records to `logs`',
      async (user) => {
        expect(await brokerErrorOf(user, publishConfirmed(Exchanges.logs, `${user}.info`))).toBeUndefined();
      },
    );
  });

  describe('order-api', () => {
    it('may publish order events to `order`, confirmed, and they reach the work queue', async () => {
      await admin.purge(Queues.orderNotify);
      expect(
        await brokerErrorOf('order-api', publishConfirmed(Exchanges.order, RoutingKeys.orderNotify)),
      ).toBeUndefined();
      await admin.waitForMessages(Queues.orderNotify, 1);
    });

    it('may call report_rpc: a request through the default exchange, the reply by direct reply-to', async () => {
      await admin.purge(Queues.reportRpc);
      expect(
        await brokerErrorOf('order-api', async (channel) => {
          await channel.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
          channel.publish('', Queues.reportRpc, Buffer.from('{}'), { replyTo: 'amq.rabbitmq.reply-to' });
          await channel.waitForConfirms();
        }),
      ).toBeUndefined();
      await admin.waitForMessages(Queues.reportRpc, 1);
    });

    // Its three feeds: the workers' status events, the payment service's results, the deadlines; and the
    // waiting room it feeds itself, with its parked requests (its retention job removes the old ones).
    const feeds: string[] = [
      Queues.orderStatus,
      Queues.orderPayments,
      Queues.orderDeadlines,
      Queues.orderRequests,
      Queues.orderRequestsDeadLetter,
    ];

    it.each(feeds)('may consume its feed %s', async (queue) => {
      expect(await brokerErrorOf('order-api', consume(queue))).toBeUndefined();
    });

    // It may read its delay queues (declaring one with a dead-letter exchange needs it); it never consumes them.
    it.each(
      TOPOLOGY.queues
        .map((queue) => queue.name)
        .filter((queue) => !feeds.includes(queue) && !isPaymentDueQueue(queue)),
    )('may not consume %s', async (queue) => {
      expect(await brokerErrorOf('order-api', consume(queue))).toEqual(refusal('order-api', 'queue', queue));
    });
  });

  describe.each([
    { user: 'notify-worker', own: Queues.orderNotify, other: Queues.orderReport },
    { user: 'report-worker', own: Queues.orderReport, other: Queues.orderNotify },
  ] as const)('$user', ({ user, own, other }) => {
    it('may publish its status event to `order`, and it reaches order_status', async () => {
      await admin.purge(Queues.orderStatus);
      const key = user === 'notify-worker' ? RoutingKeys.orderNotified : RoutingKeys.orderReported;
      expect(await brokerErrorOf(user, publishConfirmed(Exchanges.order, key))).toBeUndefined();
      await admin.waitForMessages(Queues.orderStatus, 1);
    });

    it(
      user === 'report-worker'
        ? 'may serve report_rpc and reply through the default exchange'
        : 'may not serve report_rpc nor publish to the default exchange',
      async () => {
        if (user === 'report-worker') {
          expect(await brokerErrorOf(user, consume(Queues.reportRpc))).toBeUndefined();
          expect(await brokerErrorOf(user, publishConfirmed('', Queues.reportRpc))).toBeUndefined();
          await admin.purge(Queues.reportRpc);
        } else {
          expect(await brokerErrorOf(user, consume(Queues.reportRpc))).toEqual(
            refusal(user, 'queue', Queues.reportRpc),
          );
          expect(await brokerErrorOf(user, publishConfirmed('', Queues.reportRpc))).toEqual(
            refusal(user, 'exchange', 'amq.default'),
          );
        }
      },
    );

    it('may not consume order_status, nor publish to its retry exchange', async () => {
      expect(await brokerErrorOf(user, consume(Queues.orderStatus))).toEqual(
        refusal(user, 'queue', Queues.orderStatus),
      );
      expect(await brokerErrorOf(user, publishConfirmed(`${Queues.orderStatus}.retry`, '1s'))).toEqual(
        refusal(user, 'exchange', `${Queues.orderStatus}.retry`),
      );
    });

    it(`may not consume ${other}, nor publish to its retry exchange`, async () => {
      expect(await brokerErrorOf(user, consume(other))).toEqual(refusal(user, 'queue', other));
      expect(await brokerErrorOf(user, publishConfirmed(`${other}.retry`, '1s'))).toEqual(
        refusal(user, 'exchange', `${other}.retry`),
      );
    });

    it('may not declare anything: a new queue, its own work queue as it is, an exchange', async () => {
      const ownQueue = TOPOLOGY.queues.find((queue) => queue.name === own)!;
      expect(await brokerErrorOf(user, (channel) => channel.assertQueue('privileges-probe'))).toEqual(
        refusal(user, 'queue', 'privileges-probe'),
      );
      expect(
        await brokerErrorOf(user, (channel) =>
          channel.assertQueue(own, { durable: true, arguments: ownQueue.arguments }),
        ),
      ).toEqual(refusal(user, 'queue', own));
      expect(
        await brokerErrorOf(user, (channel) =>
          channel.assertExchange(Exchanges.order, 'direct', { durable: true }),
        ),
      ).toEqual(refusal(user, 'exchange', Exchanges.order));
    });

    it(`may check that ${own} exists and consume it`, async () => {
      // A passive declare needs no rights: it is how the services look for their queue.
      expect(await brokerErrorOf(user, (channel) => channel.checkQueue(own))).toBeUndefined();
      expect(await brokerErrorOf(user, consume(own))).toBeUndefined();
    });

    it(`may retry through ${own}.retry and park through ${Exchanges.orderDeadLetter}, confirmed`, async () => {
      // A key no retry queue has: the right is checked on the exchange, and nothing flows back into
      // the work queue a second later.
      expect(await brokerErrorOf(user, publishConfirmed(`${own}.retry`, 'unrouted'))).toBeUndefined();
      await admin.purge(`${own}.dlq`);
      expect(await brokerErrorOf(user, publishConfirmed(Exchanges.orderDeadLetter, own))).toBeUndefined();
      await admin.waitForMessages(`${own}.dlq`, 1);
    });
  });

  describe('payment', () => {
    it('may consume payment_requests and publish its results to payment, and nothing of the orders', async () => {
      expect(await brokerErrorOf('payment', consume(Queues.paymentRequests))).toBeUndefined();
      expect(
        await brokerErrorOf('payment', publishConfirmed(Exchanges.payment, RoutingKeys.paymentSucceeded)),
      ).toBeUndefined();
      await admin.purge(Queues.orderPayments);
      expect(await brokerErrorOf('payment', consume(Queues.orderPayments))).toEqual(
        refusal('payment', 'queue', Queues.orderPayments),
      );
      expect(
        await brokerErrorOf('payment', publishConfirmed(Exchanges.order, RoutingKeys.orderPaid)),
      ).toEqual(refusal('payment', 'exchange', Exchanges.order));
    });
  });

  describe('order-api and its payment windows', () => {
    it('may declare the delay queue of a window the definitions do not have, and nothing else', async () => {
      const window = paymentDueQueue(2_500);
      expect(
        await brokerErrorOf('order-api', async (channel) => {
          await channel.assertQueue(window.name, { durable: true, arguments: window.arguments });
        }),
      ).toBeUndefined();
      await admin.channel.deleteQueue(window.name);
      expect(
        await brokerErrorOf('order-api', async (channel) => {
          await channel.assertQueue('order_payment_later', { durable: true });
        }),
      ).toEqual(refusal('order-api', 'queue', 'order_payment_later'));
    });
  });

  describe('log-aggregator', () => {
    it.each([Queues.logArchive, Queues.logAlerts])('may consume %s', async (queue) => {
      expect(await brokerErrorOf('log-aggregator', consume(queue))).toBeUndefined();
    });

    it('may not consume a work queue, nor publish order events', async () => {
      expect(await brokerErrorOf('log-aggregator', consume(Queues.orderNotify))).toEqual(
        refusal('log-aggregator', 'queue', Queues.orderNotify),
      );
      expect(
        await brokerErrorOf('log-aggregator', publishConfirmed(Exchanges.order, RoutingKeys.orderReport)),
      ).toEqual(refusal('log-aggregator', 'exchange', Exchanges.order));
    });
  });

  describe('dashboard', () => {
    it('may read every queue’s depth and consumers with passive declares', async () => {
      expect(
        await brokerErrorOf('dashboard', async (channel) => {
          for (const { name } of TOPOLOGY.queues) await channel.checkQueue(name);
        }),
      ).toBeUndefined();
    });

    it('may take a parked message from a dead-letter queue and put it back, and publish its logs', async () => {
      await admin.publishConfirmed(Exchanges.orderDeadLetter, Queues.orderNotify, Buffer.from('{}'), {
        persistent: true,
        messageId: 'parked-for-the-dashboard',
      });
      expect(
        await brokerErrorOf('dashboard', async (channel) => {
          const message = await channel.get(Queues.orderNotifyDeadLetter, { noAck: false });
          expect(message && message.properties.messageId).toBe('parked-for-the-dashboard');
          if (message) channel.nack(message, false, true);
        }),
      ).toBeUndefined();
      expect((await admin.channel.checkQueue(Queues.orderNotifyDeadLetter)).messageCount).toBe(1);
      expect(
        await brokerErrorOf('dashboard', publishConfirmed(Exchanges.logs, 'dashboard.info')),
      ).toBeUndefined();
      await admin.purge(Queues.orderNotifyDeadLetter);
    });

    it('may follow an order: a server-named exclusive queue bound to logs.follow on order-id, consumed; no other log exchange', async () => {
      let queue = '';
      expect(
        await brokerErrorOf('dashboard', async (channel) => {
          ({ queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false }));
          await channel.bindQueue(
            queue,
            Exchanges.logsFollow,
            '',
            followBindingOf(LogHeaders.orderId, randomUUID()),
          );
          await channel.consume(queue, () => undefined, { noAck: true });
        }),
      ).toBeUndefined();
      expect(queue).toMatch(/^amq\.gen-/);
      expect(
        await brokerErrorOf('dashboard', async (channel) => {
          const { queue: other } = await channel.assertQueue('', { exclusive: true });
          await channel.bindQueue(other, Exchanges.logsBroadcast, '');
        }),
      ).toEqual(refusal('dashboard', 'exchange', Exchanges.logsBroadcast));
    });

    it('may not consume a work queue, nor publish order events', async () => {
      expect(await brokerErrorOf('dashboard', consume(Queues.orderNotify))).toEqual(
        refusal('dashboard', 'queue', Queues.orderNotify),
      );
      expect(
        await brokerErrorOf('dashboard', publishConfirmed(Exchanges.order, RoutingKeys.orderNotify)),
      ).toEqual(refusal('dashboard', 'exchange', Exchanges.order));
    });
  });

  describe('what the broker itself refuses', () => {
    it.each(['notify-worker', 'log-aggregator', 'dashboard'] as const)(
      '%s may not write to the default exchange, which reaches every queue by name',
      async (user) => {
        expect(await brokerErrorOf(user, publishConfirmed('', Queues.orderStatus))).toEqual(
          refusal(user, 'exchange', 'amq.default'),
        );
      },
    );

    it('a reply to direct reply-to is a publish to amq.default: why report-worker keeps that right', async () => {
      const caller = await (await connectionOf('order-api')).createChannel();
      await caller.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
      const replyTo = await new Promise<string>((resolve, reject) => {
        void (async () => {
          const server = await (await connectionOf('report-worker')).createChannel();
          await server.consume(Queues.reportRpc, (request) => {
            if (!request) return reject(new Error('consumer cancelled'));
            server.ack(request);
            resolve(String(request.properties.replyTo));
            void server.close();
          });
          caller.publish('', Queues.reportRpc, Buffer.from('{}'), { replyTo: 'amq.rabbitmq.reply-to' });
        })().catch(reject);
      });
      expect(replyTo).toMatch(/^amq\.rabbitmq\.reply-to\./);
      expect(await brokerErrorOf('notify-worker', publishConfirmed('', replyTo))).toEqual(
        refusal('notify-worker', 'exchange', 'amq.default'),
      );
      expect(await brokerErrorOf('report-worker', publishConfirmed('', replyTo))).toBeUndefined();
      await caller.close();
    });

    it('refuses a user_id other than the connection’s own login (406 PRECONDITION_FAILED)', async () => {
      const spoofed = await brokerErrorOf('notify-worker', (channel) => {
        channel.publish(Exchanges.order, RoutingKeys.orderReported, Buffer.from('{}'), {
          userId: 'report-worker',
        });
        return channel.waitForConfirms();
      });
      expect(spoofed).toEqual(
        expect.objectContaining({
          code: 406,
          message: expect.stringContaining(
            "user_id property set to 'report-worker' but authenticated user was 'notify-worker'",
          ),
        }),
      );
      expect(
        await brokerErrorOf('notify-worker', (channel) => {
          channel.publish(Exchanges.logs, 'notify-worker.info', Buffer.from('{}'), {
            userId: 'notify-worker',
          });
          return channel.waitForConfirms();
        }),
      ).toBeUndefined();
    });

    it('the log publisher cuts an overlong record to a valid one and refuses one above MAX_MESSAGE_BYTES', async () => {
      await admin.purge(Queues.logArchive);
      const publisher = new LogPublisher({
        url: urlAs('notify-worker', applied),
        service: 'notify-worker',
        notify: () => undefined,
      });
      try {
        const base = { time: new Date().toISOString(), service: 'notify-worker', level: 'info' as const };
        publisher.publish({ ...base, message: 'm'.repeat(100_000) });
        publisher.publish({
          ...base,
          message: 'too big',
          padding: 'x'.repeat(MAX_MESSAGE_BYTES),
        } as LogRecord);
        await waitFor(
          'one record published and one refused',
          () => publisher.stats.published === 1 && publisher.stats.refused === 1,
        );
      } finally {
        await publisher.close();
      }
      const [archived] = await admin.waitForMessages(Queues.logArchive, 1);
      expect(archived.properties.userId).toBe('notify-worker');
      const record = LogRecordV1.parse(JSON.parse(archived.content.toString()));
      expect(record.message).toHaveLength(LOG_RECORD_LIMITS.message);
      expect(await admin.messageCount(Queues.logArchive)).toBe(0);
    });

    it('sets the queue limit policies on the vhost, and a full queue nacks the next publish', async () => {
      const { stdout } = await run('rabbitmqctl', ['-q', 'list_policies', '-p', VHOST, '--no-table-headers']);
      expect(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('\t')[1])
          .sort(),
      ).toEqual(QUEUE_LIMIT_POLICIES.map((policy) => policy.name).sort());
      const limit = QUEUE_LIMIT_POLICIES.find((policy) => policy.queues.includes(Queues.reportRpc))!.limit;
      await admin.purge(Queues.reportRpc);
      const channel = await (await connectionOf('order-api')).createConfirmChannel();
      const outcomes = await Promise.all(
        Array.from(
          { length: limit['max-length'] + 1 },
          () =>
            new Promise<string>((resolve) =>
              channel.publish('', Queues.reportRpc, Buffer.from('{}'), {}, (error) =>
                resolve(error ? 'nacked' : 'confirmed'),
              ),
            ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome === 'confirmed')).toHaveLength(limit['max-length']);
      expect(outcomes.at(-1)).toBe('nacked');
      expect(await admin.messageCount(Queues.reportRpc)).toBe(limit['max-length']);
      await channel.close();
      await admin.purge(Queues.reportRpc);
    });
  });

  describe('the services, run as these users with RABBITMQ_DECLARE_TOPOLOGY=false', () => {
    let pool: Pool;
    let sink: SmtpSink;
    let reportsDir: string;
    let logDir: string;
    const processes: ServiceProcess[] = [];

    const start = async (name: ServiceUserName, env: Record<string, string>): Promise<ServiceProcess> => {
      const service = await startServiceProcess(
        name,
        {
          ...env,
          RABBITMQ_URL: urlAs(name, applied),
          RABBITMQ_DECLARE_TOPOLOGY: 'false',
        },
        { port: await freePort() },
      );
      processes.push(service);
      return service;
    };
    const logsUntil = (service: ServiceProcess, pattern: RegExp) =>
      waitFor(`${service.name} to log ${pattern}`, () => pattern.test(service.output()), {
        timeoutMs: 15_000,
      });
    /** Every archived record of `service`, whatever the UTC date folder. */
    const archivedFrom = async (service: string) => {
      const lines: string[] = [];
      for (const day of await readdir(logDir).catch(() => [])) {
        const file = await readFile(join(logDir, day, 'all.jsonl'), 'utf8').catch(() => '');
        lines.push(...file.split('\n').filter(Boolean));
      }
      return lines.filter((line) => (JSON.parse(line) as { service?: string }).service === service);
    };

    beforeAll(async () => {
      pool = createTestPool();
      await resetDatabase(pool);
      sink = new SmtpSink();
      await sink.start();
      reportsDir = await mkdtemp(join(tmpdir(), 'least-privilege-reports-'));
      logDir = await mkdtemp(join(tmpdir(), 'least-privilege-logs-'));
      await admin.purge(...TOPOLOGY.queues.map((queue) => queue.name));
    });

    afterEach(async () => {
      await Promise.all(processes.splice(0).map((service) => service.stop('SIGKILL')));
    });

    afterAll(async () => {
      await sink?.stop();
      await pool?.end();
      await rm(reportsDir, { recursive: true, force: true });
      await rm(logDir, { recursive: true, force: true });
    });

    it('consume their queues, send the email, write the PDF and archive the logs, with nothing refused', async () => {
      const aggregator = await start('log-aggregator', { LOG_DIR: logDir });
      const notify = await start('notify-worker', {
        DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
        SMTP_URL: sink.url,
      });
      const report = await start('report-worker', {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        REPORTS_DIR: reportsDir,
      });
      await logsUntil(aggregator, /consuming log_archive/);
      await logsUntil(notify, /consuming order_notify/);
      await logsUntil(report, /consuming order_report/);

      const order = await createOrderFixture(pool, {
        customer: { email: 'least.privilege@example.com', name: 'Lee Privilege' },
        items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
      });
      const orderApi = await BrokerProbe.connect(urlAs('order-api', applied));
      try {
        await publishOrderPlaced(orderApi, 'order.notify', order.event);
        await publishOrderPlaced(orderApi, 'order.report', order.event);
      } finally {
        await orderApi.close();
      }

      const [mail] = await sink.waitForMessages(1, 20_000);
      expect(mail.to.map((to) => to.address)).toEqual(['least.privilege@example.com']);
      const pdfPath = join(reportsDir, `${order.orderId}.pdf`);
      const pdf = await waitFor('the PDF report', () => readFile(pdfPath).catch(() => undefined), {
        timeoutMs: 20_000,
      });
      expect(await extractPdfText(pdf)).toContain(order.orderId);
      await waitFor('both workers to have acked', async () => {
        const counts = await Promise.all(
          [Queues.orderNotify, Queues.orderReport].map((q) => admin.messageCount(q)),
        );
        return counts.every((count) => count === 0);
      });
      // Their log publishers only checked that `logs` exists; the aggregator consumed through its own user.
      await waitFor('records of both workers in the archive', async () => {
        const [fromNotify, fromReport] = await Promise.all([
          archivedFrom('notify-worker'),
          archivedFrom('report-worker'),
        ]);
        return fromNotify.length > 0 && fromReport.length > 0;
      });

      // A refused declare or bind closes a channel with 403 ACCESS_REFUSED, which golevelup and the log
      // publisher log; a missing queue or exchange would show as 404 NOT_FOUND. Neither appears.
      for (const service of [aggregator, notify, report]) {
        expect([service.name, service.isRunning()]).toEqual([service.name, true]);
        expect([service.name, (await fetch(`${service.baseUrl}/health`)).status]).toEqual([
          service.name,
          200,
        ]);
        expect([service.name, service.output()]).toEqual([
          service.name,
          expect.not.stringMatching(/ACCESS_REFUSED|NOT_FOUND/),
        ]);
      }
      expect(await admin.messageCount(Queues.orderNotifyDeadLetter)).toBe(0);
      expect(await admin.messageCount(Queues.orderReportDeadLetter)).toBe(0);
    });

    it('order-api parks order.reported forged by notify-worker FORBIDDEN_PUBLISHER, the order unchanged, and applies report-worker’s', async () => {
      await admin.purge(Queues.orderStatus, Queues.orderStatusDeadLetter);
      const api = await start('order-api', { DATABASE_URL: testConfig.databaseUrlOf('order-api') });
      await logsUntil(api, /consuming order_status/);
      const order = await createOrderFixture(pool, {
        customer: { email: 'forged.status@example.com', name: 'Forged Status' },
        items: [{ sku: 'TEA-001', name: 'Longjing tea', quantity: 1, unitPriceCents: 1250 }],
      });
      const reported = (user: 'notify-worker' | 'report-worker') => {
        const messageId = randomUUID();
        const body = {
          messageId,
          type: MessageTypes.orderReportedV1,
          version: 1,
          occurredAt: new Date().toISOString(),
          correlationId: `least-privilege-${order.orderId}`,
          data: { orderId: order.orderId, reportedAt: new Date().toISOString() },
        };
        return {
          exchange: Exchanges.order,
          routingKey: RoutingKeys.orderReported,
          body: Buffer.from(JSON.stringify(body)),
          options: {
            persistent: true,
            contentType: 'application/json',
            messageId,
            type: MessageTypes.orderReportedV1,
            userId: user,
          },
        };
      };
      const orderRow = async () =>
        (
          await pool.query<{ status: string; reported_at: Date | null }>(
            'SELECT status, reported_at FROM orders WHERE id = $1',
            [order.orderId],
          )
        ).rows[0];

      const notifyWorker = await BrokerProbe.connect(urlAs('notify-worker', applied));
      try {
        await notifyWorker.publishBurstConfirmed([reported('notify-worker')]);
      } finally {
        await notifyWorker.close();
      }
      const [parked] = await admin.waitForMessages(Queues.orderStatusDeadLetter, 1, 20_000);
      expect(parked.properties.userId).toBe('order-api');
      expect(parked.properties.headers).toMatchObject({
        [FailureHeaders.lastError]: expect.stringMatching(
          /^FORBIDDEN_PUBLISHER: order.reported.v1 is accepted from report-worker only, not from notify-worker/,
        ),
        'x-original-user-id': 'notify-worker',
      });
      expect(await orderRow()).toEqual({ status: 'placed', reported_at: null });

      const reportWorker = await BrokerProbe.connect(urlAs('report-worker', applied));
      try {
        await reportWorker.publishBurstConfirmed([reported('report-worker')]);
      } finally {
        await reportWorker.close();
      }
      // Unpaid, it stays placed with the step done (completed needs the payment too).
      await waitFor('the order to be reported', async () => (await orderRow()).reported_at !== null);
      expect((await orderRow()).status).toBe('placed');
      expect(await admin.messageCount(Queues.orderStatusDeadLetter)).toBe(0);
    });

    it('order-api takes into its waiting room only the requests it queued itself: a forged one is parked, nothing placed', async () => {
      await admin.purge(Queues.orderRequests, Queues.orderRequestsDeadLetter);
      const api = await start('order-api', { DATABASE_URL: testConfig.databaseUrlOf('order-api') });
      await logsUntil(api, /consuming order_requests/);
      const ticket = randomUUID();
      const body = {
        messageId: ticket,
        type: MessageTypes.orderRequestedV1,
        version: 1,
        occurredAt: new Date().toISOString(),
        correlationId: `least-privilege-${ticket}`,
        data: {
          ticket,
          sequence: 0,
          issuer: 'forger',
          requestedAt: new Date().toISOString(),
          customerId: randomUUID(),
          customer: { email: 'forged.request@example.com', name: 'Forged Request' },
          lines: [{ sku: 'TEA-001', quantity: 1 }],
          idempotencyKey: `forged:${ticket}`,
          requestHash: 'f'.repeat(64),
        },
      };
      // notify-worker may publish to `order` (its status events): the exchange cannot tell the keys apart.
      const notifyWorker = await BrokerProbe.connect(urlAs('notify-worker', applied));
      try {
        await notifyWorker.publishBurstConfirmed([
          {
            exchange: Exchanges.order,
            routingKey: RoutingKeys.orderRequested,
            body: Buffer.from(JSON.stringify(body)),
            options: {
              persistent: true,
              contentType: 'application/json',
              messageId: ticket,
              type: MessageTypes.orderRequestedV1,
              userId: 'notify-worker',
            },
          },
        ]);
      } finally {
        await notifyWorker.close();
      }
      const [parked] = await admin.waitForMessages(Queues.orderRequestsDeadLetter, 1, 20_000);
      expect(parked.properties.headers).toMatchObject({
        [FailureHeaders.lastError]: expect.stringMatching(
          /^FORBIDDEN_PUBLISHER: order_requests takes messages from order-api only/,
        ),
        'x-original-user-id': 'notify-worker',
      });
      const placed = await pool.query('SELECT 1 FROM orders WHERE customer_email = $1', [
        'forged.request@example.com',
      ]);
      expect(placed.rowCount).toBe(0);
    });

    it('report-worker answers only a direct reply-to or an exclusive queue, never a shared queue', async () => {
      await admin.purge(Queues.reportRpc, Queues.orderNotify);
      const report = await start('report-worker', {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        REPORTS_DIR: reportsDir,
      });
      await logsUntil(report, /consuming report_rpc/);
      const request = (replyTo: string, correlationId: string) => ({
        exchange: '',
        routingKey: Queues.reportRpc,
        body: Buffer.from(JSON.stringify({ orderId: randomUUID() })),
        options: {
          contentType: 'application/json',
          messageId: randomUUID(),
          type: MessageTypes.reportRequestV1,
          correlationId,
          replyTo,
          userId: 'order-api',
        },
      });
      const orderApi = await BrokerProbe.connect(urlAs('order-api', applied));
      try {
        // A shared queue: the worker would post its reply into order_notify, a work queue.
        await orderApi.publishBurstConfirmed([request(Queues.orderNotify, 'to-a-shared-queue')]);
        await logsUntil(report, /reply_to order_notify is neither direct reply-to nor an exclusive queue/);
        expect(await admin.messageCount(Queues.orderNotify)).toBe(0);

        // The caller's own exclusive queue (as `npm run report` makes one): answered.
        const { queue } = await admin.channel.assertQueue('', { exclusive: true, autoDelete: true });
        await orderApi.publishBurstConfirmed([request(queue, 'to-an-exclusive-queue')]);
        const [reply] = await admin.waitForMessages(queue, 1, 15_000);
        expect(reply.properties).toMatchObject({
          correlationId: 'to-an-exclusive-queue',
          type: MessageTypes.reportErrorV1,
          userId: 'report-worker',
        });
        expect(JSON.parse(reply.content.toString())).toMatchObject({ code: 'ORDER_NOT_FOUND' });
      } finally {
        await orderApi.close();
      }
      const metrics = await (await fetch(`${report.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/report_rpc_requests_total\{[^}]*outcome="refused"[^}]*\} 1/);
    });

    it('control: the same worker told to declare the topology is refused (so the check above can fail)', async () => {
      // Not startServiceProcess: refused on every connect, this worker reconnects in a loop and its
      // /health answers 503 nearly all the time.
      let output = '';
      const child = spawn(process.execPath, [join(ROOT, 'services/notify-worker/dist/main.js')], {
        env: {
          PATH: process.env.PATH ?? '',
          PORT: String(await freePort()),
          DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
          SMTP_URL: sink.url,
          RABBITMQ_URL: urlAs('notify-worker', applied),
          RABBITMQ_DECLARE_TOPOLOGY: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      try {
        await waitFor(
          'notify-worker to be refused a declaration',
          () =>
            /ACCESS_REFUSED - access to exchange '[^']+' in vhost 'shop_privileges_test' refused for user 'notify-worker'/.test(
              output,
            ),
          { timeoutMs: 15_000 },
        );
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });
  });
});
