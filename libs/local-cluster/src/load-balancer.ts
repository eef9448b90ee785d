import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface Backend {
  /** The server's name in HAProxy (its logs and stats): e.g. `order-api-1`. */
  name: string;
  port: number;
}

export interface LoadBalancerOptions {
  /** Where clients connect, on 127.0.0.1. */
  port: number;
  backends: readonly Backend[];
  /** Where its config goes. */
  dir: string;
  /** Path its servers are checked on; default `/health`. */
  healthPath?: string;
}

const START_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/**
 * HAProxy (Debian's package) in front of several instances of one HTTP service on this host, as a user
 * scaling out would run it. Round robin over the servers that pass their check, every second; a server
 * counts as alive while it answers its health path at all (200 or 503: order-api takes orders with the
 * broker down, into its outbox) within 5 s, and is out after three failed checks. A request whose connection to a
 * server fails is sent to another one (`retry-on conn-failure`, `option redispatch`); a request already
 * sent to an instance that dies is not retried, since HAProxy cannot know whether it took effect.
 */
export class LocalLoadBalancer {
  private constructor(
    private readonly process: ChildProcess,
    readonly port: number,
    readonly configFile: string,
    private readonly output: string[],
  ) {}

  static async start(options: LoadBalancerOptions): Promise<LocalLoadBalancer> {
    mkdirSync(options.dir, { recursive: true });
    const configFile = join(options.dir, 'haproxy.cfg');
    writeFileSync(configFile, haproxyConfig(options));
    await checkConfig(configFile);
    const child = spawn('haproxy', ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (chunk: Buffer) => output.push(chunk.toString('utf8'));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const balancer = new LocalLoadBalancer(child, options.port, configFile, output);
    await balancer.awaitListening();
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** What HAProxy printed (it logs servers going down and up as warnings). */
  log(): string {
    return this.output.join('');
  }

  /** SIGUSR1 (finish the requests in hand), SIGTERM after a grace period. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolveExit) => this.process.once('exit', () => resolveExit()));
    this.process.kill('SIGUSR1');
    const hardStop = setTimeout(() => this.process.kill('SIGTERM'), STOP_GRACE_MS);
    await exited;
    clearTimeout(hardStop);
  }

  private async awaitListening(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await accepts(this.port))) {
      if (!this.running) throw new Error(`haproxy exited at start: ${this.log().trim()}`);
      if (Date.now() > deadline)
        throw new Error(`haproxy does not listen on ${this.port}: ${this.log().trim()}`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
    }
  }
}

export function haproxyConfig({ port, backends, healthPath = '/health' }: LoadBalancerOptions): string {
  return [
    '# Written by @shop/local-cluster (LocalLoadBalancer): regenerated on every start.',
    '# No maxconn: HAProxy derives it from the open-files limit it is given.',
    'global',
    '',
    'defaults',
    '  mode http',
    "  # X-Forwarded-For: the client's address, which rate limits count by (loopback is a trusted proxy).",
    '  option forwardfor',
    '  timeout connect 1s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 60s',
    '  # Only a connection that failed is retried (elsewhere): the request never reached a server.',
    '  retries 3',
    '  retry-on conn-failure',
    '  option redispatch 1',
    '',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    '',
    'backend instances',
    '  balance roundrobin',
    `  option httpchk GET ${healthPath}`,
    '  http-check expect rstatus ^(200|503)$',
    '  # Busy is not dead: under a flash sale /health can take over a second (it asks the database and the',
    '  # broker). A dead instance refuses the connection at once, so it is still out within ~3 s.',
    '  timeout check 5s',
    '  default-server check inter 1s fall 3 rise 1',
    ...backends.map((backend) => `  server ${backend.name} 127.0.0.1:${backend.port}`),
    '',
  ].join('\n');
}

function checkConfig(configFile: string): Promise<void> {
  return new Promise((resolveCheck, reject) =>
    execFile('haproxy', ['-c', '-q', '-f', configFile], (error, _stdout, stderr) => {
      if (!error) return resolveCheck();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new Error(
          missing
            ? 'haproxy is not installed: apt-get install -y haproxy (Debian/Ubuntu)'
            : `haproxy rejects ${configFile}: ${stderr.trim()}`,
        ),
      );
    }),
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveProbe(true);
    });
    socket.once('error', () => resolveProbe(false));
  });
}
