import { FailureHeaders, jsonMessageProperties, Queues, SANDBOX_CARDS } from '@shop/contracts';
import { closeBrokerConnections, startBrokerApp, stopBrokerApp } from '@shop/testing';
import { connectToolToBroker } from '@shop/broker';
import { Customers, type ActingCustomer } from '../src/customer-actions';
import { DRILL_PAYMENT_WINDOW_MS, DRILL_VHOST, type DrillSystem, type ServiceName } from './drill-system';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveLoad } from './steady-load';
import { queuedSaleDrill } from './queued-sale-drill';

/** Something a drill checked beyond "nothing lost, nothing duplicated". */
export interface DrillCheck {
  ok: boolean;
  what: string;
}

export interface DrillContext {
  system: DrillSystem;
  /** Orders accepted so far by the load running during the drill, and requests in flight now. */
  live: LiveLoad;
  brokerOutageMs: number;
  log: (line: string) => void;
  /** Call when the fault itself is over (recovery is timed from here); defaults to when inject returns. */
  markFaultOver: () => void;
  /**
   * How many requests may fail (5xx, dropped) during the fault: 0 unless the drill says so, e.g. the
   * requests in flight on an instance it killed. Only cluster drills are judged by it.
   */
  allowFailures: (count: number) => void;
  /** How long until the cluster and every consumer were back (cluster drills), for the summary table. */
  reportBack: (ms: number | undefined) => void;
  /** Settles when the steady load has placed (or given up on) every order. */
  loadDone: Promise<unknown>;
  /** The drill's product. */
  sku: string;
  /** Payment ids order-api accepted (202): a lifecycle drill settles once the payment service decided each. */
  awaitPayments: (paymentIds: readonly string[]) => void;
}

export interface Drill {
  id: number;
  name: string;
  /**
   * A worker killed once the SMTP server has an email and before the database row recording it commits
   * cannot know the email went out; its redelivery sends it again with the same Message-ID, and the mailbox drops the
   * copy. No other fault may make the worker send twice.
   */
  mayResendEmails?: boolean;
  /** Injects the fault while the load runs and returns once the fault itself is over. */
  inject(context: DrillContext): Promise<DrillCheck[]>;
  /** order-api's own settings for this drill (a short PAYMENT_WINDOW_MS); the others run without. */
  orderApiEnv?: Record<string, string>;
  /** The load lasts at least this long (a lower rate when --orders / --rate would be quicker). */
  minLoadMs?: number;
  /**
   * A lifecycle drill: the runner waits until every order is settled (paid and completed, expired,
   * cancelled) and checks the lifecycle invariants on top; `afterSettled` adds the drill's own checks.
   */
  afterSettled?: (context: SettledContext) => Promise<DrillCheck[]>;
}

/** What a lifecycle drill's own checks read once every order has settled. */
export interface SettledContext {
  system: DrillSystem;
  audit: import('../src/lifecycle-audit').LifecycleAudit;
}

const SERVICES: ServiceName[] = ['order-api', 'notify-worker', 'report-worker', 'payment'];

const SHORT_WINDOW = { PAYMENT_WINDOW_MS: String(DRILL_PAYMENT_WINDOW_MS) };

/** Whether an order of `sku` has expired yet (a deadline has fallen due). */
async function anyExpired(system: DrillSystem, sku: string): Promise<boolean> {
  const { rowCount } = await system.pool.query(
    `SELECT 1 FROM order_api.orders o JOIN order_api.order_items i ON i.order_id = o.id
      WHERE i.sku = $1 AND o.status = 'expired' LIMIT 1`,
    [sku],
  );
  return (rowCount ?? 0) > 0;
}

