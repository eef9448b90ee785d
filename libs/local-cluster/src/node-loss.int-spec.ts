import { connectToBroker, connectToolToBroker, RenewingConfirmChannel } from '@shop/broker';
import { waitFor } from '@shop/testing';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { readFileSync } from 'node:fs';
import { LocalCluster } from './local-cluster';

const QUEUE = 'node_loss_spec';
const VHOST = '/';
const MESSAGES = 3_000;
const KILL_AFTER_CONFIRMED = 600;
const MAX_IN_FLIGHT = 50;
const PUBLISH_TIMEOUT_MS = 10_000;
/** The whole stream must be confirmed by then, or the spec fails saying how far it got. */
const PUBLISHING_DEADLINE_MS = 120_000;

/**
 * A quorum queue on the local three-node cluster, a publisher with confirms and a consumer with manual
 * acks, both connected to the node that leads the queue. That node is SIGKILLed mid-stream: both must
 * fail over to another node, confirms and deliveries must resume, and every confirmed message must
 * arrive. Messages the publisher had not had confirmed are published again (as the outbox relay does),
 * so duplicates are allowed and counted; losses are not.
 */
describe('the local RabbitMQ cluster loses the node under a publisher and a consumer', () => {
  const specStarted = Date.now();
  // Each start-up step with its time, so a slow or stuck start says where it was.
  const cluster = new LocalCluster({
    log: (line) =>
      console.log(`node-loss cluster +${((Date.now() - specStarted) / 1000).toFixed(1)} s: ${line}`),
  });
  const [first, second, third] = cluster.nodes;
  const guest = { user: 'guest', password: 'guest', vhost: VHOST };
  let clusterWasUp = false;
  let publisher: AmqpConnectionManager;
  let consumer: AmqpConnectionManager;
  let publishing: RenewingConfirmChannel;
  let consuming: ChannelWrapper;
  const confirmedAt = new Map<number, number>();
  const deliveredAt = new Map<number, number>();
  let deliveries = 0;
  const connectedTo = { publisher: [] as string[], consumer: [] as string[] };
  const connectedAt = { publisher: [] as number[], consumer: [] as number[] };

  beforeAll(async () => {
    clusterWasUp = (await cluster.status()).every((status) => status.appRunning);
    if (!clusterWasUp) await cluster.up();
    const admin = await connectToolToBroker(cluster.url(guest, [first]), 'node-loss-spec-admin');
    const channel = await admin.connection.createChannel();
    await channel.deleteQueue(QUEUE);
    await channel.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await admin.close();
    // A replica that did not start (a node just joined, a starved machine) would leave the queue without a
    // majority once the leader dies, and the broker would nack every publish: the kill must find all three.
    let replicas = 'not listed yet';
    await waitFor(
      `${QUEUE} replicated and up on the three nodes`,
      async () => {
        const queue = (await cluster.listQueues(VHOST, first)).find((listed) => listed.name === QUEUE);
        replicas = `members ${queue?.members.join(', ')}; online ${queue?.online.join(', ')}`;
        return cluster.nodes.every((node) => queue?.online.includes(node.name));
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${replicas}`);
    });
    // Bounded by the steps' own limits (each node's boot, the joins, the replicas): 90 + 90 + 60 s at most
    // on a starved machine, where three Erlang VMs boot on two busy cores; quiet, it takes about 25 s.
  }, 300_000);

  afterAll(async () => {
    await consuming?.close().catch(() => undefined);
    await publishing?.close().catch(() => undefined);
    await consumer?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    if (!(await cluster.status())[0].running) await cluster.start(first);
    const admin = await connectToolToBroker(cluster.url(guest), 'node-loss-spec-admin');
    await (await admin.connection.createChannel()).deleteQueue(QUEUE).catch(() => undefined);
    await admin.close();
    if (!clusterWasUp) await cluster.down();
  }, 180_000);

  // Its bound: the publishing deadline, then the stall report (a listing and a probe, 60 s at most) or the
  // deliveries (60 s).
  it('fails over, resumes confirms and deliveries, and loses no confirmed message', async () => {
    const leader = cluster.nodeNamed((await cluster.queueLeaders(VHOST)).get(QUEUE)!);
    expect(leader).toBe(first);
    // The leader first in both lists, so both connect to it; the others are where they fail over to.
    const nodeList = cluster.url(guest, [first, second, third]);

    consumer = connectToBroker(nodeList, 'node-loss-spec-consumer', { reconnectTimeInSeconds: 0.5 });
    consumer.on('connect', ({ url }) => {
      connectedTo.consumer.push(portOf(url));
      connectedAt.consumer.push(Date.now());
    });
    consuming = consumer.createChannel({
      setup: async (channel: ConfirmChannel) => {
        await channel.prefetch(100);
        await channel.consume(QUEUE, (message) => {
          if (!message) return;
          const id = Number(message.content.toString());
          deliveries += 1;
          if (!deliveredAt.has(id)) deliveredAt.set(id, Date.now());
          channel.ack(message);
        });
      },
    });

    // Back within 0.1 s: inside the first ~0.3 s after the kill, when a new channel's first publish meets
    // the lost leader and RabbitMQ 3.10 nacks it for good, so the renewal below is often exercised (1 run in 3).
    publisher = connectToBroker(nodeList, 'node-loss-spec-publisher', { reconnectTimeInSeconds: 0.1 });
    publisher.on('connect', ({ url }) => {
      connectedTo.publisher.push(portOf(url));
      connectedAt.publisher.push(Date.now());
    });
    // A publish whose confirm has not come within 10 s counts as unconfirmed and is published again,
    // as the outbox relay does: the broker may or may not have it, so a duplicate is allowed, a loss not.
    // As the services' publishers do: a channel the broker nacks everything on is replaced (RabbitMQ 3.10
    // can leave a channel that first published while the leader's node was just lost nacking for good).
    publishing = new RenewingConfirmChannel(publisher, {
      name: 'node-loss-spec-publisher',
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
    });
    await publishing.waitForConnect();
    await consuming.waitForConnect();

    let killedAt = 0;
    let republished = 0;
    /** Why publishes failed, by error message, for the failure report. */
    const publishErrors = new Map<string, number>();
    const publishUntilConfirmed = async (id: number): Promise<void> => {
      for (;;) {
        try {
          await publishing.publish('', QUEUE, Buffer.from(String(id)), {
            persistent: true,
            messageId: String(id),
          });
          confirmedAt.set(id, Date.now());
          return;
        } catch (error) {
          // Nacked or the connection was lost before the confirm: the broker may or may not have it.
          republished += 1;
          const reason = (error as Error).message;
          publishErrors.set(reason, (publishErrors.get(reason) ?? 0) + 1);
          await publishing.waitForConnect(); // on the next node, or the next channel
        }
      }
    };
    const inFlight = new Set<Promise<void>>();
    const publishEverything = async () => {
      for (let id = 0; id < MESSAGES; id++) {
        if (killedAt === 0 && confirmedAt.size >= KILL_AFTER_CONFIRMED) {
          killedAt = Date.now();
          await cluster.kill(first);
        }
        const sending = publishUntilConfirmed(id).finally(() => inFlight.delete(sending));
        inFlight.add(sending);
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    };
    /** What a stalled stream looked like: the counts, the publish errors, and the queue as a survivor sees it. */
    const stallReport = async () => {
      const lastConfirm = Math.max(...confirmedAt.values());
      const queue = await cluster
        .listQueues(VHOST, second)
        .then((queues) => JSON.stringify(queues.find((listed) => listed.name === QUEUE)))
        .catch((error: Error) => `not listed: ${error.message}`);
      // Is it this channel, or the node? One publish on a new connection to the publisher's node.
      const publisherNode = cluster.nodes.find(
        (node) => String(node.amqpPort) === connectedTo.publisher.at(-1),
      );
      const probe = await probePublish(cluster.url(guest, publisherNode ? [publisherNode] : [second]));
      // What the survivors said about the queue or went wrong with: the afterAll's `down()` deletes their logs.
      const survivorLogs = [second, third]
        .map((node) => {
          const lines = readFileSync(cluster.logFileOf(node), 'utf8')
            .split('\n')
            .filter((line) => line.includes(QUEUE) || /\[(error|warning)\]/.test(line));
          return `${node.label}'s log:\n${lines.slice(-30).join('\n')}`;
        })
        .join('\n');
      return (
        `not every message confirmed after ${PUBLISHING_DEADLINE_MS} ms: ${confirmedAt.size} confirmed ` +
        `(the last ${Date.now() - lastConfirm} ms ago, ${lastConfirm - killedAt} ms after the kill), ` +
        `${inFlight.size} in flight, ${republished} re-publishes, ${publishing.renewals} channel renewals, ` +
        `publisher connected to ${connectedTo.publisher.join(' → ')}; ` +
        `publish errors: ${JSON.stringify(Object.fromEntries(publishErrors))}; queue: ${queue}; ` +
        `one publish on a new connection to ${publisherNode?.label}: ${probe}\n${survivorLogs}`
      );
    };
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      publishEverything(),
      new Promise((_, reject) => {
        deadline = setTimeout(
          () => void stallReport().then((report) => reject(new Error(report))),
          PUBLISHING_DEADLINE_MS,
        );
      }),
    ]).finally(() => clearTimeout(deadline));
    await waitFor(
      'every confirmed message delivered',
      () => [...confirmedAt.keys()].every((id) => deliveredAt.has(id)),
      {
        timeoutMs: 60_000,
      },
    );

    const lost = [...confirmedAt.keys()].filter((id) => !deliveredAt.has(id));
    // Resumed: the first confirm / delivery on the connection to the surviving node.
    const [publisherBack, consumerBack] = [connectedAt.publisher[1], connectedAt.consumer[1]];
    const firstConfirmAfter = Math.min(...[...confirmedAt.values()].filter((at) => at >= publisherBack));
    const firstDeliveryAfter = Math.min(...[...deliveredAt.values()].filter((at) => at >= consumerBack));
    console.log(
      `node-loss: ${confirmedAt.size} confirmed, ${lost.length} lost, ${deliveries - deliveredAt.size} duplicate deliveries, ` +
        `${republished} re-publishes, ${publishing.renewals} channel renewals; after the kill the publisher reconnected in ${publisherBack - killedAt} ms ` +
        `(${connectedTo.publisher.join(' → ')}) first confirm at ${firstConfirmAfter - killedAt} ms; ` +
        `the consumer reconnected in ${consumerBack - killedAt} ms (${connectedTo.consumer.join(' → ')}), ` +
        `first delivery at ${firstDeliveryAfter - killedAt} ms`,
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    expect(confirmedAt.size).toBe(MESSAGES);
    // Both really were on the killed node, and moved to another.
    expect(connectedTo.publisher[0]).toBe(String(first.amqpPort));
    expect(connectedTo.consumer[0]).toBe(String(first.amqpPort));
    expect(connectedTo.publisher.slice(1)).not.toContain(String(first.amqpPort));
    expect(connectedTo.publisher.length).toBeGreaterThan(1);
    expect(connectedTo.consumer.length).toBeGreaterThan(1);
    expect(Number.isFinite(firstConfirmAfter) && Number.isFinite(firstDeliveryAfter)).toBe(true);
    // The queue has a new leader among the survivors.
    const newLeader = (await cluster.queueLeaders(VHOST, second)).get(QUEUE);
    expect([second.name, third.name]).toContain(newLeader);
  }, 250_000);
});

/** One confirmed publish of a probe (the consumer counts it as a delivery of no id): 'acked', 'nacked' or why not. */
async function probePublish(url: string): Promise<string> {
  try {
    const tool = await connectToolToBroker(url, 'node-loss-spec-probe');
    try {
      const channel = await tool.connection.createConfirmChannel();
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('no confirm in 10 s'), 10_000);
        channel.sendToQueue(QUEUE, Buffer.from('probe'), { persistent: true }, (error) => {
          clearTimeout(timer);
          resolve(error ? 'nacked' : 'acked');
        });
      });
      return outcome;
    } finally {
      await tool.close();
    }
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}

function portOf(url: unknown): string {
  const text = typeof url === 'string' ? url : String((url as { url?: string })?.url ?? url);
  return new URL(text).port;
}
