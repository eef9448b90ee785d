import { createConnection, createServer } from 'node:net';
import amqp from 'amqplib';

export interface Endpoint {
  host: string;
  port: number;
}

/** Host and port of a URL, with the scheme's default port when it names none. */
export function endpointOf(url: string, defaultPort: number): Endpoint {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(parsed.port) || defaultPort,
  };
}

/** Resolves when a TCP connection opens, rejects with the reason (ECONNREFUSED, timeout...). */
export function tcpReachable({ host, port }: Endpoint, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message)));
  });
}

/** Opens and closes an AMQP connection: catches bad credentials or a missing vhost before any service does. */
export async function amqpLogin(url: string, timeoutMs = 5_000): Promise<void> {
  const connection = await amqp.connect(url, { timeout: timeoutMs });
  await connection.close();
}

/** True when nothing listens on the port (checked the way the services bind: all interfaces). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/** How to start the local services on a Debian machine like the development one (README, "Troubleshooting"). */
export const START_HINTS = {
  rabbitmq: [
    'rabbitmq-server -detached',
    'rabbitmqctl await_startup   # returns once it accepts connections',
  ],
  postgres: ['pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'],
} as const;
