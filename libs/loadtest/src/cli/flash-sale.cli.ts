import { LOCAL_DEFAULTS, LOCAL_SECRET_FILES, SERVICE_PORTS } from '@shop/config';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  FLASH_SALE_LIMITS as LIMITS,
  PAYMENT_WINDOW_LIMITS,
  RABBITMQ_VHOST,
  SANDBOX_CARDS,
  SANDBOX_LATE_SUCCESS_MS,
  type FlashSaleProgressMessage,
} from '@shop/contracts';
import { CUSTOMER_DEFAULTS, sharesRefusal } from '../customer-actions';
import type { FlashSaleOptions, FlashSaleResults, SaleAdmission } from '../flash-sale.results';
import { ProgressLine } from '../progress';
import { renderReportHtml } from '../report/report-html';
import { runFlashSale, type FlashSalePhase } from '../run-flash-sale';
import { formatSummary, summaryRows } from '../summary';
import { costOf, formatCostTable, type CostColumn, type CostRow } from '../support/cpu-cost-table';
import { CpuTimeline } from '../support/cpu-timeline';
import { LOCAL_PROCESSES_FILE, readLocalProcesses } from '../support/local-processes';

/** The bounds of a sale's rules on the command line (order-api takes any limit of 1 or more). */
const SALE_LIMITS = {
  limitPerCustomer: { min: 1, max: 1_000, default: 1 },
  opensInMs: { min: 0, max: 3_600_000, default: 1_500 },
} as const;

const USAGE = `npm run loadtest:flash-sale -- [options]

  --stock N           units of the fresh flash-sale product      (default 500)
  --requests N        new orders to fire                         (default 20000)
  --connections N     clients firing at once                     (default 200)
  --retry-share F     share of orders re-sent with the same key  (default 0.05)
  --admission MODE    direct | queued: the product goes on sale (PUT /sales) opening --opens-in-ms
                      later, a few customers try before that, each signed-in customer orders one
                      unit, some try twice;
                      queued: each 202's ticket is followed until placed or refused. none: no sale,
                      guests order 1-2 units                     (default direct)
  --limit-per-customer N  units one customer may hold of the sale (PUT /sales' limitPerCustomer)
                                                                 (default ${SALE_LIMITS.limitPerCustomer.default})
  --opens-in-ms MS    the sale opens this long after it is created; sooner than 1500, no customer
                      tries before it opens                      (default ${SALE_LIMITS.opensInMs.default})
  --identity URL      identity, which mints the sale's customer tokens
                                                                 (default http://127.0.0.1:${SERVICE_PORTS.identity})
  --second-attempt-share F  share of a sale's customers who order again with a new key once their
                      first is answered                          (default 0.02)
  --api URL           order-api                                  (default http://localhost:${SERVICE_PORTS['order-api']})
  --mail-api URL      Mailpit-compatible API                     (default http://localhost:8025)
  --mailbox-capacity N  messages the mailbox keeps, for one that does not report it: Mailpit's
                      MP_MAX_MESSAGES (0 = no bound)             (default 500, Mailpit's own default)
  --amqp URL          broker, only to read queue depths          (default $RABBITMQ_URL or ${LOCAL_DEFAULTS.rabbitmqUrl}/${RABBITMQ_VHOST})
  --database URL      admin URL of the database order-api and payment use, read by the audit
                                                                 (default $DATABASE_URL or ${LOCAL_DEFAULTS.databaseUrl})
  --pay-share F       share of accepted orders whose customer pays with ${SANDBOX_CARDS.succeeds}
                                                                 (default ${CUSTOMER_DEFAULTS.payShare})
  --late-pay-share F  share who pay with ${SANDBOX_CARDS.succeedsLate}, charged ${SANDBOX_LATE_SUCCESS_MS / 1000} s later: after a
                      short window's end, so refunded            (default ${CUSTOMER_DEFAULTS.latePayShare})
  --cancel-share F    share who cancel: half before paying, half after the order shows paid
                                                                 (default ${CUSTOMER_DEFAULTS.cancelShare})
                      the rest never pay: their orders expire at payBy and the units come back
  --payment-window-ms MS  order-api's PAYMENT_WINDOW_MS, for the report only: the window is the
                      service's (each order's payBy from its 201 is what counts)
  --no-resell         do not sell returned units again (default: once units come back, buyers the
                      spike turned away order them again and pay)
  --await-expiry      wait for every unpaid reservation to expire, however long its window (default:
                      only when the last one ends within a minute, e.g. PAYMENT_WINDOW_MS=5000)
  --timeout MS        per-request timeout                        (default 10000)
  --drain-timeout MS  wait for emails and PDFs, beyond the last reservation's end and the late card
                                                                 (default 120000)
  --out DIR           results.json and report.html               (default var/loadtest/<timestamp>)
  --ipc               report progress to the parent process over Node's IPC channel (the dashboard
                      forks the load test with it); a {"kind":"stop"} message from it stops firing
  --cpu               CPU per request and peak memory of each local process (order-api, workers,
                      log-aggregator, mail catcher, PostgreSQL, RabbitMQ, this load generator) from
                      /proc: needs \`npm start\` on this machine (it writes var/run/local-processes.json)

It creates its product as the operator: the token is read from the environment variable OPS_TOKEN, else
from var/secrets/${LOCAL_SECRET_FILES.OPS_TOKEN} (written by \`npm start\`); the checks read each order with the
accessToken its 201 carried.

Before anything is sent it asks the mailbox (GET /api/v1/info) how many messages it keeps (npm start's
catcher reports its MAIL_CATCHER_MAX_MESSAGES; Mailpit reports nothing, hence --mailbox-capacity) and
refuses a sale that may send more emails than that: one per order, at most min(stock, requests).

Ctrl-C stops firing early: the orders accepted until then are still drained and checked; a second
Ctrl-C ends it at once. Exits 0 when every invariant held, 1 on any violation, 2 on bad options, an
unreachable system or a mailbox too small for the sale.`;

