import type { TicketView } from '@shop/contracts';
import { testSecrets } from '@shop/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSale, mintCustomerTokens } from '../src/sale-client';
import type { SpikeCustomer } from '../src/fire-spike';
import type { Drill, DrillCheck } from './drills';
import type { DrillSystem } from './drill-system';

/** How long order-api stays down in drill 9: the fault itself, not a wait for a condition. */
const ORDER_API_DOWN_MS = 1_000;

/** The queued sale's size: more customers than units, so some tickets are refused. */
const QUEUED_SALE = { customers: 300, units: 60, lanes: 50 } as const;
/** How long a customer keeps retrying (through the restart) and a ticket is followed. */
const PATIENCE_MS = 90_000;

interface Ask {
  customer: SpikeCustomer;
  /** The 202's ticket, or the door's answer (a refusal code) when there was no ticket. */
  ticket?: string;
  doorCode?: string;
  outcome?: TicketView;
}

/** The fault a queued-sale drill injects, once a third of the line has its answer. */
export type QueuedSaleFault = (waiting: { tickets: number; of: number }) => Promise<DrillCheck[]>;

/**
 * A queued sale (the waiting room) while order-api is SIGKILLed and started again: tickets issued before
 * the kill wait in order_requests (a quorum queue) and are placed by the new process; requests in flight
 * are retried with their Idempotency-Key. Every ticket must end placed or refused, no customer may hold
 * more than one order, and the sale's orders must account for its stock exactly.
 */
export function queuedSaleDrill(): Drill {
  return {
    id: 9,
    name: 'order-api SIGKILLed during a queued sale',
    // One order per transaction: the waiting room fills faster than it is placed, so the kill finds
    // requests waiting in it (the drill's point) instead of an empty line.
    orderApiEnv: { ORDER_BATCH_MAX_ORDERS: '1' },
    inject: ({ system, log }) =>
      runQueuedSale(system, log, async (waiting) => {
        log(`SIGKILL order-api with ${waiting.tickets} of ${waiting.of} tickets still waiting`);
        await system.stopService('order-api', 'SIGKILL');
        await sleep(ORDER_API_DOWN_MS);
        await system.startService('order-api');
        return [
          {
            ok: waiting.tickets > 0,
            what: `${waiting.tickets} tickets waited (in order_requests or in order-api's hands) when it was killed`,
          },
        ];
      }),
  };
}

/**
 * A queued sale of QUEUED_SALE's size with `fault` injected once a third of the customers have their
 * answer (while the rest keep asking, retrying with their key); then every ticket is followed to its end
 * and the sale is checked.
 */
export async function runQueuedSale(
  system: DrillSystem,
  log: (line: string) => void,
  fault: QueuedSaleFault,
): Promise<DrillCheck[]> {
  const identityUrl = system.identityUrl;
  if (!identityUrl) return [{ ok: false, what: 'this drill system runs no identity to sign customers in' }];
  const runId = `qd${Date.now().toString(36)}`;
  const sku = `QUEUED-${runId.toUpperCase()}`;
  await system.createProduct(sku, QUEUED_SALE.units);
  await createSale(system.apiUrl, testSecrets.OPS_TOKEN, runId, {
    sku,
    opensAt: new Date(Date.now() - 1_000).toISOString(),
    closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    limitPerCustomer: 1,
    admission: 'queued',
  });
  const customers = await mintCustomerTokens(
    identityUrl,
    testSecrets.OPS_TOKEN,
    Array.from({ length: QUEUED_SALE.customers }, (_, n) => `queued-${n}@${runId}.drill.example`),
  );
  log(`queued sale ${runId}: ${customers.length} customers for ${QUEUED_SALE.units} units`);

  const asks: Ask[] = customers.map((customer) => ({ customer }));
  const deadline = Date.now() + PATIENCE_MS;
  let answered = 0;
  let faulting: Promise<DrillCheck[]> | undefined;
  const faultOnce = () =>
    (faulting ??= (async () => {
      // Waiting = issued and not decided: ready in order_requests or in a consumer's hands (unacked).
      const issued = asks.filter((ask) => ask.ticket).map((ask) => ask.ticket!.split('.')[0]);
      return fault({ tickets: issued.length - (await decidedCount(system, issued)), of: issued.length });
    })());
  let next = 0;
  const lane = async () => {
    while (next < asks.length) {
      const ask = asks[next++];
      await askUntilAnswered(system, { sku, key: `${runId}-${ask.customer.email}` }, ask, deadline);
      // A third of the line answered: the fault, while the rest keep asking (and retrying).
      if (++answered === Math.floor(asks.length / 3)) void faultOnce();
    }
  };
  await Promise.all(Array.from({ length: QUEUED_SALE.lanes }, lane));
  const faultChecks = await faultOnce();
  await Promise.all(asks.map((ask) => followTicket(system, ask, deadline)));
  return [...faultChecks, ...(await checkQueuedSale(system, sku, asks))];
}

