import { DEAD_LETTER_QUEUES } from '../src/pipeline-probe';
import { LocalCluster } from '@shop/local-cluster';
import { startBrokerApp, waitFor } from '@shop/testing';
import { CLUSTER_DRILLS } from './cluster-drills';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/summary';
import { MessageTypes, SANDBOX_LATE_SUCCESS_MS } from '@shop/contracts';
import { checkSettledSale } from '../src/invariants';
import { isAuditSettled, type LifecycleAudit } from '../src/lifecycle-audit';
import { DRILL_PAYMENT_WINDOW_MS, DRILL_VHOST, DrillSystem } from './drill-system';
import { DRILLS, type Drill, type DrillCheck } from './drills';
import { type LiveLoad, runSteadyLoad } from './steady-load';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * npm run drill — fault drills against the system started locally (built services on database
 * orders_drill, vhost shop_drill, the real RabbitMQ and PostgreSQL), each under a steady order load:
 * broker connections closed, broker stopped, worker SIGKILLed, PostgreSQL connections terminated,
 * poison messages, SIGTERM to every service, and the order lifecycle's: the payment service down while
 * customers pay, the broker down while reservation deadlines fall due (each with a 5-second payment
 * window, waiting until every order is settled and checking the lifecycle invariants). Prints a table per drill; exits 1 if any order was lost or
 * duplicated or a check failed. The broker is always restarted, even when a drill fails.
 *
 * With --cluster, the scaled-out system on the local three-node RabbitMQ cluster (brought up if it is
 * not, and taken down again then): two order-api instances behind HAProxy, two of each worker, one
 * log-aggregator, and the cluster drills: the leader node SIGKILLed, a node's app stopped, an order-api
 * instance SIGKILLed. The machine's broker is not touched then.
 *
 *   npm run drill -- [--cluster] [--only 2,4] [--orders 1000] [--rate 100] [--broker-outage-s 15]
 */

interface DrillOutcome {
  drill: Drill;
  accepted: number;
  lost: string[];
  duplicateEmails: string[];
  /** Emails the worker sent again with the same Message-ID (dropped by the mailbox). */
  smtpResends: number;
  duplicatePdfs: string[];
  recoverMs: number | undefined;
  /** Cluster drills: until every node, replica and consumer was back. */
  backMs?: number;
  /** Answers to requests sent during the fault: 201/200 among all. */
  duringFault: { ok: number; total: number };
  checks: DrillCheck[];
}

const log = (line: string) => console.error(`[drill] ${line}`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      orders: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '100' },
      'broker-outage-s': { type: 'string', default: '15' },
      cluster: { type: 'boolean', default: false },
    },
  });
  const orders = positive(values.orders, '--orders');
  const rate = positive(values.rate, '--rate');
  const brokerOutageMs = positive(values['broker-outage-s'], '--broker-outage-s') * 1000;
  const only = values.only?.split(',').map(Number);
  const onCluster = values.cluster ?? false;
  const drills = (onCluster ? CLUSTER_DRILLS : DRILLS).filter((drill) => !only || only.includes(drill.id));

  const cluster = onCluster ? new LocalCluster({ log }) : undefined;
  const clusterWasUp = cluster ? (await cluster.status()).every((s) => s.appRunning) : false;
  // Whatever happens (Ctrl-C included), the shared broker is left running, and the cluster as it was.
  const restore = async () => {
    if (!cluster) return startBrokerApp();
    if (clusterWasUp) await cluster.up();
    else await cluster.down();
  };
  const restoreAndExit = () => void restore().finally(() => process.exit(130));
  process.once('SIGINT', restoreAndExit);
  process.once('SIGTERM', restoreAndExit);

  if (cluster && !clusterWasUp) {
    log('bringing the local RabbitMQ cluster up (it is taken down again at the end)');
    await cluster.up();
  }
  log(
    cluster
      ? 'starting 2 × order-api behind HAProxy, 2 × notify-worker, 2 × report-worker, 1 × log-aggregator on the cluster (vhost shop_drill)'
      : 'starting order-api, notify-worker and report-worker (built) on orders_drill / shop_drill',
  );
  const system = await DrillSystem.start(log, { cluster });
  const outcomes: DrillOutcome[] = [];
  try {
    if (cluster) system.consumersAtStart = await settledConsumers(cluster);
    for (const drill of drills) {
      log(`drill ${drill.id}: ${drill.name} — ${orders} orders`);
      outcomes.push(await runDrill(system, drill, { orders, rate, brokerOutageMs }));
      printOutcome(outcomes[outcomes.length - 1]);
    }
  } finally {
    await system.stop();
    await restore().catch((error: Error) => log(`could not restore the broker: ${error.message}`));
  }
  const failed = outcomes.filter((o) => !passed(o));
  console.log(summaryTable(outcomes));
  console.log(
    failed.length === 0
      ? '\nPASS: every drill, nothing lost, nothing duplicated'
      : `\nFAIL: drills ${failed.map((o) => o.drill.id).join(', ')}`,
  );
  return failed.length === 0 ? 0 : 1;
}

