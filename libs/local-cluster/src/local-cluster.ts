import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One RabbitMQ node of the local cluster: its own name, ports and folders under the cluster's folder. */
export interface ClusterNode {
  /** The Erlang node name, e.g. `shop-rabbit-1@localhost`. */
  name: string;
  /** A short label for logs and tables: `rabbit-1`. */
  label: string;
  amqpPort: number;
  /** Erlang distribution (inter-node) port. */
  distPort: number;
  /** Its data, logs, config and pid file. */
  dir: string;
}

export interface NodeStatus {
  node: ClusterNode;
  /** The Erlang VM runs (its pid is alive). */
  running: boolean;
  pid?: number;
  /** The RabbitMQ application inside it runs (false after `stop_app`). */
  appRunning: boolean;
}

/** One queue as `rabbitmqctl list_queues` shows it; the node lists are empty for a classic queue. */
export interface QueueListing {
  name: string;
  type: string;
  consumers: number;
  /** The Erlang node name of a quorum queue's leader. */
  leader?: string;
  /** The nodes that hold a replica of a quorum queue, and those of them whose replica is up. */
  members: string[];
  online: string[];
}

export interface ClusterCredentials {
  user: string;
  password: string;
  vhost: string;
}

export interface LocalClusterOptions {
  /** Where the nodes keep everything. Default `var/rabbitmq-cluster` in the repository. */
  dir?: string;
  /** Folder of rabbitmq-server and rabbitmqctl. Default Debian's /usr/lib/rabbitmq/bin (which runs them
   * as the calling user, unlike the /usr/sbin wrappers that switch to the `rabbitmq` user), else PATH. */
  binDir?: string;
  log?: (line: string) => void;
}

/** AMQP ports of the three nodes; the machine's own broker keeps 5672. */
export const LOCAL_CLUSTER_AMQP_PORTS = [5681, 5682, 5683] as const;
const DISTRIBUTION_PORT_OFFSET = 20_000;
const DEBIAN_BIN_DIR = '/usr/lib/rabbitmq/bin';
const REPOSITORY_ROOT = resolve(__dirname, '../../..');
const BOOT_TIMEOUT_MS = 90_000;
/** What `listQueues` asks `rabbitmqctl list_queues` for; the quorum-only columns are '' for a classic queue. */
const QUEUE_COLUMNS = ['name', 'type', 'consumers', 'leader', 'members', 'online'];

/**
 * A three-node RabbitMQ cluster on this host, beside the machine's broker and never touching it: each node
 * has its own node name, AMQP and distribution ports, data, log and config folders, and all three share
 * one Erlang cookie of their own (kept in the cluster folder, passed as HOME), so no command here can
 * reach the machine's broker. They register with the host's epmd like every Erlang node.
 */
export class LocalCluster {
  readonly dir: string;
  readonly nodes: readonly ClusterNode[];
  private readonly binDir: string | undefined;
  private readonly log: (line: string) => void;

  constructor(options: LocalClusterOptions = {}) {
    this.dir = options.dir ?? join(REPOSITORY_ROOT, 'var/rabbitmq-cluster');
    this.binDir =
      options.binDir ?? (existsSync(join(DEBIAN_BIN_DIR, 'rabbitmq-server')) ? DEBIAN_BIN_DIR : undefined);
    this.log = options.log ?? (() => undefined);
    this.nodes = LOCAL_CLUSTER_AMQP_PORTS.map((amqpPort, index) => ({
      name: `shop-rabbit-${index + 1}@localhost`,
      label: `rabbit-${index + 1}`,
      amqpPort,
      distPort: amqpPort + DISTRIBUTION_PORT_OFFSET,
      dir: join(this.dir, `rabbit-${index + 1}`),
    }));
  }

  /** RABBITMQ_URL naming all three nodes, for services and tools (they fail over between them). */
  url(credentials: ClusterCredentials, nodes: readonly ClusterNode[] = this.nodes): string {
    const user = encodeURIComponent(credentials.user);
    const password = encodeURIComponent(credentials.password);
    const vhost = encodeURIComponent(credentials.vhost);
    return nodes.map((node) => `amqp://${user}:${password}@127.0.0.1:${node.amqpPort}/${vhost}`).join(',');
  }

  /** The nodes starting from the `index`-th, wrapping round: replica k lists them from node k. */
  nodesFrom(index: number): ClusterNode[] {
    return this.nodes.map((_, i) => this.nodes[(i + index) % this.nodes.length]);
  }

  /** The node whose AMQP port a URL names. */
  nodeOfPort(port: number): ClusterNode | undefined {
    return this.nodes.find((node) => node.amqpPort === port);
  }

