import { SANDBOX_CARDS } from '@shop/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { customerFor, type Customer } from './customers';
import type { CustomerAction, OrderStatus, RequestOutcome } from './flash-sale.results';

/** Shares of the accepted orders whose customers pay, pay late or cancel; the rest never pay. */
export interface CustomerShares {
  payShare: number;
  latePayShare: number;
  cancelShare: number;
}

/** The mix: half pay, a tenth pay late, a tenth cancel, the rest (three tenths) never pay. */
export const CUSTOMER_DEFAULTS: CustomerShares = { payShare: 0.5, latePayShare: 0.1, cancelShare: 0.1 };

/** Why shares that cannot be split among the orders are refused, or undefined when they can. */
export function sharesRefusal({ payShare, latePayShare, cancelShare }: CustomerShares): string | undefined {
  const shares = { '--pay-share': payShare, '--late-pay-share': latePayShare, '--cancel-share': cancelShare };
  for (const [name, share] of Object.entries(shares)) {
    if (!(share >= 0 && share <= 1)) return `${name} must be between 0 and 1 (got ${share})`;
  }
  const sum = payShare + latePayShare + cancelShare;
  return sum > 1 + 1e-9
    ? `--pay-share + --late-pay-share + --cancel-share must be at most 1 (got ${+sum.toFixed(6)})`
    : undefined;
}

/** 1/φ: the fractional parts of k/φ spread evenly over [0, 1) for every prefix of k = 0, 1, 2, … */
const GOLDEN_STEP = (Math.sqrt(5) - 1) / 2;

/**
 * What the customer of the `rank`-th accepted order (0, 1, 2, … in the order of the 201s) does: its
 * point k/φ mod 1 falls into the pay share, then the late-pay share, then the cancel share (its first
 * half cancels before paying, the second after), else never pays. The points of any first n orders
 * spread evenly, so each share gets its fraction of the orders to within one or two, whenever the sale
 * stops, and the same rank always gets the same action.
 */
export function actionOfRank(rank: number, shares: CustomerShares): CustomerAction {
  const point = (rank * GOLDEN_STEP) % 1;
  const late = shares.payShare + shares.latePayShare;
  const cancelling = late + shares.cancelShare;
  if (point < shares.payShare) return 'pay';
  if (point < late) return 'pay-late';
  if (point < late + shares.cancelShare / 2) return 'cancel-before-paying';
  if (point < cancelling) return 'cancel-after-paying';
  return 'never-pay';
}

/** The card each paying action pays with (sandbox test cards: services/payment). */
export const CARD_OF: Partial<Record<CustomerAction, string>> = {
  pay: SANDBOX_CARDS.succeeds,
  'pay-late': SANDBOX_CARDS.succeedsLate,
  'cancel-after-paying': SANDBOX_CARDS.succeeds,
};

/** One customer's order and how they act on it. */
export interface ActingCustomer {
  orderId: string;
  accessToken: string;
  action: CustomerAction;
  /** The X-Forwarded-For of the client that placed the order: its payment counts against that client. */
  clientAddress?: string;
}

/** An answer as the results keep it: `202`, `409 ORDER_NOT_PAYABLE`, `0 NETWORK_ERROR`. */
export type AnswerLabel = string;

/** The payment ids order-api accepted (202), by order: the audit waits until the payment service decided each. */
export type AcceptedPayments = string[];

/**
 * The customers' side of the lifecycle against order-api's public edge, on one keep-alive pool: pay
 * (POST /orders/:id/payment with the order's access token) and cancel (POST /orders/:id/cancel).
 */
export class Customers {
  private readonly pool: Pool;
  private readonly basePath: string;
  /** Every payment id order-api answered 202 for. */
  readonly acceptedPaymentIds: AcceptedPayments = [];

  constructor(apiUrl: string, connections = 16) {
    const api = new URL(apiUrl);
    this.pool = new Pool(api.origin, { connections, headersTimeout: 15_000, bodyTimeout: 15_000 });
    this.basePath = api.pathname.replace(/\/$/, '');
  }

  /**
   * Does what the customer does, and returns order-api's answers in order. A customer who cancels after
   * paying waits (polling their order, at most `paidWithinMs`) until it shows paid, then cancels.
   */
  async act(customer: ActingCustomer, paidWithinMs: number): Promise<AnswerLabel[]> {
    const { action } = customer;
    if (action === 'never-pay') return [];
    if (action === 'cancel-before-paying') return [await this.cancel(customer)];
    const paid = await this.pay(customer, CARD_OF[action]!);
    if (action !== 'cancel-after-paying' || paid !== '202') return [paid];
    const deadline = Date.now() + paidWithinMs;
    while (Date.now() < deadline) {
      const status = await this.statusOf(customer);
      if (status === 'paid' || status === 'completed') return [paid, await this.cancel(customer)];
      if (status && status !== 'placed') return [paid, `never paid: ${status}`];
      await sleep(200);
    }
    return [paid, 'never paid: still placed'];
  }

