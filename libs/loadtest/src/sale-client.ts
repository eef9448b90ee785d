import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { SpikeCustomer } from './fire-spike';
import { Customers } from './customer-actions';
import { customerFor } from './customers';
import { clientAddressOf } from './fire-spike';
import type { SaleView, TicketView } from '@shop/contracts';
import type { RequestOutcome } from './flash-sale.results';
import { withSlash } from './pipeline-probe';

/** identity's POST /ops/customers/tokens takes at most this many emails a call. */
export const TOKENS_PER_CALL = 1_000;
/** A ticket is asked about first this long after its 202, then less and less often, up to the cap. */
export const TICKET_POLL = { firstMs: 250, factor: 1.5, capMs: 2_000 } as const;

/**
 * Signed-in customers for a sale: identity mints one token per email (operator token), a thousand
 * emails a call, two calls at a time. Before the spike, not timed.
 */
export async function mintCustomerTokens(
  identityUrl: string,
  opsToken: string,
  emails: readonly string[],
): Promise<SpikeCustomer[]> {
  const url = new URL('ops/customers/tokens', withSlash(identityUrl));
  const batches = Array.from({ length: Math.ceil(emails.length / TOKENS_PER_CALL) }, (_, i) =>
    emails.slice(i * TOKENS_PER_CALL, (i + 1) * TOKENS_PER_CALL),
  );
  const tokenOf = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opsToken}` },
        body: JSON.stringify({ emails: batch }),
      }).catch((error: Error) => {
        throw new Error(`identity at ${identityUrl} does not answer: ${error.message}`);
      });
      if (response.status !== 200)
        throw new Error(`POST /ops/customers/tokens answered ${response.status}: ${await response.text()}`);
      const { tokens } = (await response.json()) as { tokens: { email: string; token: string }[] };
      for (const { email, token } of tokens) tokenOf.set(email, token);
    }
  };
  await Promise.all([worker(), worker()]);
  return emails.map((email) => {
    const token = tokenOf.get(email);
    if (!token) throw new Error(`identity minted no token for ${email}`);
    return { email, token };
  });
}

/** PUT /sales/:id's body. */
type SaleDefinition = Pick<SaleView, 'sku' | 'opensAt' | 'closesAt' | 'limitPerCustomer' | 'admission'> & {
  // Without one the sale takes order-api's PAYMENT_WINDOW_MS.
  paymentWindowMs?: number;
};

/** PUT /sales/<id> as the operator; answers the sale view. */
export async function createSale(
  apiUrl: string,
  opsToken: string,
  id: string,
  sale: SaleDefinition,
): Promise<SaleView> {
  const response = await fetch(new URL(`sales/${id}`, withSlash(apiUrl)), {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${opsToken}` },
    body: JSON.stringify(sale),
  });
  if (response.status !== 201 && response.status !== 200)
    throw new Error(`PUT /sales/${id} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SaleView;
}

/** A poll's answer: the ticket's view, nothing (no answer, another status), or when to ask again (429). */
type TicketAnswer = TicketView | { status?: undefined; retryAfterMs?: number };

/** What the run reads of a placed ticket's order (the body a 201 would have had). */
interface PlacedOrder {
  accessToken?: string;
  payBy?: string;
  createdAt?: string;
}

/**
 * A sale's customers beyond the spike's lanes, on one keep-alive pool: the early requests sent before
 * opening, second tries (a new Idempotency-Key once the first try was answered), and following the
 * tickets of queued admission (GET /orders/requests/<ticket> with the customer's token, from the
 * client address that asked) until placed or refused. Never throws for an HTTP failure.
 */
export class SaleClient {
  private readonly pool: Pool;
  private readonly orders: Customers;
  private readonly basePath: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly tokenOf: Map<string, string>;
  /** Tickets being followed, and those that ended. */
  readonly tickets = new Map<string, 'waiting' | 'placed' | 'refused'>();
  /** When the spike's clock started (performance.now()): outcomes' times count from it. */
  firingStart = performance.now();
  /** Every HTTP answer of POST /orders as it arrives (a 202 before its ticket ends): the live counts. */
  onAnswer?: (outcome: RequestOutcome) => void;

  constructor(
    apiUrl: string,
    private readonly sale: { sku: string; runId: string; customers: readonly SpikeCustomer[] },
    /** Called when an attempt's final outcome is known: its answer, or its ticket's end. */
    private readonly onFinal: (outcome: RequestOutcome) => void,
    private readonly deadline: { at: number } = { at: Infinity },
  ) {
    const api = new URL(apiUrl);
    this.pool = new Pool(api.origin, { connections: 64, headersTimeout: 15_000, bodyTimeout: 15_000 });
    this.orders = new Customers(apiUrl, 16);
    this.basePath = api.pathname.replace(/\/$/, '');
    this.tokenOf = new Map(sale.customers.map((c) => [c.email, c.token]));
  }

  /** Stops following tickets at `at` (epoch ms): those still waiting then are lost. */
  followUntil(at: number): void {
    this.deadline.at = at;
  }

  /** Whether attempts or ticket follows are still running. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Waits for every attempt and ticket follow (each ends by itself at the deadline). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** An order of one unit by `customer`, with its own key (answered; a 202's ticket is followed by `answered`). */
  async attempt(
    customer: SpikeCustomer,
    what: { key: string; clientAddress: string; attempt: 1 | 2; early?: boolean },
  ): Promise<RequestOutcome> {
    const sentAtMs = performance.now() - this.firingStart;
    const outcome = await this.orders.orderOneUnit(this.sale.sku, {
      idempotencyKey: `${this.sale.runId}-${what.key}`,
      customer: { ...customerFor(this.sale.runId, 0), email: customer.email },
      token: customer.token,
      clientAddress: what.clientAddress,
    });
    Object.assign(outcome, {
      attempt: what.attempt,
      sentAtMs,
      finishedAtMs: sentAtMs + outcome.latencyMs,
      ...(what.early && { early: true }),
    });
    return outcome;
  }

  /** Runs `work` in the background, counted by `busy` and `settled()`. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** A spike or follow-up answer: a 202 is followed until its ticket ends, anything else is final. */
  answered(outcome: RequestOutcome): void {
    this.onAnswer?.(outcome);
    if (outcome.status !== 202 || !outcome.ticket) {
      this.onFinal(outcome);
      return;
    }
    // A re-send with the same key may name the same ticket: each outcome follows it (counted once).
    if (!this.tickets.has(outcome.ticket)) this.tickets.set(outcome.ticket, 'waiting');
    this.track(this.follow(outcome));
  }

  /** The customer's second try (a new Idempotency-Key), from the client address of their first. */
  secondAttempt(first: RequestOutcome): void {
    const customer = this.customerOf(first);
    if (!customer) return;
    const clientAddress = first.clientAddress ?? clientAddressOf(0);
    this.track(
      this.attempt(customer, { key: `${first.idempotencyKey}-again`, clientAddress, attempt: 2 }).then(
        (outcome) => this.answered(outcome),
      ),
    );
  }

  async close(): Promise<void> {
    await this.settled();
    await Promise.all([this.pool.close(), this.orders.close()]);
  }

  private customerOf(outcome: RequestOutcome): SpikeCustomer | undefined {
    const token = outcome.customer && this.tokenOf.get(outcome.customer);
    return token ? { email: outcome.customer!, token } : undefined;
  }

  /** Polls the ticket with backoff until placed or refused, or the deadline (then it is lost). */
  private async follow(outcome: RequestOutcome): Promise<void> {
    const customer = this.customerOf(outcome);
    let waitMs: number = TICKET_POLL.firstMs;
    while (customer && Date.now() + waitMs < this.deadline.at) {
      await sleep(waitMs);
      const view = await this.poll(outcome.ticket!, customer, outcome.clientAddress);
      if ('retryAfterMs' in view && view.retryAfterMs !== undefined) {
        waitMs = Math.max(waitMs, view.retryAfterMs);
        continue;
      }
      if (view.status === 'placed' || view.status === 'refused') {
        outcome.ticketStatus = view.status;
        outcome.ticketEndedAtMs = performance.now() - this.firingStart;
        this.tickets.set(outcome.ticket!, view.status);
        if (view.status === 'placed') {
          const order = view.order as PlacedOrder | undefined;
          outcome.orderId = view.orderId;
          outcome.accessToken = order?.accessToken;
          outcome.payBy = order?.payBy;
          outcome.createdAt = order?.createdAt;
        } else outcome.code = view.code;
        this.onFinal(outcome);
        return;
      }
      waitMs = Math.min(TICKET_POLL.capMs, waitMs * TICKET_POLL.factor);
    }
    outcome.ticketStatus = 'lost';
    this.onFinal(outcome);
  }

  private async poll(
    ticket: string,
    customer: SpikeCustomer,
    clientAddress: string | undefined,
  ): Promise<TicketAnswer> {
    try {
      const response = await this.pool.request({
        path: `${this.basePath}/orders/requests/${encodeURIComponent(ticket)}`,
        method: 'GET',
        headers: {
          authorization: `Bearer ${customer.token}`,
          ...(clientAddress && { 'x-forwarded-for': clientAddress }),
        },
      });
      if (response.statusCode === 429) {
        await response.body.dump();
        const seconds = Number(response.headers['retry-after']);
        return { retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : TICKET_POLL.capMs };
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        return {};
      }
      return (await response.body.json()) as TicketView;
    } catch {
      return {};
    }
  }
}