  /** Starts every node that is not running and joins any that is not a member yet. Safe to rerun. */
  async up(): Promise<void> {
    this.ensureCookie();
    const statuses = await this.status();
    await Promise.all(statuses.filter((status) => !status.running).map((status) => this.start(status.node)));
    const [seed, ...others] = this.nodes;
    for (const node of others) {
      if ((await this.membersOf(seed)).includes(node.name)) continue;
      this.log(`${node.label}: joining the cluster of ${seed.name}`);
      await this.ctl(node, ['stop_app']);
      await this.ctl(node, ['join_cluster', seed.name]);
      await this.ctl(node, ['start_app']);
      this.log(`${node.label}: joined`);
    }
    await this.awaitRunningEverywhere();
    this.log(`every node runs and sees the other two`);
  }

  /** Stops every node and removes the cluster's folder: data, logs, config and cookie. */
  async down(): Promise<void> {
    for (const status of await this.status()) {
      if (!status.running || status.pid === undefined) continue;
      this.log(`${status.node.label}: stopping (pid ${status.pid})`);
      await this.ctl(status.node, ['stop']).catch(() => this.kill(status.node));
      await this.waitForExit(status.pid);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async status(): Promise<NodeStatus[]> {
    return Promise.all(
      this.nodes.map(async (node) => {
        const pid = this.livePid(node);
        if (pid === undefined) return { node, running: false, appRunning: false };
        const appRunning = await this.ctl(node, ['status'], { timeoutMs: 10_000 }).then(
          () => true,
          () => false,
        );
        return { node, running: true, pid, appRunning };
      }),
    );
  }

  /** Starts one node (again, after a kill: it rejoins from its data) and waits until it accepts clients. */
  async start(node: ClusterNode): Promise<void> {
    this.ensureCookie();
    this.writeNodeFiles(node);
    this.log(`${node.label}: starting ${node.name} on AMQP 127.0.0.1:${node.amqpPort}`);
    await this.run('rabbitmq-server', ['-detached'], this.serverEnvironment(node));
    await this.awaitBoot(node);
  }

  /** SIGKILL, as a crashed machine would: no goodbye to the other nodes or the clients. */
  async kill(node: ClusterNode): Promise<number | undefined> {
    const pid = this.livePid(node);
    if (pid === undefined) return undefined;
    process.kill(pid, 'SIGKILL');
    await this.waitForExit(pid);
    return pid;
  }

  /** Stops the RabbitMQ application but leaves the Erlang VM up (a node cut off, then back). */
  async stopApp(node: ClusterNode): Promise<void> {
    await this.ctl(node, ['stop_app']);
  }

  async startApp(node: ClusterNode): Promise<void> {
    await this.ctl(node, ['start_app']);
    await this.ctl(node, ['await_startup', '--timeout', String(BOOT_TIMEOUT_MS / 1000)]);
  }

  /**
   * Every queue of `vhost` with its consumers and, for a quorum queue, its leader, its members and the
   * members that are up. Asks `via`, or each node in turn until one answers (one may be the node down).
   */
  async listQueues(vhost: string, via?: ClusterNode): Promise<QueueListing[]> {
    let lastError: unknown;
    for (const node of via ? [via] : this.nodes) {
      try {
        const rows = JSON.parse(
          // Bounded: a listing must not hang on a node that has just gone down.
          await this.ctl(
            node,
            ['list_queues', '-p', vhost, ...QUEUE_COLUMNS, '--formatter', 'json', '--timeout', '30'],
            { timeoutMs: 40_000 },
          ),
        ) as {
          name: string;
          type: string;
          consumers: number;
          leader?: string;
          members?: unknown;
          online?: unknown;
        }[];
        // Classic queues print '' for the quorum-only columns.
        const nodeNames = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
        return rows.map((row) => ({
          name: row.name,
          type: row.type,
          consumers: row.consumers,
          leader: row.type === 'quorum' && row.leader ? row.leader : undefined,
          members: nodeNames(row.members),
          online: nodeNames(row.online),
        }));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no node of the local cluster answers list_queues: ${(lastError as Error).message}`);
  }

  /** The node leading each quorum queue of `vhost`, by queue name (classic queues are left out). */
  async queueLeaders(vhost: string, via?: ClusterNode): Promise<Map<string, string>> {
    const queues = await this.listQueues(vhost, via);
    return new Map(queues.filter((queue) => queue.leader).map((queue) => [queue.name, queue.leader!]));
  }

  /** The cluster node called `name` (an Erlang node name such as a queue leader). */
  nodeNamed(name: string): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`${name} is not a node of the local cluster`);
    return node;
  }

  /** Runs `rabbitmqctl -n <node> …` with the cluster's cookie; resolves with its standard output. */
  ctl(
    node: ClusterNode,
    args: string[],
    options: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> {
    return this.run('rabbitmqctl', ['-q', '-n', node.name, ...args], this.cliEnvironment(), options);
  }

  /** `ctl` for callers that need it synchronously. */
  ctlSync(node: ClusterNode, args: string[]): string {
    return execFileSync(this.executable('rabbitmqctl'), ['-q', '-n', node.name, ...args], {
      env: this.cliEnvironment(),
      encoding: 'utf8',
      timeout: 120_000,
    });
  }

  private executable(command: 'rabbitmq-server' | 'rabbitmqctl'): string {
    return this.binDir ? join(this.binDir, command) : command;
  }

  private async membersOf(node: ClusterNode): Promise<string[]> {
    const status = JSON.parse(await this.ctl(node, ['cluster_status', '--formatter', 'json'])) as {
      disk_nodes?: string[];
    };
    return status.disk_nodes ?? [];
  }

  private async awaitRunningEverywhere(): Promise<void> {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      const status = JSON.parse(await this.ctl(this.nodes[0], ['cluster_status', '--formatter', 'json'])) as {
        running_nodes?: string[];
      };
      const missing = this.nodes.filter((node) => !status.running_nodes?.includes(node.name));
      if (missing.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(`the cluster does not see ${missing.map((node) => node.name).join(', ')} running`);
      await delay(500);
    }
  }

  /** Polls until the node's RabbitMQ application has booted: await_startup fails until epmd knows it. */
  private async awaitBoot(node: ClusterNode): Promise<void> {
    const started = Date.now();
    const deadline = started + BOOT_TIMEOUT_MS;
    for (;;) {
      try {
        await this.ctl(node, ['await_startup', '--timeout', '30'], { timeoutMs: 40_000 });
        this.log(`${node.label}: booted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`${node.name} did not boot within ${BOOT_TIMEOUT_MS / 1000} s: ${(error as Error).message}
  its log: ${this.logFileOf(node)}`);
        }
        await delay(500);
      }
    }
  }

