import { randomUUID } from 'node:crypto';
import { Pool, type Dispatcher } from 'undici';
import { CUSTOMER_NAMES_JSON } from './customers';
import type { RequestOutcome } from './flash-sale.results';

export interface SpikeOptions {
  apiUrl: string;
  sku: string;
  runId: string;
  requests: number;
  connections: number;
  retryShare: number;
  requestTimeoutMs: number;
  /** Called after every answer, cheap: the caller throttles its own rendering. */
  onOutcome?: (outcome: RequestOutcome) => void;
  /** Stop: no new order is sent once aborted; those in flight still get their answer. */
  stopSignal?: AbortSignal;
  /**
   * A sale's signed-in customers: request n is customers[n]'s, for one unit, with their token and
   * email (at least `requests` of them). Unset: guests, 1-2 units each.
   */
  customers?: readonly SpikeCustomer[];
}

export interface SpikeCustomer {
  email: string;
  /** identity's customer JWT. */
  token: string;
}

/**
 * The fake client address of connection `lane` (10.0.0.1, 10.0.0.2, …) for X-Forwarded-For, so
 * order-api's per-client rate limit counts each connection as one client, as behind HAProxy.
 */
export function clientAddressOf(lane: number): string {
  const n = lane + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export interface SpikeResult {
  startedAt: number;
  durationMs: number;
  outcomes: RequestOutcome[];
}

/**
 * Fires `requests` new orders from `connections` clients that all start at once (a spike, not a
 * ramp). Each order is for 1-2 units with its own Idempotency-Key; a `retryShare` of them is sent a
 * second time with the same key and body while the first is still in flight, as an impatient
 * client would. Never throws for an HTTP failure: every exchange ends as a RequestOutcome.
 *
 * The load generator's CPU is part of what the benches measure on a 2-core machine, so an exchange is
 * one undici dispatch with a plain handler: no response stream, no AbortSignal (the pool's
 * headersTimeout/bodyTimeout end a stuck request), no promise per request.
 */
export function fireSpike(options: SpikeOptions): Promise<SpikeResult> {
  return new Spike(options).run();
}

class Spike {
  readonly pool: Pool;
  readonly path: string;
  readonly outcomes: RequestOutcome[] = [];
  readonly startedAt = performance.now();
  private readonly bodyHead: string;
  private readonly bodyTail: string;
  private next = 0;
  private lanesLeft: number;
  private resolve: (() => void) | undefined;

  constructor(readonly options: SpikeOptions) {
    const api = new URL(options.apiUrl);
    // One keep-alive connection per client, plus room for the re-sends that overlap their originals.
    this.pool = new Pool(api.origin, {
      connections: options.connections + Math.ceil(options.connections * options.retryShare) + 1,
      pipelining: 1,
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
    });
    this.path = `${api.pathname.replace(/\/$/, '')}/orders`;
    this.bodyHead = '{"customer":{"email":"';
    this.bodyTail = `,"items":[{"sku":${JSON.stringify(options.sku)},"quantity":`;
    this.lanesLeft = options.connections;
  }

  async run(): Promise<SpikeResult> {
    try {
      if (this.options.requests > 0 && this.lanesLeft > 0) {
        const done = new Promise<void>((resolve) => (this.resolve = resolve));
        for (let lane = 0; lane < this.options.connections; lane++) this.sendNext(lane);
        await done;
      }
    } finally {
      await this.pool.close();
    }
    return {
      startedAt: this.startedAt,
      durationMs: performance.now() - this.startedAt,
      outcomes: this.outcomes,
    };
  }

  /** The lane's next order, or the lane ends when every order has been sent. */
  sendNext(laneIndex: number): void {
    if (this.next >= this.options.requests || this.options.stopSignal?.aborted) {
      if (--this.lanesLeft === 0) this.resolve?.();
      return;
    }
    const n = this.next++;
    const customer = this.options.customers?.[n];
    // A sale allows one unit per customer; guests order 1 or 2.
    const quantity = customer || Math.random() < 0.5 ? 1 : 2;
    const name = CUSTOMER_NAMES_JSON[Math.floor(Math.random() * CUSTOMER_NAMES_JSON.length)];
    // customerFor's shape, built from a template: a unique email (the signed-in customer's), a random name.
    const email = customer?.email ?? `buyer-${n}@${this.options.runId}.loadtest.example`;
    const body = `${this.bodyHead}${email}","name":${name}}${this.bodyTail}${quantity}}]}`;
    const idempotencyKey = `${this.options.runId}-${n}-${randomUUID().slice(0, 8)}`;
    const headers = [
      'content-type',
      'application/json',
      'idempotency-key',
      idempotencyKey,
      'x-forwarded-for',
      clientAddressOf(laneIndex),
      ...(customer ? ['authorization', `Bearer ${customer.token}`] : []),
    ];
    const resend = Math.random() < this.options.retryShare;
    const lane = { index: laneIndex, pending: resend ? 2 : 1 };
    const exchange = (again: boolean) =>
      new Exchange(this, lane, { idempotencyKey, headers, body, quantity, resend: again, customer });
    this.send(exchange(false));
    if (resend) {
      // Impatient: the same request again a few milliseconds later, before the first answer.
      setTimeout(() => this.send(exchange(true)), Math.random() * 10);
    }
  }

  private send(exchange: Exchange): void {
    exchange.sentAt = performance.now();
    exchange.outcome.sentAtMs = exchange.sentAt - this.startedAt;
    this.pool.dispatch(
      { path: this.path, method: 'POST', headers: exchange.request.headers, body: exchange.request.body },
      exchange,
    );
  }

  finish(exchange: Exchange): void {
    const finishedAt = performance.now();
    const { outcome } = exchange;
    outcome.latencyMs = finishedAt - exchange.sentAt;
    outcome.finishedAtMs = finishedAt - this.startedAt;
    this.outcomes.push(outcome);
    this.options.onOutcome?.(outcome);
    if (--exchange.lane.pending === 0) this.sendNext(exchange.lane.index);
  }
}

/** One HTTP exchange: undici's dispatch handler, collecting the status and the small JSON answer. */
class Exchange implements Dispatcher.DispatchHandler {
  readonly outcome: RequestOutcome;
  sentAt = performance.now();
  private text = '';
  private done = false;

  constructor(
    private readonly spike: Spike,
    readonly lane: { index: number; pending: number },
    readonly request: {
      idempotencyKey: string;
      headers: string[];
      body: string;
      quantity: number;
      resend: boolean;
      customer?: SpikeCustomer;
    },
  ) {
    const { idempotencyKey, resend, quantity, customer } = request;
    this.outcome = { idempotencyKey, resend, quantity, status: 0, latencyMs: 0, finishedAtMs: 0 };
    this.outcome.clientAddress = clientAddressOf(lane.index);
    if (customer) Object.assign(this.outcome, { customer: customer.email, attempt: 1 });
  }

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.outcome.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    // The answer is ASCII JSON (an order view or an error): latin1 is the cheapest decode.
    this.text += chunk.toString('latin1');
    return true;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    const { outcome } = this;
    if (outcome.status === 200 || outcome.status === 201) {
      outcome.orderId = idOf(this.text);
      outcome.accessToken = accessTokenOf(this.text);
      outcome.payBy = stringFieldOf(this.text, 'payBy');
    } else if (outcome.status === 202) {
      outcome.ticket = stringFieldOf(this.text, 'ticket');
    } else {
      const code = codeOf(this.text);
      if (code) outcome.code = code;
    }
    this.spike.finish(this);
  }

  onError(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.outcome.status = 0;
    this.outcome.code = isTimeout(error) ? 'TIMEOUT' : 'NETWORK_ERROR';
    this.spike.finish(this);
  }
}

