import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './free-port';

/**
 * A TCP relay in front of the broker that a spec can cut and restore: a broker outage for one client
 * only, where stopping RabbitMQ would also cut every other spec sharing it. While stopped, nothing
 * listens on its port, so connecting is refused, as with a broker that is down.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  /** Connections closed at once while cut (see `cut`): how often the client tried again. */
  refusedConnections = 0;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** A stopped proxy on a free port, relaying to the host and port of `targetUrl` (amqp:// or other). */
  static async create(targetUrl: string): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    return new TcpProxy(await freePort(), { host: url.hostname, port: Number(url.port || 5672) });
  }

  /** `url` with its host and port replaced by the proxy's (credentials and vhost kept). */
  urlFor(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      if (this.refusing) {
        this.refusedConnections += 1;
        client.destroy();
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /**
   * Cuts every relayed connection and, while listening on, closes each new one at once, counting it
   * in `refusedConnections`: an outage a spec can end as soon as the client has tried N times.
   */
  cut(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Relays new connections again after `cut`. */
  restore(): void {
    this.refusing = false;
  }

  /** Cuts every relayed connection and stops listening. */
  async stop(): Promise<void> {
    const { server } = this;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