  /** The node's own log file (RabbitMQ's, under its folder; `down()` deletes it with the rest). */
  logFileOf(node: ClusterNode): string {
    return join(node.dir, 'log', `${node.name}.log`);
  }

  private livePid(node: ClusterNode): number | undefined {
    const pidFile = join(node.dir, 'pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      // A recycled pid would belong to another program: check that it is an Erlang VM of this cluster.
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return commandLine[0].endsWith('beam.smp') && commandLine.includes(this.home) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async waitForExit(pid: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await delay(100);
  }

  private get home(): string {
    return join(this.dir, 'home');
  }

  /** One cookie for the three nodes and this CLI, different from the machine broker's. */
  private ensureCookie(): void {
    const cookie = join(this.home, '.erlang.cookie');
    if (existsSync(cookie)) return;
    mkdirSync(this.home, { recursive: true });
    writeFileSync(cookie, randomBytes(24).toString('hex').toUpperCase(), { mode: 0o400 });
  }

  private writeNodeFiles(node: ClusterNode): void {
    mkdirSync(join(node.dir, 'log'), { recursive: true });
    writeFileSync(
      join(node.dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${node.amqpPort}`,
        'loopback_users.guest = true',
        'cluster_name = shop-local-cluster',
        '',
      ].join('\n'),
    );
    // No plugins: the machine broker's enabled_plugins file is not ours to follow (its ports would clash).
    writeFileSync(join(node.dir, 'enabled_plugins'), '[].\n');
    // An empty env file so /etc/rabbitmq/rabbitmq-env.conf (the machine broker's NODENAME) is not read.
    writeFileSync(join(node.dir, 'rabbitmq-env.conf'), '');
  }

  private serverEnvironment(node: ClusterNode): NodeJS.ProcessEnv {
    return {
      ...this.cliEnvironment(),
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(node.dir, 'log'),
      RABBITMQ_PID_FILE: join(node.dir, 'pid'),
      RABBITMQ_CONFIG_FILE: join(node.dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(node.dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(node.dir, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(node.dir, 'rabbitmq-env.conf'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  private cliEnvironment(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, LANG: process.env.LANG ?? 'C.UTF-8', HOME: this.home };
  }

  private run(
    command: 'rabbitmq-server' | 'rabbitmqctl',
    args: string[],
    env: NodeJS.ProcessEnv,
    options: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> {
    const executable = this.executable(command);
    return new Promise((resolvePromise, reject) => {
      const child = execFile(
        executable,
        args,
        { env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error) {
            const detail = (stderr.trim() || stdout.trim() || error.message)
              .split('\n')
              .slice(0, 6)
              .join(' ');
            reject(new Error(`${command} ${args.filter((a) => a !== '-q').join(' ')}: ${detail}`));
          } else resolvePromise(stdout);
        },
      );
      child.stdin?.end(options.input ?? '');
    });
  }
}

const delay = (ms: number) => new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
