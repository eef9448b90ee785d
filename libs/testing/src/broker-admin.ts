import { connectToolToBroker } from '@shop/broker';
import { ensureLocalSecretFile } from '@shop/config';
import { localPasswordFile, SERVICE_USERS, type ServiceUserName, type Topology } from '@shop/contracts';
import type { Channel } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { testConfig } from './test-config';

const ROOT = join(__dirname, '../../..');

/**
 * The test broker's URL (or `rabbitmqUrl`, one node or several) as a service's own RabbitMQ user, which
 * the integration set-up and ensureVhostExists provision (`npm run rabbitmq:apply-local --
 * --services-may-declare`) with the password `npm start` uses too (its variable, else var/secrets). For
 * specs, benches and drills whose services publish status events: order-api accepts one only from the
 * worker that owns the step.
 */
export function testRabbitmqUrlAs(user: ServiceUserName, rabbitmqUrl = testConfig.rabbitmqUrl): string {
  const { passwordVariable } = SERVICE_USERS.find((candidate) => candidate.name === user)!;
  const password =
    process.env[passwordVariable]?.trim() ||
    ensureLocalSecretFile(join(ROOT, 'var/secrets'), localPasswordFile(passwordVariable)).value;
  return rabbitmqUrl
    .split(',')
    .map((node) => {
      const url = new URL(node.trim());
      url.username = encodeURIComponent(user);
      url.password = encodeURIComponent(password);
      return url.toString();
    })
    .join(',');
}

/**
 * Gives the test vhost the queue limit policies and the service users through the same import `npm start`
 * runs. Here the users may do anything, so a spec's service still declares its topology; what they may
 * do in production is the least-privilege spec's business. Queues that exist already are left as they are.
 */
export function provisionTestVhost(vhost: string, adminUser: string): void {
  execFileSync(
    join(ROOT, 'node_modules/.bin/tsx'),
    [
      join(ROOT, 'deploy/rabbitmq/apply-local-definitions.ts'),
      '--vhost',
      vhost,
      '--admin',
      adminUser,
      '--services-may-declare',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** Runs `rabbitmqctl <args>` against some broker and returns its output. */
export type RabbitmqCtlSync = (...args: string[]) => string;

/** The machine's broker, through its own rabbitmqctl. */
const machineRabbitmqctl: RabbitmqCtlSync = (...args) =>
  execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });

/**
 * Creates `vhost` with full permissions for the URL's user when it is missing (specs, benches, drills),
 * on the machine's broker or, given its `rabbitmqctl`, on another one such as the local cluster. On the
 * machine's broker it also provisions the service users and queue limit policies there
 * (provisionTestVhost), so a bench or drill runs each service as its own user (testRabbitmqUrlAs); the
 * cluster's callers do that through applyLocalDefinitions with the cluster's rabbitmqctl.
 */
export function ensureVhostExists(
  rabbitmqUrl: string,
  vhost: string,
  log: (line: string) => void,
  rabbitmqctl: RabbitmqCtlSync = machineRabbitmqctl,
): void {
  const vhosts = rabbitmqctl('list_vhosts', 'name')
    .split('\n')
    .map((line) => line.trim());
  const user = decodeURIComponent(new URL(rabbitmqUrl.split(',')[0]).username) || 'guest';
  if (!vhosts.includes(vhost)) {
    rabbitmqctl('add_vhost', vhost);
    rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    log(`created vhost ${vhost} for ${user}`);
  }
  if (rabbitmqctl === machineRabbitmqctl) provisionTestVhost(vhost, user);
}

/** Declares `topology` on a channel, as a service that declares its topology does at start. */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const { name, type, durable } of topology.exchanges)
    await channel.assertExchange(name, type, { durable });
  for (const { name, durable, arguments: args } of topology.queues) {
    await channel.assertQueue(name, { durable, arguments: args });
  }
  for (const { source, destination, destinationType, routingKey } of topology.bindings) {
    if (destinationType === 'queue') await channel.bindQueue(destination, source, routingKey);
    else await channel.bindExchange(destination, source, routingKey);
  }
}

/** Empties `queues` of the URL's vhost; a queue that does not exist yet is skipped (the services declare it). */
export async function purgeQueues(rabbitmqUrl: string, queues: readonly string[]): Promise<void> {
  const { connection, close } = await connectToolToBroker(rabbitmqUrl, 'purge-queues');
  connection.on('error', () => undefined);
  try {
    for (const queue of queues) {
      // One channel per queue: purging a missing queue closes its channel with 404.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.purgeQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await close();
  }
}

/**
 * Whether `queue` exists in the URL's vhost, asked with a passive declare on a connection of its own: an
 * exclusive queue of another connection answers RESOURCE_LOCKED, which means it exists.
 */
export async function queueExists(queue: string, rabbitmqUrl = testConfig.rabbitmqUrl): Promise<boolean> {
  const { connection, close } = await connectToolToBroker(rabbitmqUrl, 'queue-exists');
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkQueue(queue).then(
      () => true,
      (error: Error) =>
        /RESOURCE.LOCKED/.test(error.message) ||
        (/NOT.FOUND/.test(error.message) ? false : Promise.reject(error)),
    );
  } finally {
    await close().catch(() => undefined);
  }
}
