import {
  SANDBOX_LATE_SUCCESS_MS,
  type DrainProgress,
  type FiringProgress,
  type FlashSalePhase,
} from '@shop/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { clientAddressOf, fireSpike, type SpikeCustomer } from './fire-spike';
import { sharesRefusal } from './customer-actions';
import type {
  AcceptedOrder,
  EmailKind,
  FiringSample,
  FlashSaleOptions,
  FlashSaleResults,
  LifecycleFigures,
  PipelineSample,
  RequestOutcome,
  SaleFigures,
} from './flash-sale.results';
import { checkFlashSaleInvariants, deadLettersOfRun, expectedEmailsOf } from './invariants';
import {
  isAuditSettled,
  isSettled,
  LifecycleAuditor,
  type AuditedOrder,
  type LifecycleAudit,
} from './lifecycle-audit';
import {
  countEmailsByOrder,
  readMailboxInfo,
  readMailboxResends,
  type EmailsOfOrder,
} from './mail-catcher.client';
import { describeMailbox, mailboxCapacityOf, mailboxRefusal } from './mailbox-capacity';
import {
  DEAD_LETTER_QUEUES,
  QueueDepthReader,
  readSales,
  withSlash,
  type ProductSales,
} from './pipeline-probe';
import { SaleAftermath, type SaleOrder } from './sale-aftermath';
import { createSale, mintCustomerTokens, SaleClient } from './sale-client';
import {
  fairnessOfOutcomes,
  finalAtMs,
  finalOutcomeLatency,
  isAccepted,
  refusalOf,
  refusalsByCode,
  ticketFigures,
} from './sale-figures';
import { histogram, percentile, summarise } from './stats';

export type { DrainProgress, FiringProgress, FlashSalePhase } from '@shop/contracts';

export interface FlashSaleHooks {
  onFiring?: (progress: FiringProgress) => void;
  onDraining?: (progress: DrainProgress) => void;
  /** A line about what is happening now ("creating product", "checking 500 orders"). */
  onStep?: (message: string) => void;
  /**
   * Called as each phase starts, synchronously (a CPU meter marks its windows here): firing the
   * spike, waiting for the pipeline to drain, checking the invariants.
   */
  onPhase?: (phase: FlashSalePhase) => void;
  /** Stops firing early when aborted; the orders accepted until then are drained and checked as usual. */
  stopSignal?: AbortSignal;
}

/** The longest wait for unpaid reservations to expire that a sale makes by itself (FlashSaleOptions.awaitExpiry). */
const LONGEST_EXPIRY_WAIT_MS = 60_000;
const TICK_MS = 250;
const TIMELINE_SLICE_MS = 250;
/** identity under npm start. */
export const DEFAULT_IDENTITY_URL = 'http://127.0.0.1:3005';
/** A sale opens this long after it is created: the early requests are sent and answered in between. */
const DEFAULT_OPENS_IN_MS = 1_500;
/** Sent after opening by the load generator's clock, so no spike request can reach order-api before it. */
const OPENING_MARGIN_MS = 50;
/** Share of a sale's customers who order a second time. */
const DEFAULT_SECOND_ATTEMPT_SHARE = 0.02;
/** 1/φ: customer n tries twice when n/φ mod 1 falls below the share (evenly spread, the same every run). */
const GOLDEN_STEP = (Math.sqrt(5) - 1) / 2;

/** The requests sent before a sale opens: a few, 1 % of them, 3 to 50. */
export const earlyRequestsOf = (requests: number): number =>
  Math.min(requests, 50, Math.max(3, Math.ceil(requests / 100)));

/**
 * The whole flash-sale scenario: make sure the mailbox can keep every email the sale may send, create
 * a fresh product, fire the spike, wait for every email and PDF, then check the business invariants.
 * Returns everything measured; `violations` empty means it held. Throws before sending anything when
 * the system cannot run the sale (an error with `code` MAILBOX_TOO_SMALL when the mailbox is too small).
 */
