import { LOCAL_DEFAULTS, serviceDatabaseEnv } from '@shop/config';
import { CUSTOMER_TOKEN, DEFAULT_PAYMENT_WINDOW_MS, paymentDueQueueOf, WorkQueues } from '@shop/contracts';
import { DEAD_LETTER_QUEUES } from '../src/pipeline-probe';
import { LifecycleAuditor, type LifecycleAudit } from '../src/lifecycle-audit';
import { orderEmailOf, type EmailsOfOrder } from '../src/mail-catcher.client';
import { withDatabaseName } from '@shop/db';
import {
  ensureVhostExists,
  freePort,
  purgeQueues,
  SmtpSink,
  testRabbitmqUrlAs,
  type ServiceProcess,
} from '@shop/testing';
import { connectToolToBroker } from '@shop/broker';
import { CLUSTER_REPLICAS, LocalLoadBalancer, type LocalCluster } from '@shop/local-cluster';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { clusterReplicas, prepareClusterVhost } from '../bench/support/cluster-deployment';
import { ServiceLauncher } from '../bench/support/service-launcher';
import { prepareToolDatabase, type ServiceName, withVhost } from '../bench/support/tool-environment';

export const DRILL_DATABASE = 'orders_drill';
export const DRILL_VHOST = 'shop_drill';
export type { ServiceName };

const ONE_CLIENT_UNLIMITED = {
  ORDER_RATE_LIMIT_PER_CLIENT: '1000000',
  PAYMENT_RATE_LIMIT_PER_CLIENT: '1000000',
};
// identity: the queued-sale drill's customers sign in (order-api checks their tokens against its JWKS).
const SINGLE_NODE_SERVICES: ServiceName[] = [
  'identity',
  'order-api',
  'notify-worker',
  'report-worker',
  'payment',
];

/** The payment window of the lifecycle drills: short, so deadlines fall due during the drill. */
export const DRILL_PAYMENT_WINDOW_MS = 5_000;

/** One process of the drill: `notify-worker` on one node, `notify-worker-2` among replicas. */
export interface ServiceInstance {
  name: string;
  service: ServiceName;
  port: number;
  env: Record<string, string>;
  /** A drill's own settings on top (useEnvironment). */
  overrides?: Record<string, string>;
}

/**
 * The system a drill runs against: the built order-api, notify-worker, report-worker and payment as their own
 * processes on database `orders_drill` and vhost `shop_drill` (nothing else's data), an SMTP sink that
 * behaves as a mailbox (a re-sent Message-ID is dropped and counted, as Mailpit does with
 * MP_IGNORE_DUPLICATE_IDS), and a product with plenty of stock. Keeps every process's output, also of
 * the ones a drill killed, so PDFs written twice can be counted from the "report written" lines.
 *
 * With `cluster`, the same on the local three-node RabbitMQ cluster (vhost `shop_drill` there, quorum
 * queues) with replicas: two order-api instances behind HAProxy, two of each worker, one log-aggregator.
 */
export class DrillSystem {
  /** The running processes by instance name. */
  readonly services = new Map<string, ServiceProcess>();
  private readonly instances = new Map<string, ServiceInstance>();
  private readonly finishedOutputs: string[] = [];
  private readonly launcher = new ServiceLauncher();
  private balancer: LocalLoadBalancer | undefined;
  /** Consumers per queue once everything had started: what "every consumer is back" means. */
  consumersAtStart = new Map<string, number>();

  private constructor(
    readonly databaseUrl: string,
    readonly rabbitmqUrl: string,
    readonly pool: Pool,
    readonly smtp: SmtpSink,
    readonly reportsDir: string,
    readonly cluster: LocalCluster | undefined,
  ) {}