/** Parses the command line; throws with a readable message on a bad value. */
export function parseFlashSaleArgs(
  argv: string[],
): { options: Omit<FlashSaleOptions, 'opsToken'>; outDir?: string; cpu: boolean; ipc: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      stock: { type: 'string' },
      requests: { type: 'string' },
      connections: { type: 'string' },
      'retry-share': { type: 'string' },
      admission: { type: 'string' },
      'limit-per-customer': { type: 'string' },
      'opens-in-ms': { type: 'string' },
      identity: { type: 'string' },
      'second-attempt-share': { type: 'string' },
      api: { type: 'string' },
      'mail-api': { type: 'string' },
      'mailbox-capacity': { type: 'string' },
      amqp: { type: 'string' },
      timeout: { type: 'string' },
      'drain-timeout': { type: 'string' },
      database: { type: 'string' },
      'pay-share': { type: 'string' },
      'late-pay-share': { type: 'string' },
      'cancel-share': { type: 'string' },
      'payment-window-ms': { type: 'string' },
      'no-resell': { type: 'boolean' },
      'await-expiry': { type: 'boolean' },
      out: { type: 'string' },
      cpu: { type: 'boolean' },
      ipc: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const int = (
    name: keyof typeof values,
    { min, max, default: fallback }: { min: number; max: number; default: number },
  ) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${String(raw)})`);
    }
    return value;
  };
  const url = (name: keyof typeof values, fallback: string) => {
    const raw = (values[name] as string | undefined) ?? fallback;
    try {
      return new URL(raw).toString().replace(/\/$/, '');
    } catch {
      throw new Error(`--${name} must be a URL (got ${raw})`);
    }
  };
  const share = (name: keyof typeof values, fallback: number) => {
    const raw = values[name];
    const value = raw === undefined ? fallback : Number(raw);
    if (!(value >= 0 && value <= 1))
      throw new Error(`--${name} must be between 0 and 1 (got ${String(raw)})`);
    return value;
  };
  const retryShare = share('retry-share', LIMITS.retryShare.default);
  const shares = {
    payShare: share('pay-share', CUSTOMER_DEFAULTS.payShare),
    latePayShare: share('late-pay-share', CUSTOMER_DEFAULTS.latePayShare),
    cancelShare: share('cancel-share', CUSTOMER_DEFAULTS.cancelShare),
  };
  const refusedShares = sharesRefusal(shares);
  if (refusedShares) throw new Error(refusedShares);
  const admission = values.admission ?? 'direct';
  if (!['direct', 'queued', 'none'].includes(admission))
    throw new Error(`--admission must be direct, queued or none (got ${admission})`);
  return {
    options: {
      stock: int('stock', LIMITS.stock),
      requests: int('requests', LIMITS.requests),
      connections: int('connections', LIMITS.connections),
      retryShare,
      ...(admission !== 'none' && {
        admission: admission as SaleAdmission,
        limitPerCustomer: int('limit-per-customer', SALE_LIMITS.limitPerCustomer),
        opensInMs: int('opens-in-ms', SALE_LIMITS.opensInMs),
        identityUrl: url('identity', `http://127.0.0.1:${SERVICE_PORTS.identity}`),
        secondAttemptShare: share('second-attempt-share', 0.02),
      }),
      apiUrl: url('api', `http://localhost:${SERVICE_PORTS['order-api']}`),
      mailApiUrl: url('mail-api', 'http://localhost:8025'),
      mailboxCapacity:
        values['mailbox-capacity'] === undefined
          ? undefined
          : int('mailbox-capacity', { min: 0, max: 1_000_000_000, default: 0 }),
      // npm start runs the services in the vhost `shop`.
      amqpUrl: url('amqp', process.env.RABBITMQ_URL || `${LOCAL_DEFAULTS.rabbitmqUrl}/${RABBITMQ_VHOST}`),
      requestTimeoutMs: int('timeout', LIMITS.requestTimeoutMs),
      drainTimeoutMs: int('drain-timeout', LIMITS.drainTimeoutMs),
      auditDatabaseUrl: url('database', process.env.DATABASE_URL || LOCAL_DEFAULTS.databaseUrl),
      ...shares,
      paymentWindowMs:
        values['payment-window-ms'] === undefined
          ? undefined
          : int('payment-window-ms', {
              min: PAYMENT_WINDOW_LIMITS.minMs,
              max: PAYMENT_WINDOW_LIMITS.maxMs,
              default: 0,
            }),
      resell: !values['no-resell'],
      ...(values['await-expiry'] && { awaitExpiry: true }),
    },
    outDir: values.out,
    cpu: values.cpu ?? false,
    ipc: values.ipc ?? false,
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseFlashSaleArgs>;
  try {
    parsed = parseFlashSaleArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const opsToken = readOperatorToken();
  if (!opsToken) {
    const message = `the load test creates its product as the operator: set OPS_TOKEN, or run npm start once (it keeps the token in var/secrets/${LOCAL_SECRET_FILES.OPS_TOKEN})`;
    console.error(message);
    if (parsed.ipc) process.send?.({ kind: 'error', message } satisfies FlashSaleProgressMessage);
    return 2;
  }
  const options: FlashSaleOptions = { ...parsed.options, opsToken };
  const meter = parsed.cpu ? startCpuMeter(options) : undefined;
  if (typeof meter === 'string') {
    console.error(meter);
    return 2;
  }
  const progress = new ProgressLine();
  const parent = parsed.ipc ? connectToParent() : undefined;
  const stop = stopOnInterrupt(parent);
  let phase: 'firing' | 'draining' | undefined;
  const results = await runFlashSale(options, {
    stopSignal: stop.signal,
    onPhase: (p) => {
      meter?.mark(p);
      parent?.send({ kind: 'phase', phase: p });
    },
    onStep: (message) => {
      if (phase) progress.done();
      phase = undefined;
      console.error(`» ${message}`);
      parent?.send({ kind: 'step', message });
    },
    onFiring: (p) => {
      phase = 'firing';
      progress.firing(p);
      parent?.send({ kind: 'firing', progress: p });
    },
    onDraining: (p) => {
      phase = 'draining';
      progress.draining(p);
      parent?.send({ kind: 'draining', progress: p });
    },
  }).catch((error: Error) => {
    progress.done();
    console.error(`flash sale could not run: ${error.message}`);
    parent?.send({ kind: 'error', message: error.message });
    return undefined;
  });
  meter?.mark('done');
  meter?.stop();
  if (!results) return 2;
  progress.done();

  const outDir = resolve(parsed.outDir ?? join('var', 'loadtest', results.startedAt.replace(/[:.]/g, '-')));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), renderReportHtml(results));
  parent?.send({
    kind: 'finished',
    outcome: {
      outDir,
      finishedAt: results.finishedAt,
      violations: results.violations,
      summary: summaryRows(results),
    },
  });
  console.log(
    `\n${formatSummary(results)}\n\nresults: ${join(outDir, 'results.json')}\nreport:  ${join(outDir, 'report.html')}`,
  );
  if (meter) console.log(`\n${describeCost(meter, results)}`);
  return results.violations.length === 0 ? 0 : 1;
}

