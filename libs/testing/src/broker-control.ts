import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Fault drills on the local broker. Every spec that stops it must restore it in a `finally`/`afterAll`:
 * the broker is shared with everything else on this machine.
 */
export async function stopBrokerApp(): Promise<void> {
  await run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 60_000 });
}

export async function startBrokerApp(): Promise<void> {
  await run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
  await run('rabbitmqctl', ['-q', 'await_startup'], { timeout: 120_000 });
}

/** Closes every client connection of one vhost, as a network blip or broker restart would. */
export async function closeBrokerConnections(
  vhost: string,
  reason = 'test: connections closed',
): Promise<void> {
  await run('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost, reason], { timeout: 60_000 });
}
