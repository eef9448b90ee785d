import { LOCAL_DEFAULTS, serviceDatabaseEnv } from '@shop/config';
import { WorkQueues } from '@shop/contracts';
import { DEAD_LETTER_QUEUES } from '../src/pipeline-probe';
import { withDatabaseName } from '@shop/db';
import { ensureVhostExists, freePort, purgeQueues, SmtpSink, type ServiceProcess } from '@shop/testing';
import { connectToolToBroker } from '@shop/broker';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { ServiceLauncher } from '../bench/support/service-launcher';
import { prepareToolDatabase, withVhost } from '../bench/support/tool-environment';

export const DRILL_DATABASE = 'orders_drill';
export const DRILL_VHOST = 'shop_drill';
export type ServiceName = 'order-api' | 'notify-worker' | 'report-worker';

/**
 * The system a drill runs against: the built order-api, notify-worker and report-worker as their own
 * processes on database `orders_drill` and vhost `shop_drill` (nothing else's data), an SMTP sink that
 * behaves as a mailbox (a re-sent Message-ID is dropped and counted, as Mailpit does with
 * MP_IGNORE_DUPLICATE_IDS), and a product with plenty of stock. Keeps every process's output, also of
 * the ones a drill killed, so PDFs written twice can be counted from the "report written" lines.
 */
export class DrillSystem {
  readonly services = new Map<ServiceName, ServiceProcess>();
  private readonly ports = new Map<ServiceName, number>();
  private readonly finishedOutputs: string[] = [];
  private readonly launcher = new ServiceLauncher();

  private constructor(
    readonly databaseUrl: string,
    readonly rabbitmqUrl: string,
    readonly pool: Pool,
    readonly smtp: SmtpSink,
    readonly reportsDir: string,
  ) {}

  static async start(log: (line: string) => void): Promise<DrillSystem> {
    const databaseUrl = withDatabaseName(
      process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl,
      DRILL_DATABASE,
    );
    const amqp = new URL(withVhost(process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl, DRILL_VHOST));
    await prepareToolDatabase(databaseUrl, () => undefined, 'drill');
    ensureVhostExists(amqp.toString(), DRILL_VHOST, log);
    const pool = new Pool({ connectionString: databaseUrl, max: 3, application_name: 'drill' });
    const smtp = new SmtpSink({ ignoreDuplicateMessageIds: true, maxMessages: 1_000_000 });
    await smtp.start();
    const system = new DrillSystem(
      databaseUrl,
      amqp.toString(),
      pool,
      smtp,
      mkdtempSync(join(tmpdir(), 'drill-reports-')),
    );
    await system.purgeQueues();
    for (const name of ['order-api', 'notify-worker', 'report-worker'] as const)
      system.ports.set(name, await freePort());
    await Promise.all(
      (['order-api', 'notify-worker', 'report-worker'] as const).map((name) => system.startService(name)),
    );
    return system;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.get('order-api')}`;
  }

  async startService(name: ServiceName): Promise<ServiceProcess> {
    const env: Record<string, string> = {
      ...serviceDatabaseEnv(name, this.databaseUrl),
      RABBITMQ_URL: this.rabbitmqUrl,
      REPORTS_DIR: this.reportsDir,
      ...(name === 'notify-worker' ? { SMTP_URL: this.smtp.url } : {}),
    };
    const service = await this.launcher.start(name, env, {
      port: this.ports.get(name)!,
      healthTimeoutMs: 60_000,
    });
    this.services.set(name, service);
    return service;
  }

  /** Stops a service with `signal` and keeps its output; resolves with how long it took to exit. */
  async stopService(name: ServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
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
    const outputs = [...this.finishedOutputs, this.services.get('report-worker')?.output() ?? ''];
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

  async purgeQueues(): Promise<void> {
    await purgeQueues(this.rabbitmqUrl, [...WorkQueues, ...DEAD_LETTER_QUEUES]);
  }

  async stop(): Promise<void> {
    for (const name of [...this.services.keys()]) await this.stopService(name);
    await this.launcher.stopAll();
    await this.smtp.stop();
    await this.pool.end();
  }
}
