import { connect } from 'amqplib';
import { execFileSync } from 'node:child_process';

/** Creates `vhost` with full permissions for the URL's user when it is missing (specs, benches, drills). */
export function ensureVhostExists(rabbitmqUrl: string, vhost: string, log: (line: string) => void): void {
  const rabbitmqctl = (...args: string[]) =>
    execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8' });
  const vhosts = rabbitmqctl('list_vhosts', 'name')
    .split('\n')
    .map((line) => line.trim());
  if (vhosts.includes(vhost)) return;
  const user = decodeURIComponent(new URL(rabbitmqUrl).username) || 'guest';
  rabbitmqctl('add_vhost', vhost);
  rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  log(`created vhost ${vhost} for ${user}`);
}

/** Empties `queues` of the URL's vhost; a queue that does not exist yet is skipped (the services declare it). */
export async function purgeQueues(rabbitmqUrl: string, queues: readonly string[]): Promise<void> {
  const connection = await connect(rabbitmqUrl);
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
    await connection.close().catch(() => undefined);
  }
}
