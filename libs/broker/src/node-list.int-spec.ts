import { Queues, SANDBOX_CARDS } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  freePort,
  insertProduct,
  resetDatabase,
  SmtpSink,
  startServiceProcess,
  testRabbitmqUrlAs,
  testConfig,
  waitFor,
  type ServiceProcess,
} from '@shop/testing';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { connectToolToBroker } from './broker-connection';

const REPO_ROOT = join(__dirname, '../../..');

/** A node URL on a port nothing listens on: a cluster node that is down. */
async function downNode(): Promise<string> {
  const url = new URL(testConfig.rabbitmqUrl);
  url.port = String(await freePort());
  return url.toString();
}

/** Runs `npm run <script> -- args` with RABBITMQ_URL set, as a user would. */
function npmRun(script: string, args: string[], rabbitmqUrl: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((settle) =>
    execFile(
      'npm',
      ['run', '-s', script, '--', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, RABBITMQ_URL: rabbitmqUrl }, timeout: 60_000 },
      (error, stdout, stderr) => settle({ code: error ? Number(error.code) : 0, stdout, stderr }),
    ),
  );
}

/**
 * RABBITMQ_URL as a cluster's node list whose first two nodes are down: every service and tool
 * connects to the third and works (amqp-connection-manager tries the nodes in turn).
 */
describe('RABBITMQ_URL with three nodes, the first two down', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let smtp: SmtpSink;
  let nodeList: string;
  let logDir: string;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    pool = createTestPool();
    await resetDatabase(pool);
    broker = await BrokerProbe.connect();
    // Nothing an earlier spec parked: the dead-letter tool below must list an empty queue.
    await broker.purge(
      Queues.orderNotify,
      Queues.orderReport,
      Queues.orderStatus,
      Queues.logArchive,
      Queues.orderNotifyDeadLetter,
    );
    smtp = new SmtpSink();
    await smtp.start();
    nodeList = [await downNode(), await downNode(), testConfig.rabbitmqUrl].join(',');
    logDir = await mkdtemp(join(tmpdir(), 'node-list-logs-'));
  });
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await smtp?.stop();
    await broker?.close();
    await pool?.end();
  });

  it('every service starts and an order goes all the way: email, PDF, status, archived logs', async () => {
    const start = async (name: Parameters<typeof startServiceProcess>[0], env: Record<string, string>) => {
      const service = await startServiceProcess(
        name,
        // Each as its own RabbitMQ user: order-api applies a status event only from the worker owning it.
        { RABBITMQ_URL: testRabbitmqUrlAs(name, nodeList), ...env },
        { port: await freePort() },
      );
      services.push(service);
      return service;
    };
    await start('log-aggregator', { LOG_DIR: logDir });
    await start('notify-worker', {
      DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
      SMTP_URL: smtp.url,
    });
    await start('report-worker', {
      DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
      REPORTS_DIR: await mkdtemp(join(tmpdir(), 'node-list-reports-')),
    });
    await start('payment', { DATABASE_URL: testConfig.databaseUrlOf('payment') });
    const api = await start('order-api', { DATABASE_URL: testConfig.databaseUrlOf('order-api') });
    await insertProduct(pool, { sku: 'NODE-LIST-1', name: 'Failover tea', priceCents: 500, stock: 5 });

    const correlationId = `node-list-${Date.now()}`;
    const placed = await fetch(`${api.baseUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
      body: JSON.stringify({
        customer: { email: 'failover@example.com', name: 'Fail Over' },
        items: [{ sku: 'NODE-LIST-1', quantity: 1 }],
      }),
    });
    expect(placed.status).toBe(201);
    const { id: orderId, accessToken } = (await placed.json()) as { id: string; accessToken: string };
    const withToken = { headers: { authorization: `Bearer ${accessToken}` } };
    // Paid through the payment service, which found the live node too.
    const paying = await fetch(`${api.baseUrl}/orders/${orderId}/payment`, {
      method: 'POST',
      headers: { ...withToken.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ card: SANDBOX_CARDS.succeeds }),
    });
    expect(paying.status).toBe(202);

    await waitFor(
      'the order to be completed (paid, emailed, reported)',
      async () => {
        const order = (await (await fetch(`${api.baseUrl}/orders/${orderId}`, withToken)).json()) as {
          status: string;
        };
        return order.status === 'completed';
      },
      { timeoutMs: 30_000 },
    );
    const [email] = await smtp.waitForMessages(1);
    expect(email.envelope.to).toEqual(['failover@example.com']);
    await smtp.waitForMessages(2); // the reservation's email, then the payment's
    const report = await fetch(`${api.baseUrl}/orders/${orderId}/report`, withToken);
    expect([report.status, report.headers.get('content-type')]).toEqual([200, 'application/pdf']);

    // Each service's log publisher found the live node too: the archive has the order's records.
    await waitFor(
      "the order's log records from order-api and both workers in the archive",
      async () => {
        const lines = await archivedLines(logDir);
        const services = new Set(
          lines.filter((line) => line.includes(correlationId)).map((line) => JSON.parse(line).service),
        );
        return ['order-api', 'notify-worker', 'report-worker'].every((name) => services.has(name));
      },
      { timeoutMs: 20_000 },
    );
  });

  it('the command-line tools connect as well: the RPC client and the dead-letter tool', async () => {
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM orders LIMIT 1');
    const out = join(await mkdtemp(join(tmpdir(), 'node-list-cli-')), 'order.pdf');
    const report = await npmRun('report', [rows[0].id, '--out', out], nodeList);
    expect([report.code, report.stdout]).toEqual([0, expect.stringContaining(`written to ${out}`)]);
    expect((await readFile(out)).subarray(0, 5).toString()).toBe('%PDF-');

    const dlq = await npmRun('dlq', ['list', 'order_notify'], nodeList);
    expect([dlq.code, dlq.stdout]).toEqual([
      0,
      expect.stringContaining('order_notify.dlq: 0 parked message(s)'),
    ]);
  });

  it('connectToolToBroker says which node answered, and names every node when none does', async () => {
    const tool = await connectToolToBroker(nodeList, 'node-list-spec');
    try {
      expect(tool.node).toBe(testConfig.rabbitmqUrl);
    } finally {
      await tool.close();
    }
    const allDown = [await downNode(), await downNode()].join(',');
    await expect(connectToolToBroker(allDown, 'node-list-spec', { timeoutMs: 1_500 })).rejects.toThrow(
      /no RabbitMQ node of amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/shop_test,amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/shop_test answered/,
    );
  });
});

async function archivedLines(logDir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir(logDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.jsonl')) continue;
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8');
    lines.push(...text.split('\n').filter((line) => line.trim().length > 0));
  }
  return lines;
}