  pay(customer: ActingCustomer, card: string): Promise<AnswerLabel> {
    return this.post(customer, 'payment', { card });
  }

  cancel(customer: ActingCustomer): Promise<AnswerLabel> {
    return this.post(customer, 'cancel', {});
  }

  async statusOf({ orderId, accessToken }: ActingCustomer): Promise<OrderStatus | undefined> {
    const response = await this.pool
      .request({
        path: `${this.basePath}/orders/${orderId}`,
        method: 'GET',
        headers: { authorization: `Bearer ${accessToken}` },
      })
      .catch(() => undefined);
    if (!response) return undefined;
    if (response.statusCode !== 200) {
      await response.body.dump();
      return undefined;
    }
    return ((await response.body.json()) as { status?: OrderStatus }).status;
  }

  /**
   * A follow-up order for one unit of `sku` (a buyer turned away by the spike comes back for a returned
   * unit), with its own Idempotency-Key: as a guest, or as a sale's signed-in `buyer`; never throws.
   */
  placeOrder(
    sku: string,
    runId: string,
    n: number,
    buyer?: { email: string; token: string },
    clientAddress?: string,
  ): Promise<RequestOutcome> {
    return this.orderOneUnit(sku, {
      idempotencyKey: `${runId}-resale-${n}`,
      customer: buyer ? { ...customerFor(runId, n), email: buyer.email } : customerFor(`${runId}-resale`, n),
      token: buyer?.token,
      clientAddress,
    });
  }

  /**
   * POST /orders for one unit of `sku`: the answer as a RequestOutcome (a 201's or 200's order, a 202's
   * ticket, a refusal's code, TIMEOUT or NETWORK_ERROR); never throws. `latencyMs` is set, the caller's
   * clock sets the rest.
   */
  async orderOneUnit(
    sku: string,
    request: { idempotencyKey: string; customer: Customer; token?: string; clientAddress?: string },
  ): Promise<RequestOutcome> {
    const { idempotencyKey, customer, token, clientAddress } = request;
    const outcome: RequestOutcome = {
      idempotencyKey,
      resend: false,
      quantity: 1,
      status: 0,
      latencyMs: 0,
      finishedAtMs: 0,
      ...(clientAddress && { clientAddress }),
      ...(token && { customer: customer.email }),
    };
    const sentAt = performance.now();
    try {
      const response = await this.pool.request({
        path: `${this.basePath}/orders`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': idempotencyKey,
          ...(clientAddress && { 'x-forwarded-for': clientAddress }),
          ...(token && { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify({ customer, items: [{ sku, quantity: 1 }] }),
      });
      const answer = (await response.body.json().catch(() => ({}))) as {
        id?: string;
        accessToken?: string;
        payBy?: string;
        ticket?: string;
        code?: string;
      };
      outcome.status = response.statusCode;
      if (answer.id && response.statusCode < 300) {
        Object.assign(outcome, { orderId: answer.id, accessToken: answer.accessToken, payBy: answer.payBy });
      } else if (response.statusCode === 202) outcome.ticket = answer.ticket;
      else if (answer.code) outcome.code = answer.code;
    } catch (error) {
      outcome.code = String((error as { code?: string }).code ?? '').includes('TIMEOUT')
        ? 'TIMEOUT'
        : 'NETWORK_ERROR';
    }
    outcome.latencyMs = performance.now() - sentAt;
    return outcome;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async post(
    { orderId, accessToken, clientAddress }: ActingCustomer,
    what: 'payment' | 'cancel',
    body: object,
  ): Promise<AnswerLabel> {
    try {
      const response = await this.pool.request({
        path: `${this.basePath}/orders/${orderId}/${what}`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${accessToken}`,
          ...(clientAddress && { 'x-forwarded-for': clientAddress }),
        },
        body: JSON.stringify(body),
      });
      const answer = (await response.body.json().catch(() => ({}))) as { code?: string; paymentId?: string };
      if (what === 'payment' && response.statusCode === 202 && answer.paymentId)
        this.acceptedPaymentIds.push(answer.paymentId);
      return response.statusCode < 300
        ? String(response.statusCode)
        : `${response.statusCode} ${answer.code ?? ''}`.trim();
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      return code.includes('TIMEOUT') ? '0 TIMEOUT' : '0 NETWORK_ERROR';
    }
  }
}