/** The order view's top-level `id` (the view starts with it; parsed in full otherwise). */
function idOf(text: string): string | undefined {
  if (text.startsWith('{"id":"')) {
    const end = text.indexOf('"', 7);
    if (end > 7) return text.slice(7, end);
  }
  try {
    return (JSON.parse(text) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

/** The order view's `accessToken` (its last field; parsed in full otherwise). */
function accessTokenOf(text: string): string | undefined {
  const at = text.lastIndexOf('"accessToken":"');
  if (at !== -1) {
    const end = text.indexOf('"', at + 15);
    if (end > at + 15) return text.slice(at + 15, end);
  }
  try {
    return (JSON.parse(text) as { accessToken?: string }).accessToken;
  } catch {
    return undefined;
  }
}

/** A top-level string field of a small JSON answer (`"payBy":"…"`), without parsing the whole body. */
export function stringFieldOf(text: string, field: string): string | undefined {
  const label = `"${field}":"`;
  const at = text.indexOf(label);
  if (at === -1) return undefined;
  const end = text.indexOf('"', at + label.length);
  return end === -1 ? undefined : text.slice(at + label.length, end);
}

/** The error answer's `code` (`{"code":"OUT_OF_STOCK",...}`), without parsing the whole body. */
function codeOf(text: string): string | undefined {
  const at = text.indexOf('"code":"');
  if (at === -1) return undefined;
  const end = text.indexOf('"', at + 8);
  return end === -1 ? undefined : text.slice(at + 8, end);
}

function isTimeout(error: unknown): boolean {
  const { name, code } = error as { name?: string; code?: string };
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}
