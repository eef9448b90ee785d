// `npm run rabbitmq:cluster -- up|down|status`: a three-node RabbitMQ cluster on this host, beside the
// machine's broker (which it never touches), for `npm start -- --cluster`, the cluster drill and bench.
// `up` starts the nodes (AMQP 5681-5683), joins them, and imports the cluster topology (quorum queues on
// three nodes) with the service users into the vhost `shop`; `down` stops them and deletes var/rabbitmq-cluster.
import { CLUSTER_TOPOLOGY } from '@shop/contracts';
import { LocalCluster } from '@shop/local-cluster';
import { RABBITMQ_VHOST } from '@shop/contracts';
import { applyLocalDefinitions } from '@shop/local-cluster';

const USAGE = 'usage: npm run rabbitmq:cluster -- up|down|status';

async function up(cluster: LocalCluster): Promise<void> {
  const started = Date.now();
  await cluster.up();
  const applied = await applyLocalDefinitions({
    topology: CLUSTER_TOPOLOGY,
    rabbitmqctl: (args, input) => cluster.ctl(cluster.nodes[0], args, { input }),
  });
  console.log(
    `cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cluster.nodes.map((n) => n.name).join(', ')}`,
  );
  console.log(
    `  vhost "${applied.vhost}": ${applied.exchanges} exchanges, ${applied.queues} queues (all quorum, replicated on the three nodes), ${applied.bindings} bindings`,
  );
  for (const user of applied.users) {
    console.log(`  user ${user.name.padEnd(14)} password from ${user.passwordSource}`);
  }
  console.log(`  RABBITMQ_URL=${cluster.url({ user: 'guest', password: 'guest', vhost: applied.vhost })}`);
  console.log('  services on it run with RABBITMQ_DECLARE_TOPOLOGY=false (the queues come from the import)');
}

async function status(cluster: LocalCluster): Promise<boolean> {
  const statuses = await cluster.status();
  for (const { node, running, pid, appRunning } of statuses) {
    const state = !running ? 'down' : appRunning ? `running (pid ${pid})` : `VM up, app stopped (pid ${pid})`;
    console.log(`${node.label}  ${node.name.padEnd(24)} amqp 127.0.0.1:${node.amqpPort}  ${state}`);
  }
  if (!statuses.some((s) => s.appRunning)) {
    console.log('no node is running: npm run rabbitmq:cluster -- up');
    return false;
  }
  const leaders = await cluster.queueLeaders(RABBITMQ_VHOST).catch(() => new Map<string, string>());
  const byNode = new Map<string, string[]>();
  for (const [queue, leader] of leaders) byNode.set(leader, [...(byNode.get(leader) ?? []), queue]);
  for (const [leader, queues] of byNode)
    console.log(`  ${leader} leads ${queues.length}: ${queues.join(' ')}`);
  return statuses.every((s) => s.appRunning);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (rest.length > 0) throw new Error(`unexpected ${rest.join(' ')}; ${USAGE}`);
  const cluster = new LocalCluster({ log: (line) => console.log(line) });
  if (command === 'up') await up(cluster);
  else if (command === 'down') {
    await cluster.down();
    console.log(`cluster down; removed ${cluster.dir}`);
  } else if (command === 'status') process.exitCode = (await status(cluster)) ? 0 : 3;
  else throw new Error(USAGE);
}

main().catch((error: Error) => {
  console.error(`rabbitmq:cluster: ${error.message}`);
  process.exit(1);
});