async function runDrill(
  system: DrillSystem,
  drill: Drill,
  { orders, rate, brokerOutageMs }: { orders: number; rate: number; brokerOutageMs: number },
): Promise<DrillOutcome> {
  // order-api with the drill's settings (a short payment window for the lifecycle drills), or without.
  if (!system.cluster) await system.useEnvironment('order-api', drill.orderApiEnv ?? {});
  await system.purgeQueues(); // each drill starts with empty queues: a failure does not leak into the next
  const resendsBefore = system.smtpResends;
  const sku = `DRILL-${drill.id}-${Date.now().toString(36).toUpperCase()}`;
  const initialStock = orders * 2 + 100;
  await system.createProduct(sku, initialStock);
  const live: LiveLoad = { accepted: 0, orders: [] };
  const ratePerSecond = drill.minLoadMs ? Math.min(rate, (orders * 1000) / drill.minLoadMs) : rate;
  log(`steady load: ${orders} orders at ${Math.round(ratePerSecond)}/s`);
  const acceptedPaymentIds: string[] = [];
  const answers: { label: string; at: number }[] = [];
  const load = runSteadyLoad({
    onAnswer: (label, at) => answers.push({ label, at }),
    apiUrl: () => system.apiUrl,
    sku,
    orders,
    ratePerSecond,
    orderDeadlineMs: 180_000,
    live,
  });

  // Mid-load: a quarter of the way in.
  await sleep(Math.min(5_000, (orders / ratePerSecond) * 250));
  let checks: DrillCheck[];
  let faultOver: number | undefined;
  let allowedFailures = 0;
  let backMs: number | undefined;
  const markFaultOver = () => (faultOver ??= Date.now());
  const faultBegan = Date.now();
  try {
    checks = await drill.inject({
      system,
      live,
      brokerOutageMs,
      log,
      markFaultOver,
      allowFailures: (count) => (allowedFailures = count),
      reportBack: (ms) => (backMs = ms),
      loadDone: load,
      sku,
      awaitPayments: (ids) => acceptedPaymentIds.push(...ids),
    });
  } catch (error) {
    checks = [{ ok: false, what: `the drill itself failed: ${(error as Error).message}` }];
  }
  markFaultOver();
  const probe = await placeProbeOrder(system, sku);
  const recoverMs = probe.deliveredAt && faultOver ? probe.deliveredAt - faultOver : undefined;

  const result = await load;
  const acceptedIds = [...result.accepted.values(), ...(probe.orderId ? [probe.orderId] : [])];
  const fiveXx = Object.entries(result.attempts).filter(([label]) => label.startsWith('5'));
  const inFault = answers.filter(({ at }) => at >= faultBegan && at <= (faultOver ?? Date.now()));
  const duringFault = {
    ok: inFault.filter(({ label }) => label === '201' || label === '200').length,
    total: inFault.length,
  };
  if (system.cluster) {
    // Scaled out, a fault of one node or one instance must not reach clients beyond what was in flight on it.
    const failures = answers.filter(({ label }) => label.startsWith('5') || label.startsWith('0 '));
    checks.push({
      ok: failures.length <= allowedFailures,
      what: `${failures.length} requests failed (5xx or dropped), at most ${allowedFailures} allowed${describeLabels(failures.map(({ label }) => label))}${describeWhen(failures, faultBegan)}`,
    });
  } else {
    checks.push({
      ok: fiveXx.every(([label]) => /^503 [A-Z_]+$/.test(label)),
      what: `failed requests answered 503 with a code: ${fiveXx.map(([l, n]) => `${l} ×${n}`).join(', ') || 'none failed'}`,
    });
  }
  checks.push({
    ok: result.gaveUp.length === 0,
    what: `${result.gaveUp.length} orders never got an answer (retried with their key)`,
  });

  await waitForDelivery(system, acceptedIds, 120_000);
  const emails = system.emailsByOrder();
  const smtpResends = system.smtpResends - resendsBefore;
  checks.push(
    drill.mayResendEmails
      ? {
          ok: true,
          what: `${smtpResends} emails sent again after the kill, same Message-ID (dropped by the mailbox)`,
        }
      : { ok: smtpResends === 0, what: `${smtpResends} emails sent twice to the SMTP server (must be 0)` },
  );
  const written = system.reportsWrittenByOrder();
  const pdfs = system.pdfFiles();
  const { rows } = await system.pool.query<{ id: string }>(
    'SELECT id FROM order_api.orders WHERE id = ANY($1::uuid[]) AND notified_at IS NOT NULL AND reported_at IS NOT NULL',
    [acceptedIds],
  );
  const delivered = new Set(rows.map((row) => row.id));
  const lost = acceptedIds.filter((id) => !delivered.has(id) || !emails.get(id) || !pdfs.has(id));
  checks.push(...(await integrityChecks(system, sku, initialStock)));
  if (drill.afterSettled)
    checks.push(...(await lifecycleChecks(system, drill, { sku, initialStock, acceptedPaymentIds })));
  const depths = await system.queueDepths(DEAD_LETTER_QUEUES);
  checks.push({
    ok: Object.values(depths).every((depth) => depth === 0),
    what: `dead-letter queues empty (${Object.entries(depths)
      .map(([q, n]) => `${q} ${n}`)
      .join(', ')})`,
  });
  return {
    drill,
    accepted: acceptedIds.length,
    lost,
    duplicateEmails: acceptedIds.filter((id) => (emails.get(id) ?? 0) > 1),
    smtpResends,
    duplicatePdfs: acceptedIds.filter((id) => (written.get(id) ?? 0) > 1),
    recoverMs,
    backMs,
    duringFault,
    checks,
  };
}

