/**
 * What a user of the compose stack does and sees, over HTTP to 127.0.0.1 only: the README's order example,
 * the email in the mail UI's API, the PDF, the dashboard's snapshot, the archived logs, the cluster's
 * nodes. Each check returns a one-line account of what it saw, or throws saying what it did not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_CARDS } from '@shop/contracts';
import { CATALOGUE } from '@shop/db';
import type { MailpitMessagesResponse } from '@shop/mail-sink';
import { extractPdfPages, waitFor } from '@shop/testing';

const REQUEST_TIMEOUT_MS = 15_000;

/** The request README.md's "Place an order" shows: its headers and body, sent to the rehearsal's port. */
export interface OrderExample {
  headers: Record<string, string>;
  body: { customer: { email: string; name: string }; items: { sku: string; quantity: number }[] };
}

export interface PlacedOrder {
  id: string;
  /** From the 201: reads the order and its PDF (README: GET /orders/<id> with it, the PDF link with ?accessToken=). */
  accessToken: string;
  correlationId: string;
  customer: { email: string; name: string };
}

/** The fields of GET /orders/:id the checks read. */
interface OrderState {
  status: string;
  notifiedAt?: string;
  reportedAt?: string;
}

/**
 * The `curl -X POST .../orders` of README.md's "Place an order", with skus checked against the demo
 * catalogue: when the README's example stops matching what compose loads, the rehearsal says so.
 */
export function readmeOrderExample(readmeFile: string): OrderExample {
  const readme = readFileSync(readmeFile, 'utf8');
  const section = /^## Place an order\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const curl = /curl[^\n]*-X POST[^\n]*\/orders \\\n([\s\S]*?-d '[\s\S]*?')/.exec(section)?.[1];
  const data = curl && /-d '([\s\S]*?)'/.exec(curl)?.[1];
  if (!curl || !data)
    throw new Error("README.md's \"Place an order\" has no `curl -X POST .../orders ... -d '...'`");
  const headers = Object.fromEntries(
    [...curl.matchAll(/-H '([^:']+):\s*([^']*)'/g)].map(([, name, value]) => [name, value]),
  );
  const body = JSON.parse(data) as OrderExample['body'];
  const unknown = body.items.map((item) => item.sku).filter((sku) => !CATALOGUE.some((p) => p.sku === sku));
  if (unknown.length > 0)
    throw new Error(`README.md's order names ${unknown.join(', ')}, not in the demo catalogue`);
  return { headers, body };
}

/**
 * POST /orders with the README's request (a fresh Idempotency-Key each time, so that every call places
 * a new order): 201 with the order's id, or an error with the answer.
 */