/** Waits until every service answers GET /health 200 (they reconnect by themselves). */
export async function everyServiceHealthy(system: DrillSystem, timeoutMs = 60_000): Promise<DrillCheck> {
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      [...system.services.values()].map((service) =>
        fetch(`${service.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) })
          .then((r) => r.status)
          .catch(() => 0),
      ),
    );
    if (answers.every((status) => status === 200)) {
      return { ok: true, what: `every service healthy again by itself (${Date.now() - started} ms)` };
    }
    await sleep(200);
  }
  return { ok: false, what: `services still unhealthy after ${timeoutMs} ms` };
}

export const DRILLS: Drill[] = [
  {
    id: 1,
    name: 'all broker connections closed',
    async inject({ system, markFaultOver }) {
      await closeBrokerConnections(DRILL_VHOST, 'drill: every connection closed');
      markFaultOver();
      return [await everyServiceHealthy(system)];
    },
  },
  {
    id: 2,
    name: 'broker application stopped',
    async inject({ system, live, brokerOutageMs, log, markFaultOver }) {
      const acceptedBefore = live.accepted;
      let acceptedDuring = 0;
      await withBrokerStopped(brokerOutageMs, log, () => (acceptedDuring = live.accepted - acceptedBefore));
      markFaultOver();
      return [
        {
          ok: acceptedDuring > 0,
          what: `order-api kept answering 201 while the broker was down (${acceptedDuring} orders in the outbox)`,
        },
        await everyServiceHealthy(system, 90_000),
      ];
    },
  },
  {
    id: 3,
    name: 'worker killed (SIGKILL) mid-batch and restarted',
    mayResendEmails: true,
    async inject({ system, log }) {
      const checks: DrillCheck[] = [];
      for (const name of ['report-worker', 'notify-worker'] as const) {
        await system.stopService(name, 'SIGKILL');
        log(`${name} killed with SIGKILL`);
        await sleep(1_000);
        await system.startService(name);
        checks.push({ ok: true, what: `${name} restarted after SIGKILL` });
      }
      return checks;
    },
  },
  {
    id: 4,
    name: 'PostgreSQL connections terminated',
    async inject({ system, log, markFaultOver }) {
      for (let round = 0; round < 2; round++) {
        const { rowCount } = await system.pool.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        log(`pg_terminate_backend: ${rowCount} connections`);
        await sleep(500);
      }
      markFaultOver();
      return [await everyServiceHealthy(system)];
    },
  },
  {
    id: 5,
    name: 'poison messages in every work queue',
    async inject({ system }) {
      const { connection } = await connectToolToBroker(system.rabbitmqUrl, 'drill-poison');
      try {
        const channel = await connection.createConfirmChannel();
        const poison = [
          { why: 'invalid JSON', body: Buffer.from('{"orderId": '), type: 'order.placed.v1' },
          {
            why: 'wrong schema',
            body: Buffer.from(JSON.stringify({ hello: 'world' })),
            type: 'order.placed.v1',
          },
          {
            why: 'unknown type',
            body: Buffer.from(JSON.stringify({ messageId: 'x' })),
            type: 'order.cancelled.v9',
          },
        ];
        for (const queue of [Queues.orderNotify, Queues.orderReport]) {
          for (const { body, type, why } of poison) {
            // Well-formed properties: the poison is in the body (and the type), as a buggy publisher's would be.
            channel.sendToQueue(
              queue,
              body,
              jsonMessageProperties({
                messageId: `poison-${why.replace(/ /g, '-')}`,
                type,
                occurredAt: new Date(),
                appId: 'drill',
              }),
            );
          }
        }
        await channel.waitForConfirms();
        const checks: DrillCheck[] = [];
        for (const deadLetters of [Queues.orderNotifyDeadLetter, Queues.orderReportDeadLetter]) {
          const parked = await takeParked(channel, deadLetters, poison.length, 30_000);
          checks.push({
            ok: parked.length === poison.length && parked.every((reason) => reason === 'invalid-message'),
            what: `${deadLetters}: ${parked.length}/${poison.length} poison messages parked (${parked.join(', ') || 'none'})`,
          });
        }
        await channel.close();
        return checks;
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
  },
  {
    id: 6,
    name: 'SIGTERM to each service under load',
    async inject({ system, log }) {
      const checks: DrillCheck[] = [];
      const retriesBefore = system.retriesSoFar();
      for (const name of SERVICES) {
        const ms = await system.stopService(name, 'SIGTERM');
        log(`${name} stopped on SIGTERM in ${ms} ms`);
        checks.push({ ok: ms < 10_000, what: `${name} stopped in ${ms} ms (limit 10,000)` });
        await system.startService(name);
      }
      // A graceful stop finishes what the worker holds: nothing may fail into a retry queue.
      const retries = system.retriesSoFar() - retriesBefore;
      checks.push({ ok: retries === 0, what: `${retries} messages sent to a retry queue by the stops` });
      return checks;
    },
  },
  paymentOutageDrill(),
  queuedSaleDrill(),
  {
    id: 8,
    name: 'broker stopped while deadlines fall due',
    orderApiEnv: SHORT_WINDOW,
    async inject({ system, live, brokerOutageMs, log, markFaultOver }) {
      // Down past the deadlines of the orders placed so far: they fall due with no broker to fire them.
      const outageMs = Math.max(brokerOutageMs, DRILL_PAYMENT_WINDOW_MS + 5_000);
      const acceptedBefore = live.accepted;
      log(`deadlines of ${DRILL_PAYMENT_WINDOW_MS / 1000} s fall due while the broker is down`);
      await withBrokerStopped(outageMs, log);
      markFaultOver();
      return [
        {
          ok: acceptedBefore > 0,
          what: `${acceptedBefore} orders placed before the broker stopped, their deadlines due during the outage`,
        },
        await everyServiceHealthy(system, 90_000),
      ];
    },
    async afterSettled({ audit, system }) {
      const expired = audit.orders.filter((o) => o.status === 'expired');
      const late = expired.filter((o) => Date.parse(o.expiredAt!) - Date.parse(o.payBy) > 1_000);
      const early = expired.filter((o) => Date.parse(o.expiredAt!) < Date.parse(o.payBy));
      const emails = system.emailsByOrderAndKind();
      const expiredEmails = expired.map((o) => emails.get(o.id)?.expired ?? 0);
      return [
        {
          ok: expired.length === audit.orders.length,
          what: `${expired.length} of ${audit.orders.length} unpaid orders expired`,
        },
        { ok: late.length > 0, what: `${late.length} expired late, after the broker came back (never lost)` },
        { ok: early.length === 0, what: `${early.length} expired before their payBy` },
        {
          ok: expiredEmails.every((n) => n === 1),
          what: `one "expired" email each (${expiredEmails.filter((n) => n > 1).length} orders got more, ${expiredEmails.filter((n) => n === 0).length} none)`,
        },
      ];
    },
  },
];

/**
 * The payment service stopped right after the sale's first orders, while customers pay every other
 * order (their requests wait in payment_requests), kept down until a deadline has passed, then started
 * again: each paid order ends paid and completed, or expired with its late charge refunded.
 */
function paymentOutageDrill(): Drill {
  // The orders whose customer's payment order-api accepted while the payment service was down.
  const paidDuringOutage = new Set<string>();
  return {
    id: 7,
    name: 'payment service down during a sale',
    orderApiEnv: SHORT_WINDOW,
    // Orders keep coming past the first deadline and the payment service's start: some are paid in time.
    minLoadMs: DRILL_PAYMENT_WINDOW_MS + 6_000,
    async inject({ system, live, log, markFaultOver, loadDone, sku, awaitPayments }) {
      const checks: DrillCheck[] = [];
      paidDuringOutage.clear();
      await system.stopService('payment', 'SIGTERM');
      let restarted = false;
      try {
        log(`payment stopped; customers pay every other order (window ${DRILL_PAYMENT_WINDOW_MS / 1000} s)`);
        const customers = new Customers(system.apiUrl);
        const answers = new Map<string, string>();
        const paying: Promise<void>[] = [];
        let seen = 0;
        const payNewOrders = () => {
          for (const order of (live.orders ?? []).slice(seen)) {
            // Every other order's customer pays; the rest never do.
            if (seen++ % 2 === 1) continue;
            const customer: ActingCustomer = { ...order, action: 'pay' };
            paying.push(
              customers.pay(customer, SANDBOX_CARDS.succeeds).then((answer) => {
                answers.set(order.orderId, answer);
                if (answer === '202') paidDuringOutage.add(order.orderId);
              }),
            );
          }
        };
        let loading = true;
        void loadDone.finally(() => (loading = false));
        // Down until the first deadline has passed (those charges will succeed late and be refunded);
        // the orders placed since still have time to be paid once it is back.
        const giveUpAt = Date.now() + DRILL_PAYMENT_WINDOW_MS + 30_000;
        let expired = false;
        while (!expired && Date.now() < giveUpAt) {
          payNewOrders();
          expired = await anyExpired(system, sku);
          if (!expired) await sleep(100);
        }
        await Promise.all(paying);
        const waiting = (await system.queueDepths([Queues.paymentRequests]))[Queues.paymentRequests];
        checks.push(
          { ok: expired, what: 'a deadline fell due while the payment service was down' },
          { ok: waiting > 0, what: `${waiting} payment requests waited in ${Queues.paymentRequests}` },
        );
        await system.startService('payment');
        restarted = true;
        log('payment started again; customers go on paying until the load ends');
        markFaultOver();
        while (loading) {
          payNewOrders();
          await sleep(100);
        }
        payNewOrders();
        await Promise.all(paying);
        awaitPayments(customers.acceptedPaymentIds);
        await customers.close();
        checks.push({
          ok: [...answers.values()].every((a) => a === '202' || a === '409 ORDER_NOT_PAYABLE'),
          what: `customers' payments: ${describeAnswers([...answers.values()])}`,
        });
      } finally {
        // Started again whatever happened: the checks wait for every payment to be decided.
        if (!restarted) await system.startService('payment');
      }
      checks.push(await everyServiceHealthy(system));
      return checks;
    },
    async afterSettled({ audit }) {
      const statusOf = new Map(audit.orders.map((order) => [order.id, order]));
      const paid = [...paidDuringOutage].map((id) => statusOf.get(id));
      const completed = paid.filter((o) => o?.status === 'completed').length;
      const refunded = paid.filter((o) => o?.status === 'expired' && o.refundedAt).length;
      const unpaid = audit.orders.filter((o) => !paidDuringOutage.has(o.id));
      return [
        {
          ok: completed + refunded === paid.length && refunded > 0 && completed > 0,
          what: `of ${paid.length} orders paid for: ${completed} paid and completed on recovery, ${refunded} expired first and their late charge refunded`,
        },
        {
          ok: unpaid.every((o) => o.status === 'expired'),
          what: `${unpaid.filter((o) => o.status === 'expired').length} of ${unpaid.length} orders nobody paid expired`,
        },
      ];
    },
  };
}