/** `: 502 ×3, 0 NETWORK_ERROR ×8`, or nothing when there are none. */
function describeLabels(labels: string[]): string {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return counts.size === 0 ? '' : `: ${[...counts].map(([label, n]) => `${label} ×${n}`).join(', ')}`;
}

/** When the failed answers came, from the fault's start: ` (+1.2 s to +6.0 s after the fault began)`. */
function describeWhen(failures: { at: number }[], faultBegan: number): string {
  if (failures.length === 0) return '';
  const seconds = failures.map(({ at }) => ((at - faultBegan) / 1000).toFixed(1));
  return ` (+${seconds[0]} s to +${seconds[seconds.length - 1]} s after the fault began)`;
}

/** Consumers per queue once they stop changing (every service has set its consumers up). */
async function settledConsumers(cluster: LocalCluster): Promise<Map<string, number>> {
  let previous = '';
  let counts = new Map<string, number>();
  // Two listings a second apart that agree; after 30 s, whatever the last one said.
  await waitFor(
    'consumer counts that stop changing',
    async () => {
      counts = new Map((await cluster.listQueues(DRILL_VHOST)).map((q) => [q.name, q.consumers]));
      const now = JSON.stringify([...counts].sort());
      const settled = now === previous;
      previous = now;
      return settled;
    },
    { timeoutMs: 30_000, intervalMs: 1_000 },
  ).catch(() => undefined);
  return counts;
}