export async function runFlashSale(
  options: FlashSaleOptions,
  hooks: FlashSaleHooks = {},
): Promise<FlashSaleResults> {
  const startedAt = new Date();
  const runId = `fs${startedAt.getTime().toString(36)}`;
  const sku = `FLASH-${runId.toUpperCase()}`;
  const api = withSlash(options.apiUrl);

  const mailbox = await readMailboxInfo(options.mailApiUrl);
  const capacity = mailboxCapacityOf(mailbox, options.mailboxCapacity);
  const refusal = mailboxRefusal(capacity, options);
  if (refusal) throw Object.assign(new Error(refusal), { code: 'MAILBOX_TOO_SMALL' });
  hooks.onStep?.(describeMailbox(capacity, options));

  const refusedShares = sharesRefusal(options);
  if (refusedShares) throw Object.assign(new Error(refusedShares), { code: 'BAD_OPTIONS' });
  const auditor = await LifecycleAuditor.connect(options.auditDatabaseUrl).catch((error: Error) => {
    throw Object.assign(
      new Error(
        `the audit cannot read the database at ${redact(options.auditDatabaseUrl)}: ${error.message}`,
      ),
      { code: 'AUDIT_UNREACHABLE' },
    );
  });
  hooks.onStep?.(`creating product ${sku} with ${options.stock} units`);
  const priceCents = 4_900;
  const created = await fetch(new URL(`products/${sku}`, api), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.opsToken}` },
    body: JSON.stringify({ name: `秒杀 Flash-sale sneaker ${runId}`, priceCents, stock: options.stock }),
  });
  if (created.status !== 201) {
    await auditor.close();
    throw new Error(`PUT /products/${sku} answered ${created.status}: ${await created.text()}`);
  }

  const resendsBefore = mailbox.resends;
  const queues = await QueueDepthReader.open(options.amqpUrl);
  if (!queues) hooks.onStep?.(`cannot read queues at ${redact(options.amqpUrl)}: depths not shown`);
  const samples: PipelineSample[] = [];
  let firingStart = performance.now();
  const takeSample = async (): Promise<{ sales: ProductSales; sample: PipelineSample } | undefined> => {
    const atMs = performance.now() - firingStart;
    const [sales, queueDepths] = await Promise.all([
      readSales(options.apiUrl, sku).catch(() => undefined),
      queues ? queues.depths() : Promise.resolve({}),
    ]);
    if (!sales) return undefined;
    const sample = { atMs, emails: sales.notified, pdfs: sales.reported, queueDepths };
    samples.push(sample);
    return { sales, sample };
  };

  try {
    const aftermath = new SaleAftermath({
      apiUrl: api,
      sku,
      runId,
      // A queued sale's follow-up orders would get tickets too: only a direct sale's units are resold.
      resell: options.resell && options.admission !== 'queued',
      shares: options,
    });
    const live = { done: 0, accepted: 0, soldOut: 0, errors: 0 };
    // For the live view: every answer as it arrives, each ticket's end, the last tick's times to outcome.
    const answersByCode: Record<string, number> = {};
    const countAnswer = (label: string) => (answersByCode[label] = (answersByCode[label] ?? 0) + 1);
    let tickOutcomeTimes: number[] = [];
    const secondAttempts: RequestOutcome[] = [];
    // An attempt's final outcome: its answer, or where its ticket ended.
    const onFinal = (outcome: RequestOutcome) => {
      if (outcome.status === 202)
        countAnswer(`ticket ${outcome.ticketStatus ?? 'lost'}${outcome.code ? ` ${outcome.code}` : ''}`);
      const at = finalAtMs(outcome);
      if (!outcome.resend && at !== undefined && outcome.sentAtMs !== undefined)
        tickOutcomeTimes.push(at - outcome.sentAtMs);
      const refusal = refusalOf(outcome);
      // A replay (200) names its order too: its customer acts on it if the original's answer was lost.
      aftermath.accepted(outcome);
      if (isAccepted(outcome) && !outcome.resend) live.accepted++;
      else if (refusal === 'OUT_OF_STOCK') live.soldOut++;
      else if (refusal) live.errors++;
      if (outcome.attempt === 2) secondAttempts.push(outcome);
    };
    const triesTwice = new Set<string>();
    let saleClient: SaleClient | undefined;
    let sale: SaleFigures | undefined;
    let customers: SpikeCustomer[] | undefined;
    const earlyOutcomes: RequestOutcome[] = [];
    if (options.admission) {
      const emails = Array.from(
        { length: options.requests },
        (_, n) => `buyer-${n}@${runId}.loadtest.example`,
      );
      const identityUrl = options.identityUrl ?? DEFAULT_IDENTITY_URL;
      hooks.onStep?.(`signing in ${emails.length} customers: tokens from identity at ${identityUrl}`);
      customers = await mintCustomerTokens(identityUrl, options.opsToken, emails);
      const share = options.secondAttemptShare ?? DEFAULT_SECOND_ATTEMPT_SHARE;
      customers.forEach(({ email }, n) => (n * GOLDEN_STEP) % 1 < share && triesTwice.add(email));
      saleClient = new SaleClient(api, { sku, runId, customers }, onFinal);
      saleClient.onAnswer = (outcome) => countAnswer(answerLabelOf(outcome));
      const opensInMs = options.opensInMs ?? DEFAULT_OPENS_IN_MS;
      const opensAt = Date.now() + opensInMs;
      const created = await createSale(api, options.opsToken, runId, {
        sku,
        opensAt: new Date(opensAt).toISOString(),
        // Open past anything the run can still do: the drain's end, follow-up orders included.
        closesAt: new Date(opensAt + 3_600_000 + options.drainTimeoutMs).toISOString(),
        limitPerCustomer: options.limitPerCustomer ?? 1,
        ...(options.paymentWindowMs !== undefined && { paymentWindowMs: options.paymentWindowMs }),
        admission: options.admission,
      });
      // Sooner than the default, the early requests might arrive after opening: none are sent.
      const early = opensInMs >= DEFAULT_OPENS_IN_MS ? earlyRequestsOf(options.requests) : 0;
      hooks.onStep?.(
        `sale ${runId} (${options.admission}) opens at ${created.opensAt}; ${early} customers try before that`,
      );
      earlyOutcomes.push(
        ...(await Promise.all(
          customers.slice(0, early).map((customer, i) =>
            saleClient!.attempt(customer, {
              key: `early-${i}`,
              clientAddress: clientAddressOf(i),
              attempt: 1,
              early: true,
            }),
          ),
        )),
      );
      for (const outcome of earlyOutcomes) saleClient.answered(outcome);
      const stockBeforeOpen = await readSales(options.apiUrl, sku).then(
        (sales) => sales.stock,
        () => null,
      );
      sale = {
        id: created.id,
        admission: created.admission,
        opensAt: created.opensAt,
        closesAt: created.closesAt,
        limitPerCustomer: created.limitPerCustomer,
        paymentWindowMs: created.paymentWindowMs,
        customers: customers.length,
        earlyRequests: early,
        secondAttempts: 0,
        stockBeforeOpen,
      };
      await sleep(Math.max(0, Date.parse(created.opensAt) + OPENING_MARGIN_MS - Date.now()));
    }

    // ---- fire ----
    hooks.onStep?.(`firing ${options.requests} orders from ${options.connections} connections at once`);
    let lastTick = { at: performance.now(), done: 0, accepted: 0 };
    let tickLatencies: number[] = [];
    const progressNow = (): FiringProgress => {
      const now = performance.now();
      const perSecond = (count: number) => (count * 1000) / Math.max(1, now - lastTick.at);
      const sorted = tickLatencies.sort((a, b) => a - b);
      const outcomeTimes = tickOutcomeTimes.sort((a, b) => a - b);
      const progress = {
        ...live,
        total: options.requests,
        currentRate: perSecond(live.done - lastTick.done),
        acceptedRate: perSecond(live.accepted - lastTick.accepted),
        latencyP50Ms: percentile(sorted, 50),
        latencyP99Ms: percentile(sorted, 99),
        answersByCode: { ...answersByCode },
        outcomeP50Ms: percentile(outcomeTimes, 50),
        outcomeP99Ms: percentile(outcomeTimes, 99),
      };
      lastTick = { at: now, done: live.done, accepted: live.accepted };
      tickLatencies = [];
      tickOutcomeTimes = [];
      return progress;
    };
    const firingTicker = setInterval(() => hooks.onFiring?.(progressNow()), TICK_MS);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await takeSample();
        await sleep(TICK_MS);
      }
    })();
    hooks.onPhase?.('firing');
    firingStart = performance.now();
    aftermath.firingStart = firingStart;
    if (saleClient) {
      // The early requests' times count from firing too: before it, negative.
      const shift = firingStart - saleClient.firingStart;
      for (const outcome of earlyOutcomes) {
        outcome.sentAtMs = (outcome.sentAtMs ?? 0) - shift;
        outcome.finishedAtMs -= shift;
      }
      saleClient.firingStart = firingStart;
    }
    const spike = await fireSpike({
      apiUrl: options.apiUrl,
      sku,
      runId,
      requests: options.requests,
      connections: options.connections,
      retryShare: options.retryShare,
      requestTimeoutMs: options.requestTimeoutMs,
      stopSignal: hooks.stopSignal,
      customers,
      onOutcome: (outcome) => {
        tickLatencies.push(outcome.latencyMs);
        if (!outcome.resend) live.done++;
        if (!saleClient) {
          countAnswer(answerLabelOf(outcome));
          onFinal(outcome);
        } else {
          saleClient.answered(outcome);
          // Trying again as soon as the first try is answered (a 201, or a ticket), while stock lasts:
          // order-api tells a customer over the limit so only when stock is left.
          if (!outcome.resend && outcome.customer && triesTwice.has(outcome.customer))
            saleClient.secondAttempt(outcome);
        }
      },
    }).catch((error: unknown) => {
      clearInterval(firingTicker);
      throw error;
    });
    if (saleClient) {
      // Tickets still waiting and second tries end within the drain timeout: what has not, is lost.
      if (saleClient.busy)
        hooks.onStep?.(`following ${saleClient.tickets.size} tickets and the second tries`);
      saleClient.followUntil(Date.now() + options.drainTimeoutMs);
      await saleClient.settled();
      sale!.secondAttempts = secondAttempts.length;
      if (auditor)
        await timeTicketDecisions(
          auditor,
          [...earlyOutcomes, ...spike.outcomes, ...secondAttempts],
          firingStart,
        );
    }
    clearInterval(firingTicker);
    hooks.onFiring?.({ ...progressNow(), currentRate: 0, acceptedRate: 0 });
    sampling = false;
    await sampler;

    // ---- drain: the customers act, returned units are sold again, every order settles ----
    const attempts = [...earlyOutcomes, ...spike.outcomes, ...secondAttempts];
    if (customers) {
      // A sale's buyers turned away come back signed in, and only those who got nothing.
      const served = new Set(attempts.filter(isAccepted).map((o) => o.customer));
      const tokenOf = new Map(customers.map((c) => [c.email, c.token]));
      const turnedAway = new Set(
        attempts
          .filter((o) => refusalOf(o) === 'OUT_OF_STOCK' && !served.has(o.customer))
          .map((o) => o.customer!),
      );
      aftermath.turnedAway = [...turnedAway].map((email) => ({ email, token: tokenOf.get(email)! }));
      aftermath.demand = aftermath.turnedAway.length;
    } else aftermath.demand = spike.outcomes.filter((o) => refusalOf(o) === 'OUT_OF_STOCK').length;
    hooks.onPhase?.('draining');
    const actions = countBy([...aftermath.orders.values()].map((o) => o.action));
    hooks.onStep?.(
      `${aftermath.orders.size} orders: customers ${Object.entries(actions)
        .map(([action, n]) => `${action} ×${n}`)
        .join(', ')}; waiting until every order is settled, emailed and reported` +
        (options.resell ? ', selling returned units again' : ''),
    );
    // Unset: wait for unpaid reservations to expire when the window is short enough to watch (tests,
    // drills, a sale with PAYMENT_WINDOW_MS in seconds); with npm start's 15 minutes, an unpaid order is
    // done once emailed and reported, its reservation still running.
    const lastPayBy = aftermath.lastEventDue() - SANDBOX_LATE_SUCCESS_MS;
    const awaitExpiry = options.awaitExpiry ?? lastPayBy - Date.now() <= LONGEST_EXPIRY_WAIT_MS;
    if (!awaitExpiry) {
      hooks.onStep?.(
        `unpaid reservations run until ${new Date(lastPayBy).toISOString()}: not waiting for them to expire (--await-expiry waits)`,
      );
    }
    const drainStart = performance.now();
    let drained = false;
    let lastSales: ProductSales | undefined;
    let tick = 0;
    // Reservations end at their payBy; a late card's charge lands 10 s after it was asked for.
    const drainStartedAt = Date.now();
    const drainDeadline = () =>
      (awaitExpiry ? Math.max(drainStartedAt, aftermath.lastEventDue()) : drainStartedAt) +
      options.drainTimeoutMs;
    try {
      while (Date.now() < drainDeadline()) {
        const taken = await takeSample();
        if (taken) {
          lastSales = taken.sales;
          aftermath.resell(taken.sales.stock);
          hooks.onDraining?.({
            accepted: taken.sales.orders,
            emails: taken.sample.emails,
            pdfs: taken.sample.pdfs,
            queueDepths: taken.sample.queueDepths,
            elapsedMs: performance.now() - drainStart,
          });
        }
        // The audit and the mailbox every second: cheap next to the sale, but not free on its CPU figures.
        if (
          tick++ % 4 === 0 &&
          !aftermath.busy &&
          (await everyOrderSettled(auditor, sku, aftermath, awaitExpiry))
        ) {
          const emails = await countEmailsByOrder(options.mailApiUrl, startedAt);
          const orders = await auditor.orders(sku);
          if (orders.every((order) => hasExpectedEmails(order, emails.get(order.id)))) {
            drained = true;
            break;
          }
        }
        await sleep(TICK_MS);
      }
    } finally {
      await aftermath.close();
      await saleClient?.close();
    }
    const drainWaitedMs = performance.now() - drainStart;
    hooks.onPhase?.('verifying');

    // ---- verify ----
    const saleOrders = [...aftermath.orders.values()];
    hooks.onStep?.(
      `checking ${saleOrders.length} orders: the audit, emails at the mail catcher, PDFs, dead letters`,
    );
    // Read again: a follow-up order may have been placed after the last sample.
    const finalSales = await readSales(options.apiUrl, sku).catch(() => lastSales);
    if (!finalSales) throw new Error(`GET /products/${sku}/sales does not answer`);
    const audit = await auditor.audit(sku).catch(() => undefined);
    const emailsByOrder = await countEmailsByOrder(options.mailApiUrl, startedAt);
    const resendsAfter = await readMailboxResends(options.mailApiUrl);
    const emailsResent =
      resendsBefore === undefined || resendsAfter === undefined ? undefined : resendsAfter - resendsBefore;
    // One keep-alive pool for the checks: thousands of GETs through fetch would cost the load generator more.
    const checks = new Pool(new URL(api).origin, {
      connections: 16,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const acceptedOrders = await mapConcurrently(saleOrders, 16, async (order) =>
      describeAcceptedOrder(checks, new URL(api).pathname, order, emailsByOrder.get(order.orderId) ?? {}),
    ).finally(() => checks.close());
    // Only this run's messages count: one parked last week is not this sale's failure.
    const parked = queues ? await queues.parkedOrderIds(DEAD_LETTER_QUEUES) : undefined;
    const deadLetters = parked && deadLettersOfRun(parked, new Set(aftermath.orders.keys()));
    const deadLetteredComplete =
      deadLetters && DEAD_LETTER_QUEUES.every((queue) => queue in deadLetters.ofThisRun)
        ? deadLetters.ofThisRun
        : undefined;

    const product = {
      sku,
      initialStock: options.stock,
      finalStock: audit?.productStock ?? finalSales.stock,
      priceCents,
    };
    const serverSales = { orders: finalSales.orders, units: finalSales.unitsSold };
    const violations = checkFlashSaleInvariants({
      product,
      serverSales,
      outcomes: [...attempts, ...aftermath.resaleOutcomes],
      acceptedOrders,
      deadLettered: deadLetteredComplete,
      emailsResent,
      audit,
      awaitExpiry,
      sale: sale && {
        opensAt: sale.opensAt,
        limitPerCustomer: sale.limitPerCustomer,
        stockBeforeOpen: sale.stockBeforeOpen,
      },
    });
    if (!drained) {
      const unsettled = audit?.orders.filter((order) => !isSettled(order, awaitExpiry)).length;
      violations.push({
        code: 'DRAIN_TIMEOUT',
        message: `the sale had not settled ${Math.round(drainWaitedMs / 1000)} s after firing (${unsettled ?? '?'} orders unsettled, ${finalSales.notified}/${finalSales.orders} emailed, ${finalSales.reported}/${finalSales.orders} reported)`,
      });
    }
    return {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: publicOptions(options),
      product,
      serverSales,
      firing: {
        ...firingFigures(attempts, spike.durationMs),
        ...(sale && {
          finalOutcome: finalOutcomeLatency(attempts),
          refusalsByCode: refusalsByCode(attempts),
          fairness: fairnessOfOutcomes(attempts, options.admission),
          ...(options.admission === 'queued' && { tickets: ticketFigures(attempts) }),
        }),
        stoppedEarly: hooks.stopSignal?.aborted ?? false,
      },
      ...(sale && { sale }),
      drain: {
        durationMs: drained ? drainDurationMs(acceptedOrders) : drainWaitedMs,
        completed: drained,
        emails: acceptedOrders.filter((o) => o.emailCount > 0).length,
        pdfs: acceptedOrders.filter((o) => o.pdfCount > 0).length,
        deadLettered: deadLetters?.ofThisRun ?? {},
        otherDeadLetters: deadLetters?.others ?? {},
        samples,
      },
      endToEnd: {
        email: summarise(acceptedOrders.flatMap((o) => elapsed(o.createdAt, o.notifiedAt))),
        pdf: summarise(acceptedOrders.flatMap((o) => elapsed(o.createdAt, o.reportedAt))),
      },
      acceptedOrders,
      lifecycle: lifecycleFigures(acceptedOrders, audit),
      violations,
    };
  } finally {
    await queues?.close();
    await auditor.close();
  }
}

/** The options as results.json keeps them: no operator token, no broker or database password. */
function publicOptions({ opsToken: _secret, ...options }: FlashSaleOptions): FlashSaleResults['options'] {
  return { ...options, amqpUrl: redact(options.amqpUrl), auditDatabaseUrl: redact(options.auditDatabaseUrl) };
}

/** Every order of the sale, spike and follow-ups, settled in the database (none missing), no charge open. */
async function everyOrderSettled(
  auditor: LifecycleAuditor,
  sku: string,
  aftermath: SaleAftermath,
  awaitExpiry: boolean,
) {
  const audit = await auditor.audit(sku).catch(() => undefined);
  return (
    !!audit &&
    audit.orders.length >= aftermath.orders.size &&
    isAuditSettled(audit, { awaitExpiry, acceptedPaymentIds: aftermath.acceptedPaymentIds })
  );
}

/** Whether the mailbox holds one email per transition the order went through (and no fewer). */
function hasExpectedEmails(order: AuditedOrder, emails: EmailsOfOrder | undefined): boolean {
  return [...expectedEmailsOf(order)].every((kind) => (emails?.[kind] ?? 0) >= 1);
}

/** The fields of GET /orders/:id the checks read. */
type OrderView = Pick<
  AcceptedOrder,
  | 'createdAt'
  | 'notifiedAt'
  | 'reportedAt'
  | 'status'
  | 'payBy'
  | 'paidAt'
  | 'expiredAt'
  | 'cancelledAt'
  | 'refundedAt'
  | 'completedAt'
>;

async function describeAcceptedOrder(
  pool: Pool,
  basePath: string,
  { accessToken, answers, clientAddress: _address, ...order }: SaleOrder,
  emails: EmailsOfOrder,
): Promise<AcceptedOrder> {
  const headers = { authorization: `Bearer ${accessToken}` };
  const response = await pool.request({ path: `${basePath}orders/${order.orderId}`, method: 'GET', headers });
  const view =
    response.statusCode === 200
      ? ((await response.body.json()) as OrderView)
      : await response.body.dump().then(() => undefined);
  // GET /orders/:id/report would render a missing PDF on demand (RPC), hiding a lost order_report
  // message: only an order that report-worker reported through the pipeline is asked for its PDF.
  let pdfCount = 0;
  if (view?.reportedAt) {
    const report = await pool.request({
      path: `${basePath}orders/${order.orderId}/report`,
      method: 'GET',
      headers,
    });
    const pdf = report.statusCode === 200 ? Buffer.from(await report.body.arrayBuffer()) : undefined;
    if (!pdf) await report.body.dump();
    // The report is named after the order and written atomically, so there is one PDF or none.
    pdfCount = pdf && pdf.subarray(0, 5).toString('latin1') === '%PDF-' ? 1 : 0;
  }
  const { placed = 0, ...lifecycleEmails } = emails;
  return {
    ...order,
    actionAnswers: answers,
    createdAt: view?.createdAt ?? '',
    notifiedAt: view?.notifiedAt,
    reportedAt: view?.reportedAt,
    status: view?.status,
    payBy: view?.payBy ?? order.payBy,
    paidAt: view?.paidAt ?? undefined,
    expiredAt: view?.expiredAt ?? undefined,
    cancelledAt: view?.cancelledAt ?? undefined,
    refundedAt: view?.refundedAt ?? undefined,
    completedAt: view?.completedAt ?? undefined,
    emailCount: placed,
    lifecycleEmails,
    pdfCount,
  };
}

/** The lifecycle's figures for the results: statuses, actions, refunds, returned and resold units, emails. */
function lifecycleFigures(
  orders: readonly AcceptedOrder[],
  audit: LifecycleAudit | undefined,
): LifecycleFigures {
  const audited = audit?.orders ?? [];
  const expiries = audited.flatMap((o) => (o.expiredAt ? [Date.parse(o.expiredAt)] : []));
  const firstExpiry = expiries.length ? Math.min(...expiries) : Infinity;
  const emails: Partial<Record<EmailKind, number>> = {};
  for (const order of orders) {
    emails.placed = (emails.placed ?? 0) + order.emailCount;
    for (const [kind, n] of Object.entries(order.lifecycleEmails ?? {}))
      emails[kind as EmailKind] = (emails[kind as EmailKind] ?? 0) + (n ?? 0);
  }
  return {
    statuses: countBy(audited.map((o) => o.status)),
    actions: countBy(orders.flatMap((o) => (o.action ? [o.action] : []))),
    latePaymentsRefunded: audited.filter((o) => o.refundedAt && !o.paidAt).length,
    unitsReturned: audited.filter((o) => o.stockReturnedAt).reduce((sum, o) => sum + o.quantity, 0),
    resaleOrders: orders.filter((o) => o.wave === 'resale').length,
    ordersAcceptedAfterFirstExpiry: audited.filter((o) => Date.parse(o.createdAt) > firstExpiry).length,
    emails,
  };
}

function countBy<T extends string>(values: readonly T[]): Partial<Record<T, number>> {
  const counts: Partial<Record<T, number>> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** An answer as statusCounts and the live answersByCode key it: `201`, `202`, `409 OUT_OF_STOCK`, `0 TIMEOUT`. */
export function answerLabelOf({ status, code }: Pick<RequestOutcome, 'status' | 'code'>): string {
  return status === 200 || status === 201 ? String(status) : `${status} ${code ?? ''}`.trim();
}

function firingFigures(
  outcomes: readonly RequestOutcome[],
  durationMs: number,
): Omit<FlashSaleResults['firing'], 'stoppedEarly'> {
  const statusCounts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const label = answerLabelOf(outcome);
    statusCounts[label] = (statusCounts[label] ?? 0) + 1;
  }
  // Each order once: a re-send's ticket is placed as its original's order.
  const accepted = [...new Map(outcomes.filter(isAccepted).map((o) => [o.orderId ?? o, o])).values()];
  const acceptances = accepted.map((o) => finalAtMs(o) ?? o.finishedAtMs);
  const firstAcceptanceAtMs = acceptances.length ? Math.min(...acceptances) : null;
  const lastAcceptanceAtMs = acceptances.length ? Math.max(...acceptances) : null;
  // Queued: the orders' createdAt span, not when polling clients happened to see them placed.
  const created = accepted.every((o) => o.createdAt) ? accepted.map((o) => Date.parse(o.createdAt!)) : [];
  const acceptingMs =
    created.length > 1
      ? Math.max(...created) - Math.min(...created)
      : firstAcceptanceAtMs !== null && lastAcceptanceAtMs !== null
        ? lastAcceptanceAtMs - firstAcceptanceAtMs
        : 0;
  const latencies = outcomes.map((o) => o.latencyMs);
  // The rate of the spike's own exchanges: early requests and second tries come before and after it.
  const spiked = outcomes.filter((o) => !o.early && o.attempt !== 2).length;
  return {
    durationMs,
    requestsSent: outcomes.length,
    resendsSent: outcomes.filter((o) => o.resend).length,
    requestsPerSecond: (spiked * 1000) / durationMs,
    // Rate while stock lasted; one acceptance alone has no rate.
    acceptedPerSecond: acceptingMs > 0 ? (acceptances.length * 1000) / acceptingMs : Number.NaN,
    firstAcceptanceAtMs,
    lastAcceptanceAtMs,
    statusCounts,
    latency: summarise(latencies),
    histogram: histogram(latencies),
    timeline: timelineOf(outcomes, durationMs),
  };
}

function timelineOf(outcomes: readonly RequestOutcome[], durationMs: number): FiringSample[] {
  const slices: FiringSample[] = Array.from(
    { length: Math.max(1, Math.ceil(durationMs / TIMELINE_SLICE_MS)) },
    (_, i) => ({
      atMs: i * TIMELINE_SLICE_MS,
      completed: 0,
      accepted: 0,
      soldOut: 0,
      errors: 0,
    }),
  );
  for (const outcome of outcomes) {
    // An early request (before firing) counts in the first slice, a late second try in the last.
    const index = Math.floor(outcome.finishedAtMs / TIMELINE_SLICE_MS);
    const slice = slices[Math.max(0, Math.min(slices.length - 1, index))];
    slice.completed++;
    if (outcome.status === 201) slice.accepted++;
    else if (outcome.status === 409) slice.soldOut++;
    else if (outcome.status !== 200) slice.errors++;
  }
  return slices;
}

/** From the last order's creation to the last email or PDF, by the database's clock. */
function drainDurationMs(orders: readonly AcceptedOrder[]): number {
  if (orders.length === 0) return 0;
  const lastCreated = Math.max(...orders.map((o) => Date.parse(o.createdAt)));
  const lastDone = Math.max(
    ...orders.flatMap((o) => [o.notifiedAt, o.reportedAt].map((t) => (t ? Date.parse(t) : 0))),
  );
  return Math.max(0, lastDone - lastCreated);
}

const elapsed = (from: string, to: string | undefined): number[] =>
  to && from ? [Date.parse(to) - Date.parse(from)] : [];

/** The URL without its password, for files and screens. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * When order-api decided each ticket (order_request_outcomes.decided_at), counted from the start of
 * firing on this machine's clock: a client following its ticket over server-sent events hears it then,
 * while one that polls hears it up to a poll interval later.
 */
async function timeTicketDecisions(
  auditor: LifecycleAuditor,
  outcomes: RequestOutcome[],
  firingStart: number,
): Promise<void> {
  const ticketIdOf = (ticket: string) => ticket.split('.')[0];
  const tickets = outcomes.flatMap((o) => (o.ticket ? [ticketIdOf(o.ticket)] : []));
  if (tickets.length === 0) return;
  const decidedAt = await auditor.ticketDecisions(tickets);
  // performance.now() and Date.now() as one clock: firing started at this wall-clock time.
  const firingStartedAtEpochMs = Date.now() - (performance.now() - firingStart);
  for (const outcome of outcomes) {
    const at = outcome.ticket && decidedAt.get(ticketIdOf(outcome.ticket));
    if (at) outcome.ticketDecidedAtMs = at - firingStartedAtEpochMs;
  }
}