/**
 * Stops the local broker's application for `outageMs`, calls `beforeRestart`, and always starts it again:
 * the broker is shared by everything on this machine.
 */
async function withBrokerStopped(
  outageMs: number,
  log: (line: string) => void,
  beforeRestart: () => void = () => undefined,
): Promise<void> {
  log(`rabbitmqctl stop_app for ${outageMs / 1000} s`);
  await stopBrokerApp();
  try {
    await sleep(outageMs);
    beforeRestart();
  } finally {
    await startBrokerApp();
    log('rabbitmqctl start_app: broker back');
  }
}

/** `202 ×40, 409 ORDER_NOT_PAYABLE ×2` */
function describeAnswers(answers: string[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) counts.set(answer, (counts.get(answer) ?? 0) + 1);
  return [...counts].map(([answer, n]) => `${answer} ×${n}`).join(', ') || 'none';
}

/** Takes (acks) up to `count` messages from a dead-letter queue, returning each one's parking reason. */
async function takeParked(
  channel: import('amqplib').Channel,
  queue: string,
  count: number,
  timeoutMs: number,
): Promise<string[]> {
  const reasons: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (reasons.length < count && Date.now() < deadline) {
    const message = await channel.get(queue, { noAck: false });
    if (!message) {
      await sleep(200);
      continue;
    }
    reasons.push(String(message.properties.headers?.[FailureHeaders.deadLetterReason] ?? 'no reason'));
    channel.ack(message);
  }
  return reasons;
}
