import { SANDBOX_LATE_SUCCESS_MS } from '@shop/contracts';
import { actionOfRank, Customers, type AnswerLabel, type CustomerShares } from './customer-actions';
import { clientAddressOf } from './fire-spike';
import type { CustomerAction, RequestOutcome } from './flash-sale.results';

/** An order the sale accepted, with what its customer does and what order-api answered them. */
export interface SaleOrder {
  orderId: string;
  idempotencyKey: string;
  quantity: number;
  /** A sale's customer (their email). */
  customer?: string;
  /** The client address (X-Forwarded-For) the order came from: its customer pays and cancels from it. */
  clientAddress?: string;
  /** From the 201 (or 200): reads, pays and cancels the order; kept out of the results. */
  accessToken: string;
  payBy?: string;
  wave: 'spike' | 'resale';
  action: CustomerAction;
  answers: AnswerLabel[];
}

/** The resale's buyers' client addresses are clientAddressOf(this + n): past any spike's connections. */
const RESALE_ADDRESSES_FROM = 1_000_000;

/** Follow-up orders placed at once for returned units, at most. */
const RESALE_BATCH = 20;

/**
 * The customers' side of the sale: each accepted order's customer pays, pays late, cancels or never
 * pays (shares of the orders, by rank of acceptance), acting as soon as their 201 arrives, as a buyer
 * does: with a payment window of seconds, waiting for the whole spike would let the first orders
 * expire unpaid. With `resell`, units that come back (expired, cancelled) are sold again to buyers the
 * spike turned away, who pay at once. Everything runs in the background while the sale fires and drains.
 */
export class SaleAftermath {
  readonly orders = new Map<string, SaleOrder>();
  /** The follow-up orders' answers (201s and refusals), for the invariants beside the spike's. */
  readonly resaleOutcomes: RequestOutcome[] = [];
  private readonly customers: Customers;
  private readonly inFlight = new Set<Promise<unknown>>();
  private resaleRequests = 0;

  /** Buyers the spike turned away: the most follow-up orders there can be. */
  demand = 0;
  /** A sale's signed-in buyers the spike turned away, who come back for returned units (then `demand` is theirs). */
  turnedAway: { email: string; token: string }[] = [];
  /** When firing started (performance.now()): the follow-up outcomes' finishedAtMs count from it. */
  firingStart = performance.now();

  constructor(
    private readonly sale: {
      apiUrl: string;
      sku: string;
      runId: string;
      resell: boolean;
      shares: CustomerShares;
    },
  ) {
    this.customers = new Customers(sale.apiUrl);
  }

  /** A spike answer: a new order's customer starts acting (a re-send's replay names a known order). */
  accepted(outcome: RequestOutcome): void {
    const { orderId } = outcome;
    if (!orderId || this.orders.has(orderId)) return;
    this.begin({
      orderId,
      idempotencyKey: outcome.idempotencyKey,
      quantity: outcome.quantity,
      customer: outcome.customer,
      clientAddress: outcome.clientAddress,
      accessToken: outcome.accessToken ?? '',
      payBy: outcome.payBy,
      wave: 'spike',
      action: actionOfRank(this.orders.size, this.sale.shares),
    });
  }

  /** The payment ids order-api accepted so far. */
  get acceptedPaymentIds(): readonly string[] {
    return this.customers.acceptedPaymentIds;
  }

  /** Whether customers are still acting or follow-up orders are being placed. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Places follow-up orders for `unitsInStock` returned units, while turned-away buyers are left. */
  resell(unitsInStock: number): void {
    if (!this.sale.resell || unitsInStock <= 0 || this.busyReselling) return;
    const batch = Math.min(unitsInStock, this.demand - this.resaleRequests, RESALE_BATCH);
    if (batch <= 0) return;
    const placing = Promise.all(
      Array.from({ length: batch }, async () => {
        const n = this.resaleRequests++;
        // Buyers coming back, each from an address of their own beyond the spike's connections.
        const outcome = await this.customers.placeOrder(
          this.sale.sku,
          this.sale.runId,
          n,
          this.turnedAway[n],
          clientAddressOf(RESALE_ADDRESSES_FROM + n),
        );
        outcome.finishedAtMs = performance.now() - this.firingStart;
        this.resaleOutcomes.push(outcome);
        if (outcome.orderId && !this.orders.has(outcome.orderId)) {
          this.begin({
            orderId: outcome.orderId,
            idempotencyKey: outcome.idempotencyKey,
            quantity: outcome.quantity,
            customer: outcome.customer,
            clientAddress: outcome.clientAddress,
            accessToken: outcome.accessToken ?? '',
            payBy: outcome.payBy,
            wave: 'resale',
            action: 'pay',
          });
        }
      }),
    );
    this.resaleBatch = placing;
    this.track(placing.finally(() => (this.resaleBatch = undefined)));
  }

  /**
   * The latest moment anything of the sale can still happen: the last reservation's end, plus the late
   * card's delay (its charge succeeds that long after it is asked for, then is refunded).
   */
  lastEventDue(): number {
    const payBys = [...this.orders.values()].flatMap((o) => (o.payBy ? [Date.parse(o.payBy)] : []));
    return Math.max(0, ...payBys) + SANDBOX_LATE_SUCCESS_MS;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.customers.close();
  }

  private resaleBatch: Promise<unknown> | undefined;

  private get busyReselling(): boolean {
    return this.resaleBatch !== undefined;
  }

  private begin(order: Omit<SaleOrder, 'answers'>): void {
    const entry: SaleOrder = { ...order, answers: [] };
    this.orders.set(order.orderId, entry);
    // A customer who cancels after paying waits for "paid" until a little after the reservation's end.
    const paidWithinMs = (order.payBy ? Date.parse(order.payBy) - Date.now() : 0) + SANDBOX_LATE_SUCCESS_MS;
    this.track(
      this.customers
        .act(entry, Math.max(2_000, paidWithinMs))
        .then((answers) => entry.answers.push(...answers)),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}