/** OPS_TOKEN from the environment (compose, the dashboard), else the file npm start keeps it in. */
function readOperatorToken(): string | undefined {
  const fromEnvironment = process.env.OPS_TOKEN?.trim();
  if (fromEnvironment) return fromEnvironment;
  try {
    return readFileSync(join('var', 'secrets', LOCAL_SECRET_FILES.OPS_TOKEN), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Progress for the process that forked this one with --ipc (the dashboard); see FlashSaleProgressMessage. */
function connectToParent(): { send(message: FlashSaleProgressMessage): void } | undefined {
  if (!process.send) {
    console.error(
      '--ipc: no IPC channel (start the load test with child_process.fork); progress not reported',
    );
    return undefined;
  }
  return { send: (message) => process.send?.(message) };
}

/** Ctrl-C, SIGTERM or a stop message from the parent stops firing; a second Ctrl-C exits at once. */
function stopOnInterrupt(parent: unknown): AbortController {
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    console.error(
      '\n» stopping: no more orders are sent; those accepted are drained and checked (Ctrl-C again to quit)',
    );
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (parent) {
    process.on('message', (message: { kind?: string }) => {
      if (message?.kind === 'stop' && !stop.signal.aborted) stop.abort();
    });
    // The parent went away: nobody is watching, stop sending orders.
    process.on('disconnect', () => stop.abort());
  }
  return stop;
}

const LOAD_GENERATOR = 'load generator';

/** The /proc meter for --cpu, or why it cannot run. */
function startCpuMeter(options: FlashSaleOptions): CpuTimeline | string {
  if (!['localhost', '127.0.0.1', '[::1]'].includes(new URL(options.apiUrl).hostname))
    return `--cpu reads the processes of this machine: --api must be local (got ${options.apiUrl})`;
  const processes = readLocalProcesses();
  if (!processes)
    return `--cpu needs \`npm start\` running on this machine (no live ${LOCAL_PROCESSES_FILE})`;
  const meter = new CpuTimeline({ ...processes, [LOAD_GENERATOR]: process.pid });
  meter.start(200);
  return meter;
}

/** The bench's cost table for this one run: per request and per accepted order, firing → drained. */
function describeCost(meter: CpuTimeline, results: FlashSaleResults): string {
  const at = (phase: FlashSalePhase | 'done') => phase;
  const window = meter.between(at('firing'), at('verifying'));
  const firing = meter.between(at('firing'), at('draining'));
  const checks = meter.between(at('draining'), at('done'));
  if (!window || !firing || !checks) return 'CPU: n/a (the run ended before firing)';
  const generator = (w: typeof window) => ((w.cpuSeconds[LOAD_GENERATOR] ?? 0) - w.meterSeconds) * 1000;
  const cost = costOf(window);
  delete cost.cpuMs[LOAD_GENERATOR];
  cost.cpuMs[`${LOAD_GENERATOR}: firing`] = generator(firing);
  cost.cpuMs[`${LOAD_GENERATOR}: checks`] = generator(checks);
  cost.peakBytes[`${LOAD_GENERATOR}: firing`] = window.peakResidentBytes[LOAD_GENERATOR];
  const columns: CostColumn[] = [
    { title: 'this run', unit: 'request', units: results.firing.requestsSent, ...cost },
    { title: 'this run', unit: 'accepted order', units: results.serverSales.orders, ...cost },
  ];
  const rows: CostRow[] = [
    ...meter.namedProcesses.filter((name) => name !== LOAD_GENERATOR).map((key) => ({ key, system: true })),
    { key: 'postgres', label: 'postgres (all processes)', system: true },
    { key: 'rabbitmq', label: 'rabbitmq (beam.smp + children)', system: true },
    { key: `${LOAD_GENERATOR}: firing`, system: false },
    { key: `${LOAD_GENERATOR}: checks`, system: false },
  ];
  return (
    `CPU per unit of work by process, from /proc (firing → drained, ${window.seconds.toFixed(1)} s; ` +
    `machine ${window.machineBusy.toFixed(0)}% of ${cpus().length * 100}%), ` +
    `and peak resident memory (MB)\n\n${formatCostTable(columns, rows)}`
  );
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error);
      process.exit(2);
    },
  );
}
