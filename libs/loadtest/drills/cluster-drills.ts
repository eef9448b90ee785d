import { Queues } from '@shop/contracts';
import type { LocalCluster } from '@shop/local-cluster';
import { waitFor } from '@shop/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { DRILL_VHOST, type DrillSystem } from './drill-system';
import { everyServiceHealthy, type Drill, type DrillCheck } from './drills';
import { runQueuedSale } from './queued-sale-drill';

const CLUSTER_BACK_TIMEOUT_MS = 120_000;

/**
 * Waits until every node runs, every quorum queue has all its replicas online, and every queue has at
 * least the consumers it had before the drills began (each service has reconnected and consumes again).
 */
async function clusterAndConsumersBack(
  system: DrillSystem,
  cluster: LocalCluster,
  since: number,
): Promise<{ check: DrillCheck; ms?: number }> {
  let missing = 'not checked yet';
  const whole = async () => {
    const down = (await cluster.status()).filter((s) => !s.appRunning).map((s) => s.node.label);
    if (down.length > 0) {
      missing = `nodes down: ${down.join(', ')}`;
      return false;
    }
    const states = await cluster.listQueues(DRILL_VHOST).catch(() => []);
    const lagging = states.filter(
      (q) => q.online.length < q.members.length || q.consumers < (system.consumersAtStart.get(q.name) ?? 0),
    );
    missing = `lagging: ${lagging.map((q) => `${q.name} (${q.consumers} consumers, ${q.online.length}/${q.members.length} replicas)`).join(', ')}`;
    return states.length > 0 && lagging.length === 0;
  };
  try {
    await waitFor('the cluster whole again', whole, { timeoutMs: CLUSTER_BACK_TIMEOUT_MS, intervalMs: 250 });
  } catch {
    return {
      check: {
        ok: false,
        what: `the cluster was not whole again after ${CLUSTER_BACK_TIMEOUT_MS} ms (${missing})`,
      },
    };
  }
  const ms = Date.now() - since;
  return {
    check: {
      ok: true,
      what: `all three nodes, every replica and every consumer back ${ms} ms after the fault began`,
    },
    ms,
  };
}

function clusterOf(system: DrillSystem): LocalCluster {
  if (!system.cluster) throw new Error('a cluster drill needs the system started with --cluster');
  return system.cluster;
}

/**
 * `npm run drill -- --cluster`: faults of a scaled-out deployment, under the same steady load through
 * HAProxy. A node's outage lasts `brokerOutageMs` (--broker-outage-s).
 */
export const CLUSTER_DRILLS: Drill[] = [
  {
    id: 1,
    name: 'RabbitMQ node leading order_notify and order_report SIGKILLed, restarted later',
    async inject({ system, brokerOutageMs, log, markFaultOver, reportBack }) {
      const cluster = clusterOf(system);
      const started = Date.now();
      const leaders = await cluster.queueLeaders(DRILL_VHOST);
      const target = cluster.nodeNamed(leaders.get(Queues.orderNotify)!);
      const alsoReport = leaders.get(Queues.orderReport) === target.name;
      const pid = await cluster.kill(target);
      log(
        `SIGKILL ${target.name} (pid ${pid}), leader of order_notify${alsoReport ? ' and order_report' : ''}; back in ${brokerOutageMs / 1000} s`,
      );
      await sleep(brokerOutageMs);
      await cluster.start(target);
      log(`${target.name} restarted`);
      markFaultOver();
      const back = await clusterAndConsumersBack(system, cluster, started);
      reportBack(back.ms);
      const newLeaders = await cluster.queueLeaders(DRILL_VHOST);
      return [
        {
          ok: true,
          what: `killed ${target.label}, which led order_notify${alsoReport ? ' and order_report' : ` (order_report was led by ${leaders.get(Queues.orderReport)})`}`,
        },
        {
          ok: newLeaders.get(Queues.orderNotify) !== undefined,
          what: `order_notify is led by ${newLeaders.get(Queues.orderNotify)}, order_report by ${newLeaders.get(Queues.orderReport)} now`,
        },
        back.check,
        await everyServiceHealthy(system, 90_000),
      ];
    },
  },
  {
    id: 2,
    name: "one node's RabbitMQ app stopped (stop_app), then started",
    async inject({ system, brokerOutageMs, log, markFaultOver, reportBack }) {
      const cluster = clusterOf(system);
      const started = Date.now();
      const target = cluster.nodeNamed((await cluster.queueLeaders(DRILL_VHOST)).get(Queues.orderReport)!);
      log(`rabbitmqctl -n ${target.name} stop_app (leader of order_report) for ${brokerOutageMs / 1000} s`);
      await cluster.stopApp(target);
      try {
        await sleep(brokerOutageMs);
      } finally {
        await cluster.startApp(target);
        log(`rabbitmqctl -n ${target.name} start_app`);
      }
      markFaultOver();
      const back = await clusterAndConsumersBack(system, cluster, started);
      reportBack(back.ms);
      return [back.check, await everyServiceHealthy(system, 90_000)];
    },
  },
  {
    id: 3,
    name: 'one order-api instance SIGKILLed mid-load (HAProxy routes around it)',
    async inject({ system, live, brokerOutageMs, log, markFaultOver, allowFailures, reportBack }) {
      const [victim, survivor] = system.instancesOf('order-api');
      const started = Date.now();
      // Whatever the load had in flight may have been on the victim: those may fail, nothing else. The
      // load keeps sending until the process is gone, so the most in flight over that moment counts.
      let mostInFlight = live.inFlight ?? 0;
      const sampling = setInterval(() => (mostInFlight = Math.max(mostInFlight, live.inFlight ?? 0)), 2);
      try {
        await system.stopService(victim, 'SIGKILL');
      } finally {
        clearInterval(sampling);
      }
      allowFailures(mostInFlight);
      log(
        `${victim} killed with SIGKILL (at most ${mostInFlight} requests in flight meanwhile); ${survivor} and HAProxy carry on`,
      );
      await sleep(brokerOutageMs);
      await system.startService(victim);
      log(`${victim} restarted`);
      markFaultOver();
      reportBack(Date.now() - started);
      return [
        {
          ok: true,
          what: `${victim} down for ${brokerOutageMs / 1000} s; its outbox rows were the survivor's sweep's to publish`,
        },
        await everyServiceHealthy(system),
      ];
    },
  },
  {
    id: 4,
    name: 'RabbitMQ node leading order_requests SIGKILLed during a queued sale, restarted later',
    inject: ({ system, brokerOutageMs, log, markFaultOver, reportBack }) =>
      runQueuedSale(system, log, async (waiting) => {
        const cluster = clusterOf(system);
        const started = Date.now();
        const leader = (await cluster.queueLeaders(DRILL_VHOST)).get(Queues.orderRequests);
        const target = cluster.nodeNamed(leader!);
        const pid = await cluster.kill(target);
        log(
          `SIGKILL ${target.name} (pid ${pid}), leader of order_requests, with ${waiting.tickets} of ${waiting.of} tickets waiting; back in ${brokerOutageMs / 1000} s`,
        );
        await sleep(brokerOutageMs);
        await cluster.start(target);
        markFaultOver();
        const back = await clusterAndConsumersBack(system, cluster, started);
        reportBack(back.ms);
        return [
          {
            ok: true,
            what: `killed ${target.label}, which led order_requests, with ${waiting.tickets} of ${waiting.of} tickets waiting`,
          },
          back.check,
          await everyServiceHealthy(system, 90_000),
        ];
      }),
  },
];
