import { CUSTOMER_TOKEN, TOPOLOGY } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  freePort,
  purgeQueues,
  resetDatabase,
  startMailpitSink,
  startServiceProcess,
  testConfig,
  testRabbitmqUrlAs,
  type MailpitSink,
  type ServiceProcess,
} from '@shop/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';

type Watched = 'order-api' | 'notify-worker' | 'report-worker' | 'log-aggregator' | 'payment' | 'identity';
const WATCHED = [
  'order-api',
  'notify-worker',
  'report-worker',
  'log-aggregator',
  'payment',
  'identity',
] as const satisfies readonly Watched[];

/** An order as POST /orders answered it: enough to pay for it and cancel it. */
export interface PlacedOrder {
  id: string;
  accessToken: string;
}

/**
 * The whole system as the dashboard sees it under `npm start`: the six built services (the payment
 * service with its sandbox provider among them, identity signing a flash sale's customers in) and the
 * dashboard, each its own process, on the test
 * database and vhost, with an SMTP sink behind a Mailpit-compatible API (what the flash sale counts
 * emails with). A spec can stop and restart one service on its port, as a user killing a worker would.
 */
export class DashboardSystem {
  readonly services = new Map<Watched | 'dashboard', ServiceProcess>();

  private constructor(
    readonly pool: Pool,
    readonly broker: BrokerProbe,
    readonly mail: MailpitSink,
    private readonly ports: Record<Watched | 'dashboard', number>,
    private readonly dirs: { reports: string; sales: string; logs: string },
  ) {}

  static async start(): Promise<DashboardSystem> {
    const pool = createTestPool();
    await resetDatabase(pool);
    // What earlier specs left in any queue (events nobody consumed, parked messages) must not be counted here.
    await purgeQueues(
      testConfig.rabbitmqUrl,
      TOPOLOGY.queues.map((queue) => queue.name),
    );
    const broker = await BrokerProbe.connect();
    const mail = await startMailpitSink();
    const ports = {
      'order-api': await freePort(),
      'notify-worker': await freePort(),
      'report-worker': await freePort(),
      'log-aggregator': await freePort(),
      payment: await freePort(),
      identity: await freePort(),
      dashboard: await freePort(),
    };
    const dirs = {
      reports: await mkdtemp(join(tmpdir(), 'dashboard-reports-')),
      sales: await mkdtemp(join(tmpdir(), 'dashboard-sales-')),
      logs: await mkdtemp(join(tmpdir(), 'dashboard-logs-')),
    };
    const system = new DashboardSystem(pool, broker, mail, ports, dirs);
    // First: order-api checks customers' tokens with identity's keys.
    await system.startService('identity');
    await Promise.all(WATCHED.filter((name) => name !== 'identity').map((name) => system.startService(name)));
    await system.startService('dashboard');
    return system;
  }

  url(service: Watched | 'dashboard'): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  /** Starts `service` (again) on its port. */
  async startService(service: Watched | 'dashboard'): Promise<ServiceProcess> {
    const env: Record<string, string> =
      service === 'dashboard'
        ? {
            RABBITMQ_URL: testConfig.rabbitmqUrl,
            DASHBOARD_TARGETS: WATCHED.map((name) => `${name}=${this.url(name)}`).join(','),
            ORDER_API_URL: this.url('order-api'),
            IDENTITY_URL: this.url('identity'),
            MAIL_API_URL: this.mail.apiUrl,
            SALES_DATABASE_URL: testConfig.databaseUrl,
            SALES_DIR: this.dirs.sales,
          }
        : {
            // Each as its own RabbitMQ user: order-api accepts a status event only from its worker.
            RABBITMQ_URL: testRabbitmqUrlAs(service),
            ...(service === 'log-aggregator' ? {} : { DATABASE_URL: testConfig.databaseUrlOf(service) }),
            ...(service === 'order-api' && {
              IDENTITY_JWKS_URL: `${this.url('identity')}${CUSTOMER_TOKEN.jwksPath}`,
            }),
            SMTP_URL: this.mail.smtp.url,
            REPORTS_DIR: this.dirs.reports,
            LOG_DIR: this.dirs.logs,
          };
    const process = await startServiceProcess(service, env, { port: this.ports[service] });
    this.services.set(service, process);
    return process;
  }

  async stopService(service: Watched | 'dashboard'): Promise<void> {
    await this.services.get(service)?.stop('SIGTERM');
    this.services.delete(service);
  }

  /** POST /orders for one unit of `sku`, as customer `i`: 201 and the order, or a failed expectation. */
  async placeOrderToPay(sku: string, i: number): Promise<PlacedOrder> {
    const response = await fetch(`${this.url('order-api')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customer: { email: `park.jisoo${i}@example.kr`, name: '박지수' },
        items: [{ sku, quantity: 1 }],
      }),
    });
    if (response.status !== 201) throw new Error(`POST /orders answered ${response.status}`);
    return (await response.json()) as PlacedOrder;
  }

  /** The customer's POST /orders/:id/payment with a sandbox card (or /cancel): its HTTP status. */
  async act(order: PlacedOrder, action: { pay: string } | 'cancel'): Promise<number> {
    const path = action === 'cancel' ? 'cancel' : 'payment';
    const response = await fetch(`${this.url('order-api')}/orders/${order.id}/${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${order.accessToken}`,
        ...(action === 'cancel' ? {} : { 'content-type': 'application/json' }),
      },
      ...(action === 'cancel' ? {} : { body: JSON.stringify({ card: action.pay }) }),
    });
    await response.body?.cancel();
    return response.status;
  }

  async placeOrder(sku: string, i: number): Promise<number> {
    const response = await fetch(`${this.url('order-api')}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customer: { email: `kim.minji${i}@example.kr`, name: '김민지' },
        items: [{ sku, quantity: 1 }],
      }),
    });
    await response.body?.cancel();
    return response.status;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((service) => service.stop('SIGTERM')));
    await this.mail.stop();
    await this.broker.close();
    await this.pool.end();
    await Promise.all(Object.values(this.dirs).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
