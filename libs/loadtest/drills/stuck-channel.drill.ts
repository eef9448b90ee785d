/**
 * `npm run build && npm run drill:stuck-channel`: what a confirm channel gets after a quorum queue's
 * leader is lost, by when the channel first publishes. RabbitMQ 3.10 can nack every publish of a channel
 * for good when its first publish to the queue comes right after the leader's node died (docs/cluster.md,
 * "What a node loss does"); a channel opened later is fine.
 *
 * On the local three-node cluster (brought up and down here unless it already runs): per round, the
 * queue's leader is SIGKILLed, then a plain confirm channel is opened every 50 ms for 3 s on one connection
 * to a survivor, each publishing one message at a time for 8 s. Beside them, in the same round, a
 * RenewingConfirmChannel (what the services publish on), connected before the kill, first publishes at it: its
 * first confirm and renewals are the comparison; the drill exits 1 when it got none in a round.
 * Knobs: DRILL_STUCK_ROUNDS (4).
 */
import { connectToBroker, connectToolToBroker, RenewingConfirmChannel } from '@shop/broker';
import { LocalCluster } from '@shop/local-cluster';
import { connect, type ConfirmChannel } from 'amqplib';
import { formatTable } from '../src/summary';

const ROUNDS = Number(process.env.DRILL_STUCK_ROUNDS ?? 4);
const QUEUE = 'drill.stuck_channel';
const VHOST = '/';
const GUEST = { user: 'guest', password: 'guest', vhost: VHOST };
const OPEN_EVERY_MS = 50;
const OPEN_FOR_MS = 3_000;
const PUBLISH_FOR_MS = 8_000;
const log = (line: string) => console.error(`[drill] ${line}`);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ChannelOutcome {
  openedAtMs: number;
  acks: number;
  nacks: number;
}

/** Publishes one message at a time on `channel` until `untilMs`; a nack waits 20 ms before the next. */
async function publishUntil(
  channel: ConfirmChannel,
  untilMs: number,
  outcome: ChannelOutcome,
): Promise<void> {
  while (Date.now() < untilMs) {
    const acked = await new Promise<boolean>((resolve) =>
      channel.sendToQueue(QUEUE, Buffer.from('x'), {}, (error) => resolve(!error)),
    );
    if (acked) outcome.acks += 1;
    else {
      outcome.nacks += 1;
      await delay(20);
    }
  }
}

async function round(cluster: LocalCluster, index: number): Promise<string[]> {
  const admin = await connectToolToBroker(cluster.url(GUEST), 'drill-stuck-channel-admin');
  const setup = await admin.connection.createChannel();
  await setup.deleteQueue(QUEUE);
  await setup.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await admin.close();
  for (;;) {
    const queue = (await cluster.listQueues(VHOST)).find((listed) => listed.name === QUEUE);
    if (queue?.leader && queue.online.length === cluster.nodes.length) break;
    await delay(200);
  }
  const leader = cluster.nodeNamed((await cluster.queueLeaders(VHOST)).get(QUEUE)!);
  const survivor = cluster.nodes.find((node) => node !== leader)!;
  const survivorUrl = cluster.url(GUEST, [survivor]);
  const connection = await connect(survivorUrl);
  connection.on('error', () => undefined);
  const manager = connectToBroker(survivorUrl, 'drill-stuck-channel-renewing');
  const renewing = new RenewingConfirmChannel(manager, { name: 'drill renewing', publishTimeoutMs: 10_000 });
  await renewing.waitForConnect();

  const pid = (await cluster.status()).find((status) => status.node === leader)?.pid;
  if (pid === undefined) throw new Error(`${leader.label} has no pid`);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');

  let renewingFirstConfirmMs: number | undefined;
  const renewingRun = (async () => {
    while (Date.now() < killedAt + PUBLISH_FOR_MS) {
      try {
        await renewing.publish('', QUEUE, Buffer.from('x'), {});
        renewingFirstConfirmMs ??= Date.now() - killedAt;
      } catch {
        await delay(20);
      }
    }
  })();
  const outcomes: ChannelOutcome[] = [];
  const runs: Promise<void>[] = [];
  while (Date.now() < killedAt + OPEN_FOR_MS) {
    const outcome: ChannelOutcome = { openedAtMs: Date.now() - killedAt, acks: 0, nacks: 0 };
    outcomes.push(outcome);
    runs.push(
      connection.createConfirmChannel().then(async (channel) => {
        await publishUntil(channel, killedAt + outcome.openedAtMs + PUBLISH_FOR_MS, outcome);
        await channel.close().catch(() => undefined);
      }),
    );
    await delay(OPEN_EVERY_MS);
  }
  await Promise.all([...runs, renewingRun]);
  await renewing.close();
  await manager.close();
  await connection.close().catch(() => undefined);
  await cluster.start(leader);

  const stuck = outcomes.filter((outcome) => outcome.acks === 0);
  const fine = outcomes.filter((outcome) => outcome.acks > 0);
  const lastStuck =
    stuck.length > 0 ? `${(Math.max(...stuck.map((o) => o.openedAtMs)) / 1000).toFixed(2)} s` : '-';
  log(`round ${index}: ${leader.label} killed; ${stuck.length} of ${outcomes.length} channels never acked`);
  return [
    String(index),
    `${stuck.length} / ${outcomes.length}`,
    lastStuck,
    stuck.length > 0 ? String(Math.round(stuck.reduce((sum, o) => sum + o.nacks, 0) / stuck.length)) : '-',
    fine.length > 0 ? String(Math.min(...fine.map((o) => o.nacks))) : '-',
    renewingFirstConfirmMs === undefined ? 'none' : `${(renewingFirstConfirmMs / 1000).toFixed(2)} s`,
    String(renewing.renewals),
  ];
}

async function main(): Promise<void> {
  const cluster = new LocalCluster({ log });
  const wasUp = (await cluster.status()).every((status) => status.appRunning);
  if (!wasUp) await cluster.up();
  try {
    const rows: string[][] = [];
    for (let index = 1; index <= ROUNDS; index++) rows.push(await round(cluster, index));
    // The check: the channel the services publish on was confirmed again in every round.
    const unconfirmed = rows.filter((row) => row[5] === 'none').map((row) => row[0]);
    if (unconfirmed.length > 0) {
      process.exitCode = 1;
      log(`FAIL: the RenewingConfirmChannel got no confirm in round(s) ${unconfirmed.join(', ')}`);
    }
    console.log(
      `\nPlain confirm channels opened every ${OPEN_EVERY_MS} ms for ${OPEN_FOR_MS / 1000} s after the leader's SIGKILL, ` +
        `each publishing for ${PUBLISH_FOR_MS / 1000} s; a RenewingConfirmChannel beside them from the kill on:\n`,
    );
    console.log(
      formatTable(
        [
          'round',
          'plain never acked',
          'last of them opened',
          'their nacks each',
          'nacks on the others (min)',
          'renewing: first confirm',
          'renewals',
        ],
        rows,
      ),
    );
  } finally {
    await (async () => {
      const admin = await connectToolToBroker(cluster.url(GUEST), 'drill-stuck-channel-admin');
      await (await admin.connection.createChannel()).deleteQueue(QUEUE);
      await admin.close();
    })().catch(() => undefined);
    if (!wasUp) await cluster.down();
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