  static async start(
    log: (line: string) => void,
    { cluster }: { cluster?: LocalCluster } = {},
  ): Promise<DrillSystem> {
    const databaseUrl = withDatabaseName(
      process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl,
      DRILL_DATABASE,
    );
    const guest = { user: 'guest', password: 'guest', vhost: DRILL_VHOST };
    const rabbitmqUrl = cluster
      ? cluster.url(guest)
      : new URL(withVhost(process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl, DRILL_VHOST)).toString();
    await prepareToolDatabase(databaseUrl, () => undefined, 'drill');
    if (cluster) await prepareClusterVhost(cluster, DRILL_VHOST, log);
    else ensureVhostExists(rabbitmqUrl, DRILL_VHOST, log);
    const pool = new Pool({ connectionString: databaseUrl, max: 3, application_name: 'drill' });
    const smtp = new SmtpSink({ ignoreDuplicateMessageIds: true, maxMessages: 1_000_000 });
    await smtp.start();
    const system = new DrillSystem(
      databaseUrl,
      rabbitmqUrl,
      pool,
      smtp,
      mkdtempSync(join(tmpdir(), 'drill-reports-')),
      cluster,
    );
    await system.purgeQueues();
    for (const instance of await system.layOut()) system.instances.set(instance.name, instance);
    await Promise.all([...system.instances.keys()].map((name) => system.startService(name)));
    if (cluster) {
      const apis = [...system.instances.values()].filter((i) => i.service === 'order-api');
      system.balancer = await LocalLoadBalancer.start({
        port: await freePort(),
        backends: apis.map(({ name, port }) => ({ name, port })),
        dir: mkdtempSync(join(tmpdir(), 'drill-haproxy-')),
      });
      log(`HAProxy on ${system.balancer.url} → ${apis.map((i) => `${i.name} :${i.port}`).join(', ')}`);
    }
    return system;
  }

  /** identity's URL, when this system runs one (it mints the queued-sale drill's customer tokens). */
  get identityUrl(): string | undefined {
    const identity = [...this.instances.values()].find((i) => i.service === 'identity');
    return identity && `http://127.0.0.1:${identity.port}`;
  }

  private identityJwks(): Record<string, string> {
    const url = this.identityUrl;
    return url ? { IDENTITY_JWKS_URL: `${url}${CUSTOMER_TOKEN.jwksPath}` } : {};
  }

  /** The API as clients reach it: HAProxy on the cluster, the one order-api otherwise. */
  get apiUrl(): string {
    if (this.balancer) return this.balancer.url;
    return `http://127.0.0.1:${this.instances.get('order-api')!.port}`;
  }

  /** The instance names of one service (`order-api-1`, `order-api-2` on the cluster). */
  instancesOf(service: ServiceName): string[] {
    return [...this.instances.values()].filter((i) => i.service === service).map((i) => i.name);
  }

  /**
   * Restarts every instance of `service` whose extra environment differs from `env` (say, order-api with
   * a short PAYMENT_WINDOW_MS for the lifecycle drills, without it again for the others).
   */
  async useEnvironment(service: ServiceName, env: Record<string, string>): Promise<void> {
    for (const name of this.instancesOf(service)) {
      const instance = this.instances.get(name)!;
      if (JSON.stringify(instance.overrides ?? {}) === JSON.stringify(env)) continue;
      await this.stopService(name);
      instance.overrides = env;
      await this.startService(name);
    }
  }

  /** Starts an instance (again); its port and environment stay what they were. */
  async startService(name: string): Promise<ServiceProcess> {
    const instance = this.instances.get(name);
    if (!instance) throw new Error(`no instance ${name} in this drill system`);
    const env: Record<string, string> = {
      ...serviceDatabaseEnv(instance.service, this.databaseUrl),
      // Its own RabbitMQ user: order-api accepts a status event only from the worker that owns it.
      RABBITMQ_URL: testRabbitmqUrlAs(instance.service, this.rabbitmqUrl),
      REPORTS_DIR: this.reportsDir,
      ...(instance.service === 'notify-worker' ? { SMTP_URL: this.smtp.url } : {}),
      // One drill client sends every order and payment: the drills test faults, not rate limits.
      ...(instance.service === 'order-api' ? { ...ONE_CLIENT_UNLIMITED, ...this.identityJwks() } : {}),
      ...instance.env,
      ...instance.overrides,
    };
    const service = await this.launcher.start(instance.service, env, {
      port: instance.port,
      healthTimeoutMs: 60_000,
    });
    this.services.set(name, service);
    return service;
  }

  private async layOut(): Promise<ServiceInstance[]> {
    if (!this.cluster) {
      return Promise.all(
        SINGLE_NODE_SERVICES.map(async (service) => ({
          name: service,
          service,
          port: await freePort(),
          env: {},
        })),
      );
    }
    const services = Object.keys(CLUSTER_REPLICAS) as ServiceName[];
    return Promise.all(
      clusterReplicas(this.cluster, DRILL_VHOST, services).map(async (replica) => ({
        ...replica,
        port: await freePort(),
        env: {
          ...replica.env,
          ...(replica.service === 'log-aggregator'
            ? { LOG_DIR: mkdtempSync(join(tmpdir(), 'drill-logs-')) }
            : {}),
        },
      })),
    );
  }