/** POST /orders until answered (a connection refused while order-api restarts is tried again, same key). */
async function askUntilAnswered(
  system: DrillSystem,
  { sku, key }: { sku: string; key: string },
  ask: Ask,
  deadline: number,
): Promise<void> {
  while (Date.now() < deadline) {
    const response = await fetch(`${system.apiUrl}/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ask.customer.token}`,
        'idempotency-key': key,
      },
      body: JSON.stringify({
        customer: { email: ask.customer.email, name: 'Queued Drill' },
        items: [{ sku, quantity: 1 }],
      }),
    }).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as
      { ticket?: string; code?: string } | undefined;
    if (response?.status === 202 && body?.ticket) {
      ask.ticket = body.ticket;
      return;
    }
    if (response && response.status < 500 && response.status !== 429) {
      ask.doorCode = body?.code ?? String(response.status);
      return;
    }
    await sleep(200);
  }
}

/** GET /orders/requests/<ticket> until placed or refused. */
async function followTicket(system: DrillSystem, ask: Ask, deadline: number): Promise<void> {
  if (!ask.ticket) return;
  while (Date.now() < deadline) {
    const response = await fetch(`${system.apiUrl}/orders/requests/${ask.ticket}`, {
      headers: { authorization: `Bearer ${ask.customer.token}` },
    }).catch(() => undefined);
    const view = (await response?.json().catch(() => undefined)) as TicketView | undefined;
    if (response?.status === 200 && view && view.status !== 'waiting') {
      ask.outcome = view;
      return;
    }
    await sleep(250);
  }
}

async function checkQueuedSale(system: DrillSystem, sku: string, asks: Ask[]): Promise<DrillCheck[]> {
  const tickets = asks.filter((ask) => ask.ticket);
  const lost = tickets.filter((ask) => !ask.outcome);
  const unanswered = asks.filter((ask) => !ask.ticket && !ask.doorCode);
  const placedIds = new Set(
    tickets.flatMap((ask) => (ask.outcome?.status === 'placed' ? [ask.outcome.orderId] : [])),
  );
  const { rows } = await system.pool.query<{ id: string; customer_id: string; quantity: number }>(
    `SELECT o.id, o.customer_id, i.quantity FROM order_api.orders o JOIN order_api.order_items i ON i.order_id = o.id
      WHERE i.sku = $1`,
    [sku],
  );
  const perCustomer = new Map<string, number>();
  for (const row of rows) perCustomer.set(row.customer_id, (perCustomer.get(row.customer_id) ?? 0) + 1);
  const overLimit = [...perCustomer.values()].filter((n) => n > 1).length;
  const stock = (
    await system.pool.query<{ stock: number }>('SELECT stock FROM products WHERE sku = $1', [sku])
  ).rows[0].stock;
  const units = rows.reduce((sum, row) => sum + row.quantity, 0);
  const outcomeRows = await decidedCount(
    system,
    tickets.map((ask) => ask.ticket!.split('.')[0]),
  );
  const refusals = new Map<string, number>();
  for (const ask of asks) {
    const code = ask.outcome?.status === 'refused' ? ask.outcome.code : ask.doorCode;
    if (code) refusals.set(code, (refusals.get(code) ?? 0) + 1);
  }
  return [
    {
      ok: lost.length === 0 && unanswered.length === 0,
      what: `${tickets.length} tickets: ${tickets.length - lost.length} ended placed or refused, ${lost.length} lost; ${unanswered.length} requests never answered`,
    },
    {
      ok: placedIds.size === rows.length && rows.every((row) => placedIds.has(row.id)),
      what: `${rows.length} orders of the sale, each the order of a placed ticket (${placedIds.size} distinct)`,
    },
    { ok: overLimit === 0, what: `${overLimit} customers hold more than the limit of 1` },
    {
      ok: units + stock === QUEUED_SALE.units,
      what: `${units} units sold + ${stock} left = ${QUEUED_SALE.units} (refusals: ${[...refusals].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'})`,
    },
    { ok: outcomeRows === tickets.length, what: `${outcomeRows} outcome rows for ${tickets.length} tickets` },
  ];
}

/** How many of these tickets have their outcome written. */
async function decidedCount(system: DrillSystem, ticketIds: string[]): Promise<number> {
  const { rows } = await system.pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM order_api.order_request_outcomes WHERE ticket = ANY($1::uuid[])',
    [ticketIds],
  );
  return Number(rows[0].n);
}