/** After the fault: one order, retried until accepted, then followed until emailed and reported. */
async function placeProbeOrder(
  system: DrillSystem,
  sku: string,
): Promise<{ orderId?: string; deliveredAt?: number }> {
  const key = `probe-${sku}`;
  const deadline = Date.now() + 120_000;
  let orderId: string | undefined;
  while (!orderId && Date.now() < deadline) {
    const response = await fetch(`${system.apiUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({
        customer: { email: 'probe@drill.example', name: '探针 probe' },
        items: [{ sku, quantity: 1 }],
      }),
      signal: AbortSignal.timeout(5_000),
    }).catch(() => undefined);
    if (response && (response.status === 201 || response.status === 200))
      orderId = ((await response.json()) as { id: string }).id;
    else await sleep(200);
  }
  if (!orderId) return {};
  while (Date.now() < deadline) {
    const { rowCount } = await system.pool.query(
      'SELECT 1 FROM orders WHERE id = $1 AND notified_at IS NOT NULL AND reported_at IS NOT NULL',
      [orderId],
    );
    if (rowCount) return { orderId, deliveredAt: Date.now() };
    await sleep(100);
  }
  return { orderId };
}

async function waitForDelivery(system: DrillSystem, orderIds: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await system.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND notified_at IS NOT NULL AND reported_at IS NOT NULL',
      [orderIds],
    );
    if (Number(rows[0].n) >= orderIds.length) return;
    await sleep(250);
  }
}

/**
 * No order without its items or its three placement outbox rows (email, PDF, deadline), and the stock
 * closes: initial − units held by placed, paid and completed orders (expired, cancelled and refunded
 * ones gave theirs back).
 */
async function integrityChecks(
  system: DrillSystem,
  sku: string,
  initialStock: number,
): Promise<DrillCheck[]> {
  const { rows: incomplete } = await system.pool.query<{ id: string }>(
    `SELECT o.id FROM order_api.orders o
      WHERE NOT EXISTS (SELECT 1 FROM order_api.order_items i WHERE i.order_id = o.id)
         OR (SELECT count(*) FROM order_api.outbox_messages m
              WHERE m.headers->>'order-id' = o.id::text AND m.message_type = ANY($1::text[])) <> 3`,
    [[MessageTypes.orderPlacedV1, MessageTypes.orderPaymentDueV1]],
  );
  const { rows } = await system.pool.query<{ stock: number; held: string; returned: string }>(
    `SELECT p.stock,
            (SELECT coalesce(sum(i.quantity), 0) FROM order_api.order_items i JOIN order_api.orders o ON o.id = i.order_id
              WHERE i.sku = p.sku AND o.status IN ('placed', 'paid', 'completed')) AS held,
            (SELECT coalesce(sum(i.quantity), 0) FROM order_api.order_items i JOIN order_api.orders o ON o.id = i.order_id
              WHERE i.sku = p.sku AND o.status NOT IN ('placed', 'paid', 'completed')) AS returned
       FROM order_api.products p WHERE p.sku = $1`,
    [sku],
  );
  const { stock, held, returned } = rows[0];
  return [
    {
      ok: incomplete.length === 0,
      what: `${incomplete.length} orders without their items or their three placement outbox rows`,
    },
    {
      ok: initialStock - stock === Number(held),
      what: `stock movement matches the orders (${initialStock} - ${stock} left = ${held} held; ${returned} units given back)`,
    },
  ];
}

/**
 * A lifecycle drill: waits until every order of the drill's product has settled (at most the window,
 * the late card's delay and two minutes), then checks the lifecycle invariants and the drill's own.
 */
async function lifecycleChecks(
  system: DrillSystem,
  drill: Drill,
  {
    sku,
    initialStock,
    acceptedPaymentIds,
  }: { sku: string; initialStock: number; acceptedPaymentIds: readonly string[] },
): Promise<DrillCheck[]> {
  let audit: LifecycleAudit | undefined;
  const settled = await waitFor(
    'every order settled',
    async () => isAuditSettled((audit = await system.audit(sku)), { acceptedPaymentIds }),
    { timeoutMs: DRILL_PAYMENT_WINDOW_MS + SANDBOX_LATE_SUCCESS_MS + 120_000, intervalMs: 500 },
  ).then(
    () => true,
    () => false,
  );
  audit ??= await system.audit(sku);
  // The last lifecycle emails may trail the database by a moment.
  await waitFor(
    'one email per transition',
    async () =>
      checkSettledSale({ initialStock, audit: audit!, emails: system.emailsByOrderAndKind() }).length === 0,
    { timeoutMs: 30_000, intervalMs: 250 },
  ).catch(() => undefined);
  const violations = checkSettledSale({ initialStock, audit, emails: system.emailsByOrderAndKind() });
  return [
    {
      ok: settled,
      what: `every order settled: ${describeStatuses(audit)}`,
    },
    {
      ok: violations.length === 0,
      what:
        violations.length === 0
          ? 'lifecycle invariants held: stock exact, units returned once, late payments refunded, one email per transition'
          : `lifecycle invariants broken: ${violations.map((v) => `${v.code}: ${v.message}`).join('; ')}`,
    },
    ...(await drill.afterSettled!({ system, audit })),
  ];
}

/** `completed ×120, expired ×180` */
function describeStatuses(audit: LifecycleAudit): string {
  const counts = new Map<string, number>();
  for (const { status } of audit.orders) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status} ×${n}`).join(', ') || 'no orders';
}

const passed = (o: DrillOutcome) =>
  o.lost.length === 0 &&
  o.duplicateEmails.length === 0 &&
  o.duplicatePdfs.length === 0 &&
  o.checks.every((c) => c.ok);

function printOutcome(o: DrillOutcome): void {
  console.log(`\nDrill ${o.drill.id}: ${o.drill.name} — ${passed(o) ? 'PASS' : 'FAIL'}`);
  console.log(summaryTable([o]));
  for (const check of o.checks) console.log(`  ${check.ok ? '✔' : '✘'} ${check.what}`);
  if (o.lost.length) console.log(`  lost orders, e.g. ${o.lost.slice(0, 3).join(', ')}`);
}

function summaryTable(outcomes: DrillOutcome[]): string {
  const header = [
    'drill',
    'orders accepted',
    'orders lost',
    'duplicate emails',
    'SMTP re-sends',
    'duplicate PDFs',
    'time to recover',
    '201 during the fault',
    ...(outcomes.some((o) => o.backMs !== undefined) ? ['cluster + consumers back'] : []),
  ];
  const rows = outcomes.map((o) => [
    `${o.drill.id}. ${o.drill.name}`,
    String(o.accepted),
    String(o.lost.length),
    String(o.duplicateEmails.length),
    String(o.smtpResends),
    String(o.duplicatePdfs.length),
    o.recoverMs === undefined ? 'did not recover' : `${(o.recoverMs / 1000).toFixed(1)} s`,
    o.duringFault.total === 0
      ? '-'
      : `${((100 * o.duringFault.ok) / o.duringFault.total).toFixed(1)}% of ${o.duringFault.total}`,
    ...(outcomes.some((x) => x.backMs !== undefined)
      ? [o.backMs === undefined ? 'not back' : `${(o.backMs / 1000).toFixed(1)} s`]
      : []),
  ]);
  return formatTable(header, rows);
}

function positive(raw: string | undefined, name: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number (got ${raw})`);
  return value;
}

main().then(
  (code) => process.exit(code),
  async (error: Error) => {
    console.error(`[drill] failed: ${error.stack ?? error.message}`);
    await startBrokerApp().catch(() => undefined);
    process.exit(2);
  },
);
