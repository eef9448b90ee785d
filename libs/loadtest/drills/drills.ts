import { FailureHeaders, jsonMessageProperties, Queues } from '@shop/contracts';
import { closeBrokerConnections, startBrokerApp, stopBrokerApp } from '@shop/testing';
import { connectToolToBroker } from '@shop/broker';
import { DRILL_VHOST, type DrillSystem, type ServiceName } from './drill-system';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveLoad } from './steady-load';

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
}

const SERVICES: ServiceName[] = ['order-api', 'notify-worker', 'report-worker'];

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
      log(`rabbitmqctl stop_app for ${brokerOutageMs / 1000} s`);
      await stopBrokerApp();
      let acceptedDuring = 0;
      try {
        await sleep(brokerOutageMs);
        acceptedDuring = live.accepted - acceptedBefore;
      } finally {
        // The broker is shared by everything on this machine: it is always restarted.
        await startBrokerApp();
        log('rabbitmqctl start_app: broker back');
      }
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
];

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