export async function placeOrder(
  orderApiUrl: string,
  example: OrderExample,
  key: string,
): Promise<PlacedOrder> {
  const response = await fetch(`${orderApiUrl}/orders`, {
    method: 'POST',
    headers: { ...example.headers, 'Idempotency-Key': key },
    body: JSON.stringify(example.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 201)
    throw new Error(`POST /orders answered ${response.status}: ${text.slice(0, 300)}`);
  const { id, accessToken } = JSON.parse(text) as { id: string; accessToken: string };
  return {
    id,
    accessToken,
    correlationId: response.headers.get('x-correlation-id') ?? '',
    customer: example.body.customer,
  };
}

/**
 * Pays for the order as the README does: POST /orders/:id/payment with the sandbox provider's success
 * card. 202 means the request is committed; the order becomes paid, then completed, on its own.
 */
export async function payForOrder(orderApiUrl: string, { id, accessToken }: OrderRef): Promise<void> {
  const response = await fetch(`${orderApiUrl}/orders/${id}/payment`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ card: SANDBOX_CARDS.succeeds }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (response.status !== 202) {
    throw new Error(
      `POST /orders/${id}/payment answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
    );
  }
}

async function readOrder(orderApiUrl: string, { id, accessToken }: OrderRef): Promise<OrderState> {
  const response = await fetch(`${orderApiUrl}/orders/${id}`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`GET /orders/${id} answered ${response.status}`);
  return (await response.json()) as OrderState;
}

type OrderRef = Pick<PlacedOrder, 'id' | 'accessToken'>;

/** Polls GET /orders/:id until `accept` holds; the last status seen is in the timeout's message. */
export async function waitForOrder(
  orderApiUrl: string,
  order: OrderRef,
  what: string,
  accept: (order: OrderState) => boolean,
  timeoutMs: number,
): Promise<OrderState> {
  let last: OrderState | undefined;
  try {
    return await waitFor(
      `order ${order.id} ${what}`,
      async () => {
        last = await readOrder(orderApiUrl, order);
        return accept(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last ?? null)}`);
  }
}

export const isCompleted = (order: OrderState) => order.status === 'completed';

/** The confirmation email, found through Mailpit's search API by recipient and the order's Message-ID. */
export async function emailArrived(mailApiUrl: string, order: PlacedOrder): Promise<string> {
  const query = encodeURIComponent(`to:${order.customer.email}`);
  const message = await waitFor(
    `the email of order ${order.id} at ${mailApiUrl}`,
    async () => {
      const response = await fetch(`${mailApiUrl}/api/v1/search?query=${query}&limit=200`, {
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`GET /api/v1/search answered ${response.status}`);
      const page = (await response.json()) as MailpitMessagesResponse;
      return page.messages.find((m) => m.MessageID.includes(order.id));
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  return `"${message.Subject}" to ${message.To.map((to) => to.Address).join(', ')}`;
}

/** GET /orders/:id/report as the README's PDF link (?accessToken=): a PDF whose text names the customer. */
export async function reportIsPdf(orderApiUrl: string, order: PlacedOrder): Promise<string> {
  const link = `${orderApiUrl}/orders/${order.id}/report?accessToken=${encodeURIComponent(order.accessToken)}`;
  const response = await fetch(link, {
    signal: AbortSignal.timeout(30_000),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200)
    throw new Error(`answered ${response.status}: ${bytes.toString('utf8', 0, 300)}`);
  return describePdf(bytes, order);
}

/** The PDF report-worker wrote for the order into the bind-mounted reports directory. */
export async function reportFileWritten(reportsDir: string, order: PlacedOrder): Promise<string> {
  const file = join(reportsDir, `${order.id}.pdf`);
  await waitFor(`${file}`, () => existsSync(file), { timeoutMs: 30_000, intervalMs: 500 });
  return `${file}: ${await describePdf(readFileSync(file), order)}`;
}

async function describePdf(bytes: Buffer, order: PlacedOrder): Promise<string> {
  if (bytes.toString('latin1', 0, 4) !== '%PDF') {
    throw new Error(`not a PDF: starts with ${JSON.stringify(bytes.toString('latin1', 0, 16))}`);
  }
  const text = (await extractPdfPages(bytes)).join('\n');
  if (!text.includes(order.customer.name)) throw new Error(`the PDF does not name ${order.customer.name}`);
  return `PDF of ${Math.round(bytes.length / 1024)} KB naming ${order.customer.name}`;
}

interface SnapshotShape {
  services: { instance: string; health: string; detail?: string }[];
  broker: { source: string; nodes: { name: string; up: boolean }[] };
}

/** GET /api/snapshot (what the page's event stream sends): every service up, every broker node up. */
export async function dashboardShowsAllUp(
  dashboardUrl: string,
  services: string[],
  opsToken: string,
): Promise<string> {
  let last: SnapshotShape | undefined;
  try {
    await waitFor(
      'the dashboard to show every service and broker node up',
      async () => {
        const response = await fetch(`${dashboardUrl}/api/snapshot`, {
          headers: { authorization: `Bearer ${opsToken}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (!response.ok) return undefined;
        last = (await response.json()) as SnapshotShape;
        const up = new Set(last.services.filter((s) => s.health === 'up').map((s) => s.instance));
        return (
          services.every((name) => up.has(name)) &&
          last.broker.nodes.length > 0 &&
          last.broker.nodes.every((n) => n.up)
        );
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
  } catch (error) {
    const seen = last?.services.map((s) => `${s.instance} ${s.health}${s.detail ? ` (${s.detail})` : ''}`);
    throw new Error(`${(error as Error).message}; last snapshot: ${seen?.join(', ') ?? 'none'}`);
  }
  const nodes = last!.broker.nodes.map((n) => n.name).join(', ');
  return `${services.join(', ')} up; broker nodes (${last!.broker.source}) up: ${nodes}`;
}

/** log-aggregator's GET /logs has the order's records, and its archive file on the host has them too. */
export async function logsArchived(
  logAggregatorUrl: string,
  order: PlacedOrder,
  logsDir: string,
  opsToken: string,
): Promise<string> {
  const query = `correlationId=${encodeURIComponent(order.correlationId)}&limit=1000`;
  const services = await waitFor(
    `log records with correlation id ${order.correlationId}`,
    async () => {
      const response = await fetch(`${logAggregatorUrl}/logs?${query}`, {
        headers: { authorization: `Bearer ${opsToken}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`GET /logs answered ${response.status}`);
      const { records } = (await response.json()) as { records: { service: string }[] };
      return records.length > 0 ? [...new Set(records.map((record) => record.service))].sort() : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const archive = join(logsDir, new Date().toISOString().slice(0, 10), 'all.jsonl');
  const archived = await waitFor(
    `${archive} to hold the order's records`,
    () => existsSync(archive) && readFileSync(archive, 'utf8').includes(order.correlationId),
    { timeoutMs: 15_000, intervalMs: 500 },
  );
  return `GET /logs: records from ${services.join(', ')}; ${archived ? archive : ''} holds them`;
}

/** The management API of one node lists `expected` nodes, each running. */
export async function clusterNodesRunning(
  managementUrl: string,
  credentials: { user: string; password: string },
  expected: string[],
): Promise<string> {
  const authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  let last: { name: string; running: boolean }[] = [];
  try {
    await waitFor(
      `${expected.length} running nodes`,
      async () => {
        const response = await fetch(`${managementUrl}/api/nodes`, {
          headers: { authorization },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (!response.ok) return undefined;
        last = (await response.json()) as { name: string; running: boolean }[];
        const running = new Set(last.filter((node) => node.running).map((node) => node.name));
        return expected.every((name) => running.has(name));
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  } catch (error) {
    const seen = last.map((node) => `${node.name} ${node.running ? 'running' : 'down'}`).join(', ');
    throw new Error(`${(error as Error).message}; the management API lists: ${seen || 'nothing'}`);
  }
  return `${expected.join(', ')} running in one cluster`;
}

/**
 * Every quorum queue of `vhost` has a member on each of `nodes` (management API): a queue declared before
 * the other nodes joined gets them only from the broker's membership reconciliation (cluster.conf).
 */
export async function quorumQueuesOnEveryNode(
  managementUrl: string,
  credentials: { user: string; password: string },
  vhost: string,
  nodes: string[],
): Promise<string> {
  const authorization = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  let short: string[] = [];
  let total = 0;
  try {
    await waitFor(
      `every quorum queue on ${nodes.length} nodes`,
      async () => {
        const response = await fetch(`${managementUrl}/api/queues/${encodeURIComponent(vhost)}`, {
          headers: { authorization },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (!response.ok) throw new Error(`GET /api/queues answered ${response.status}`);
        const queues = (await response.json()) as { name: string; type: string; members?: string[] }[];
        const quorum = queues.filter((queue) => queue.type === 'quorum');
        total = quorum.length;
        short = quorum
          .filter((queue) => !nodes.every((node) => queue.members?.includes(node)))
          .map((queue) => `${queue.name} (${(queue.members ?? []).join(', ')})`);
        return total > 0 && short.length === 0;
      },
      { timeoutMs: 2 * 60_000, intervalMs: 2_000 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${short.length} of ${total} short: ${short.join('; ')}`);
  }
  return `all ${total} quorum queues have a member on each node`;
}

/** Polls `url` until it answers 2xx (a service or HAProxy in front of it is ready). */
export async function answers(url: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `${url} to answer`,
    async () => (await fetch(url, { signal: AbortSignal.timeout(5_000) })).ok,
    { timeoutMs, intervalMs: 1_000 },
  );
}