  /** Stops an instance with `signal` and keeps its output; resolves with how long it took to exit. */
  async stopService(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    const service = this.services.get(name);
    if (!service) return 0;
    const { ms } = await this.launcher.stop(service, { signal });
    this.finishedOutputs.push(service.output());
    this.services.delete(name);
    return ms;
  }

  async createProduct(sku: string, stock: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO products (id, sku, name, price_cents, stock) VALUES (gen_random_uuid(), $1, $2, 1999, $3)`,
      [sku, `演练 drill item ${sku}`, stock],
    );
  }

  /**
   * How many times each order's PDF was written, across every report-worker process so far: report-worker
   * logs "report written" once the file is on disk and its order_reports row committed with it.
   */
  reportsWrittenByOrder(): Map<string, number> {
    const reportWorkers = this.instancesOf('report-worker').map(
      (name) => this.services.get(name)?.output() ?? '',
    );
    const outputs = [...this.finishedOutputs, ...reportWorkers];
    const counts = new Map<string, number>();
    for (const match of outputs.join('\n').matchAll(/order ([0-9a-f-]{36}): report written/g)) {
      counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
    }
    return counts;
  }

  /** Deliveries the workers sent to a retry queue so far ("…; retrying in 1s"), killed processes included. */
  retriesSoFar(): number {
    const outputs = [...this.finishedOutputs, ...[...this.services.values()].map((s) => s.output())];
    return outputs.join('\n').match(/; retrying in \d+s/g)?.length ?? 0;
  }

  /** Emails in the mailbox per order (re-sends of the same Message-ID are not stored: see smtpResends). */
  emailsByOrder(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const mail of this.smtp.messages) {
      const orderId = /order-([0-9a-f-]{36})@/.exec(mail.messageId ?? '')?.[1];
      if (orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
    }
    return counts;
  }

  /** Emails in the mailbox per order and kind: placement and each lifecycle transition. */
  emailsByOrderAndKind(): Map<string, EmailsOfOrder> {
    const counts = new Map<string, EmailsOfOrder>();
    for (const mail of this.smtp.messages) {
      const email = orderEmailOf(mail.messageId ?? '');
      if (!email) continue;
      const ofOrder = counts.get(email.orderId) ?? {};
      ofOrder[email.kind] = (ofOrder[email.kind] ?? 0) + 1;
      counts.set(email.orderId, ofOrder);
    }
    return counts;
  }

  /** The product's orders and their charges, as the order-api and payment schemas hold them. */
  async audit(sku: string): Promise<LifecycleAudit> {
    const auditor = await LifecycleAuditor.connect(this.databaseUrl);
    try {
      return await auditor.audit(sku);
    } finally {
      await auditor.close();
    }
  }

  /** Emails the SMTP server received a second time with the same Message-ID, since the drills began. */
  get smtpResends(): number {
    return this.smtp.ignoredDuplicates;
  }

  pdfFiles(): Set<string> {
    return new Set(
      readdirSync(this.reportsDir)
        .filter((file) => file.endsWith('.pdf'))
        .map((file) => file.slice(0, -4)),
    );
  }

  /** Messages waiting in each queue of the drill vhost (passive declares). */
  async queueDepths(queues: readonly string[]): Promise<Record<string, number>> {
    const { connection } = await connectToolToBroker(this.rabbitmqUrl, 'drill-queue-depths');
    connection.on('error', () => undefined);
    try {
      const depths: Record<string, number> = {};
      for (const queue of queues) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        depths[queue] = await channel
          .checkQueue(queue)
          .then((q) => q.messageCount)
          .catch(() => -1);
        await channel.close().catch(() => undefined);
      }
      return depths;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  /** Work and dead-letter queues, and the drills' delay queues: no deadline of an earlier run fires in the next. */
  async purgeQueues(): Promise<void> {
    await purgeQueues(this.rabbitmqUrl, [
      ...WorkQueues,
      ...DEAD_LETTER_QUEUES,
      paymentDueQueueOf(DEFAULT_PAYMENT_WINDOW_MS),
      paymentDueQueueOf(DRILL_PAYMENT_WINDOW_MS),
    ]);
  }

  async stop(): Promise<void> {
    await this.balancer?.stop();
    for (const name of [...this.services.keys()]) await this.stopService(name);
    await this.launcher.stopAll();
    await this.smtp.stop();
    await this.pool.end();
  }
}
