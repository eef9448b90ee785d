import {
  LIFECYCLE_EMAIL_KINDS,
  type AcceptedOrder,
  type EmailKind,
  type FlashSaleResults,
  type OrderStatus,
  type RequestOutcome,
  type Violation,
} from './flash-sale.results';
import { isSettled, isTaken, type AuditedOrder, type LifecycleAudit } from './lifecycle-audit';
import { refusalOf } from './sale-figures';

/** What the checker needs: the answers the load test received and what it found afterwards. */
export interface InvariantInput {
  product: FlashSaleResults['product'];
  /** The database's own count of orders and units for the product (GET /products/:sku/sales). */
  serverSales: FlashSaleResults['serverSales'];
  outcomes: readonly RequestOutcome[];
  /** One entry per distinct order id the API accepted, with what the pipeline produced for it. */
  acceptedOrders: readonly AcceptedOrder[];
  /** Messages parked in dead-letter queues, by queue; undefined when the broker could not be read. */
  deadLettered: Record<string, number> | undefined;
  /** Emails the mailbox received again with a Message-ID it held (and dropped); undefined: unknown. */
  emailsResent?: number;
  /** The product's orders and their charges as the databases hold them; undefined: not readable. */
  audit: LifecycleAudit | undefined;
  /** False: unpaid orders may still be placed at the end (see FlashSaleOptions.awaitExpiry). */
  awaitExpiry?: boolean;
  /** The sale the product was on, when the run made one: its rules are checked too. */
  sale?: SaleRules;
}

/** What the sale's invariants need of it. */
export interface SaleRules {
  opensAt: string;
  limitPerCustomer: number;
  /** The product's stock read after the early requests, before opening (null: not read). */
  stockBeforeOpen: number | null;
}

/** The statuses that hold their units; the others (expired, cancelled, refunded) gave them back. */
const HOLDING: readonly OrderStatus[] = ['placed', 'paid', 'completed'];
const RETURNING: readonly OrderStatus[] = ['expired', 'cancelled', 'refunded'];

/**
 * The flash sale's business invariants: stock = initial + restocks − units held by placed, paid and
 * completed orders (nothing oversold, nothing lost, every expired or cancelled order's units back
 * exactly once), every refusal a clean OUT_OF_STOCK, re-sent requests never create a second order,
 * every order settled (never both paid and expired, never refunded and completed, every late payment
 * refunded), one email per transition and one PDF per order, nothing dead-lettered. Returns every
 * violation found (empty: the run passed).
 */
export function checkFlashSaleInvariants(input: InvariantInput): Violation[] {
  return [
    ...checkStock(input),
    ...checkAnswers(input.outcomes),
    ...checkIdempotency(input),
    ...checkLifecycle(input),
    ...checkCustomerAnswers(input.acceptedOrders),
    ...checkPipeline(input),
    ...checkSale(input),
  ];
}

/** The units each order holds now: from the audit, else from what GET /orders/:id said. */
function holdingOrders({
  audit,
  acceptedOrders,
}: InvariantInput): readonly { quantity: number; status?: OrderStatus }[] {
  return audit?.orders ?? acceptedOrders;
}

function checkStock(input: InvariantInput): Violation[] {
  const { product, serverSales, outcomes, acceptedOrders, audit } = input;
  const violations: Violation[] = [];
  const acceptedUnits = acceptedOrders.reduce((sum, order) => sum + order.quantity, 0);
  const orders = holdingOrders(input);
  // An order whose status is unknown counts as holding its units, as it did when accepted.
  const held = orders
    .filter((o) => o.status === undefined || HOLDING.includes(o.status))
    .reduce((sum, o) => sum + o.quantity, 0);
  const unitsReturned = orders
    .filter((o) => o.status !== undefined && RETURNING.includes(o.status))
    .reduce((sum, o) => sum + o.quantity, 0);
  const supplied = product.initialStock + (audit?.restockedUnits ?? 0);
  const arithmetic = `${supplied} supplied (initial + restocks) − ${held} units held by placed/paid/completed orders = ${supplied - held}, but ${product.finalStock} are in stock`;
  if (product.finalStock < 0) {
    violations.push({ code: 'NEGATIVE_STOCK', message: `final stock is ${product.finalStock}` });
  }
  if (held + product.finalStock > supplied) {
    violations.push({
      code: 'OVERSOLD',
      message: `${arithmetic}: more units to sell than exist (sold twice, or returned twice)`,
    });
  } else if (held + product.finalStock < supplied) {
    violations.push({
      code: 'STOCK_LOST',
      message: `${arithmetic}: units were taken for orders no client was told about, or never given back`,
    });
  }
  if (serverSales.units !== acceptedUnits) {
    violations.push({
      code: 'SALES_MISMATCH',
      message: `the database sold ${serverSales.units} units in ${serverSales.orders} orders; clients were told of ${acceptedUnits} units in ${acceptedOrders.length} orders`,
    });
  }
  // While no unit comes back, stock never rises, so a refused request for q units proves stock < q at
  // the end. Returned units may come back after the last request: then nothing is proved.
  const turnedAway = outcomes.filter((o) => refusalOf(o) === 'OUT_OF_STOCK');
  const wouldHaveFit = turnedAway.filter((o) => o.quantity <= product.finalStock);
  if (unitsReturned === 0 && wouldHaveFit.length > 0) {
    violations.push({
      code: 'UNSOLD_STOCK',
      message: `${product.finalStock} units left unsold while ${wouldHaveFit.length} orders for ${wouldHaveFit[0].quantity} were refused as out of stock`,
    });
  }
  return violations;
}

function checkAnswers(outcomes: readonly RequestOutcome[]): Violation[] {
  const violations: Violation[] = [];
  // A full waiting room is the system's answer to too many at once, not a failure.
  const serverErrors = outcomes.filter((o) => o.status >= 500 && o.code !== 'WAITING_ROOM_FULL');
  if (serverErrors.length > 0) {
    violations.push({
      code: 'SERVER_ERROR',
      message: `${serverErrors.length} answers were 5xx (${describe(serverErrors)})`,
    });
  }
  const unanswered = outcomes.filter((o) => o.status === 0);
  if (unanswered.length > 0) {
    violations.push({
      code: 'NO_ANSWER',
      message: `${unanswered.length} requests got no answer (${describe(unanswered)})`,
    });
  }
  const unexpected = outcomes.filter((o) => o.status > 0 && !isCleanAnswer(o));
  if (unexpected.length > 0) {
    violations.push({
      code: 'UNEXPECTED_ANSWER',
      message: `${unexpected.length} answers were neither an order nor a refusal the request could get (${describe(unexpected)})`,
    });
  }
  return violations;
}

/**
 * An order (201, 200 a replay: a re-send, or an original that lost the race to its own re-send), a
 * ticket (202), or a refusal this request could get: OUT_OF_STOCK, RATE_LIMITED and a full waiting room
 * for anyone, SALE_NOT_OPEN only before opening, LIMIT_PER_CUSTOMER only for a customer's second try.
 * A refused ticket is judged by its code the same way.
 */
function isCleanAnswer(o: RequestOutcome): boolean {
  if (o.status === 200 || o.status === 201 || (o.status === 202 && o.ticketStatus !== 'refused')) return true;
  const answer = o.status === 202 ? `409 ${o.code ?? ''}` : `${o.status} ${o.code ?? ''}`;
  switch (answer) {
    case '409 OUT_OF_STOCK':
    case '429 RATE_LIMITED':
    case '503 WAITING_ROOM_FULL':
      return true;
    case '409 SALE_NOT_OPEN':
      return o.early === true;
    case '409 LIMIT_PER_CUSTOMER':
      return o.attempt === 2;
    default:
      return false;
  }
}

function checkIdempotency({ outcomes, acceptedOrders, serverSales }: InvariantInput): Violation[] {
  const violations: Violation[] = [];
  const ordersByKey = new Map<string, Set<string>>();
  for (const { idempotencyKey, orderId } of outcomes) {
    if (!orderId) continue;
    const orders = ordersByKey.get(idempotencyKey) ?? new Set<string>();
    orders.add(orderId);
    ordersByKey.set(idempotencyKey, orders);
  }
  const duplicated = [...ordersByKey].filter(([, orders]) => orders.size > 1);
  if (duplicated.length > 0) {
    violations.push({
      code: 'DUPLICATE_ORDER',
      message: `${duplicated.length} Idempotency-Keys created more than one order (e.g. ${duplicated[0][0]}: ${[...duplicated[0][1]].join(', ')})`,
    });
  }
  // Tickets of one Idempotency-Key (a re-send's and its original's) are placed as one order.
  const created =
    outcomes.filter((o) => o.status === 201).length +
    new Set(outcomes.filter((o) => o.ticketStatus === 'placed').map((o) => o.orderId)).size;
  if (created !== acceptedOrders.length || serverSales.orders !== acceptedOrders.length) {
    violations.push({
      code: 'ORDER_COUNT_MISMATCH',
      message: `${created} answers were 201 Created or tickets placed, ${acceptedOrders.length} distinct orders were named, the database holds ${serverSales.orders}`,
    });
  }
  return violations;
}

/**
 * The lifecycle invariants of a sale whose answers were not all seen (a drill's steady load retried
 * through a fault): from the audit and the mailbox alone, the stock arithmetic (stock = initial +
 * restocks − units held), every order settled, units returned exactly when they must be, no order both
 * paid and expired or refunded and completed, late payments refunded, one email per transition.
 */
export function checkSettledSale({
  initialStock,
  audit,
  emails,
}: {
  initialStock: number;
  audit: LifecycleAudit;
  emails: ReadonlyMap<string, Partial<Record<EmailKind, number>>>;
}): Violation[] {
  const acceptedOrders: AcceptedOrder[] = audit.orders.map((order) => {
    const { placed = 0, ...lifecycleEmails } = emails.get(order.id) ?? {};
    return {
      orderId: order.id,
      idempotencyKey: '',
      quantity: order.quantity,
      createdAt: order.createdAt,
      status: order.status,
      emailCount: placed,
      lifecycleEmails,
      pdfCount: 1,
    };
  });
  const units = acceptedOrders.reduce((sum, order) => sum + order.quantity, 0);
  const input: InvariantInput = {
    product: { sku: '', initialStock, finalStock: audit.productStock, priceCents: 0 },
    serverSales: { orders: acceptedOrders.length, units },
    outcomes: [],
    acceptedOrders,
    deadLettered: {},
    audit,
  };
  return [...checkStock(input), ...checkLifecycle(input)];
}

/** The emails an order must have got, from where it ended: placement, then one per transition. */
export function expectedEmailsOf(order: AuditedOrder): Set<EmailKind> {
  const kinds = new Set<EmailKind>(['placed']);
  if (order.paidAt) kinds.add('paid');
  if (order.status === 'expired') kinds.add('expired');
  if (order.status === 'cancelled') kinds.add('cancelled');
  // A paid order cancelled by its customer is refunded on the way and told "cancelled"; an order that
  // was never paid is refunded only for a charge that came too late, and told so.
  if (order.status === 'refunded' || (order.refundedAt && !order.paidAt)) kinds.add('refunded');
  return kinds;
}

function checkLifecycle({ audit, acceptedOrders, awaitExpiry = true }: InvariantInput): Violation[] {
  if (!audit) {
    return [
      {
        code: 'AUDIT_UNAVAILABLE',
        message: 'the orders and payments could not be read from the database (is --database right?)',
      },
    ];
  }
  const violations: Violation[] = [];
  const report = (code: string, ids: string[], what: string) => {
    if (ids.length === 0) return;
    violations.push({ code, message: `${ids.length} orders ${what} (e.g. ${ids.slice(0, 3).join(', ')})` });
  };
  const ids = (orders: AuditedOrder[]) => orders.map((order) => order.id);
  report(
    'NOT_SETTLED',
    audit.orders.filter((o) => !isSettled(o, awaitExpiry)).map((o) => `${o.id} ${o.status}`),
    'did not reach a final state (completed, cancelled, expired, refunded with nothing pending)',
  );
  report(
    'STOCK_NOT_RETURNED',
    ids(audit.orders.filter((o) => RETURNING.includes(o.status) && !o.stockReturnedAt)),
    'ended expired, cancelled or refunded without their units going back to stock',
  );
  report(
    'STOCK_RETURNED_WRONGLY',
    ids(audit.orders.filter((o) => HOLDING.includes(o.status) && o.stockReturnedAt)),
    'gave their units back while they still hold them (placed, paid or completed)',
  );
  report(
    'PAID_AND_EXPIRED',
    ids(audit.orders.filter((o) => o.paidAt && o.expiredAt)),
    'were both paid and expired',
  );
  report(
    'REFUNDED_AND_COMPLETED',
    ids(
      audit.orders.filter(
        (o) => (o.status === 'completed' && o.refundedAt) || (o.status === 'refunded' && o.completedAt),
      ),
    ),
    'were both refunded and completed',
  );
  const statusOf = new Map(audit.orders.map((o) => [o.id, o.status]));
  const taken = audit.payments.filter(isTaken);
  report(
    'LATE_PAYMENT_NOT_REFUNDED',
    taken
      .filter((p) => ['expired', 'cancelled'].includes(statusOf.get(p.orderId) ?? '') && !p.refundedAt)
      .map((p) => p.orderId),
    'ended expired or cancelled while a charge of theirs was kept (never refunded)',
  );
  report(
    'CHARGE_UNFINISHED',
    audit.payments.filter((p) => p.status === 'charging').map((p) => p.orderId),
    'still have a charge being taken at the payment service',
  );
  const chargesPerOrder = new Map<string, number>();
  for (const { orderId } of taken) chargesPerOrder.set(orderId, (chargesPerOrder.get(orderId) ?? 0) + 1);
  report(
    'CHARGED_TWICE',
    [...chargesPerOrder].filter(([, n]) => n > 1).map(([id]) => id),
    'were charged more than once',
  );

  // One email per transition: the placement email is checked with the pipeline, the others here.
  const emailsOf = new Map(acceptedOrders.map((o) => [o.orderId, o.lifecycleEmails ?? {}]));
  const missing: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  for (const order of audit.orders) {
    const expected = expectedEmailsOf(order);
    const got = emailsOf.get(order.id) ?? {};
    for (const kind of LIFECYCLE_EMAIL_KINDS) {
      const count = got[kind] ?? 0;
      if (expected.has(kind) && count === 0) missing.push(`${order.id} ${kind}`);
      if (count > 1) duplicated.push(`${order.id} ${kind} ×${count}`);
      if (!expected.has(kind) && count > 0) unexpected.push(`${order.id} ${kind} (${order.status})`);
    }
  }
  report('MISSING_LIFECYCLE_EMAIL', missing, 'lack the email of a transition they went through');
  report('DUPLICATE_LIFECYCLE_EMAIL', duplicated, 'got the email of one transition more than once');
  report('UNEXPECTED_LIFECYCLE_EMAIL', unexpected, 'got the email of a transition they did not go through');
  return violations;
}

/**
 * What order-api answered the customers: 202 (payment or refund under way), 200 (cancelled), or a
 * clean 409 when the order had moved on (paid, expired). Never a 5xx, a dropped request or another 4xx.
 */
function checkCustomerAnswers(acceptedOrders: readonly AcceptedOrder[]): Violation[] {
  const clean = /^(200|202|409 [A-Z_]+|never paid: .*)$/;
  const bad = acceptedOrders.flatMap((order) =>
    (order.actionAnswers ?? [])
      .filter((answer) => !clean.test(answer))
      .map((answer) => `${order.orderId} ${order.action}: ${answer}`),
  );
  return bad.length === 0
    ? []
    : [
        {
          code: 'CUSTOMER_REFUSED',
          message: `${bad.length} payment or cancel requests got neither 2xx nor a clean 409 (e.g. ${bad.slice(0, 3).join('; ')})`,
        },
      ];
}

function checkPipeline({ acceptedOrders, deadLettered, emailsResent }: InvariantInput): Violation[] {
  const violations: Violation[] = [];
  const report = (code: string, orders: AcceptedOrder[], what: string) => {
    if (orders.length === 0) return;
    const sample = orders.slice(0, 3).map((order) => order.orderId);
    violations.push({
      code,
      message: `${orders.length} accepted orders ${what} (e.g. ${sample.join(', ')})`,
    });
  };
  report(
    'MISSING_EMAIL',
    acceptedOrders.filter((o) => o.emailCount === 0),
    'have no placement email at the mail catcher',
  );
  report(
    'DUPLICATE_EMAIL',
    acceptedOrders.filter((o) => o.emailCount > 1),
    'have more than one placement email',
  );
  // A deduplicating mailbox shows one copy; nothing in a flash sale may make the worker send twice.
  if (emailsResent) {
    violations.push({
      code: 'EMAIL_RESENT',
      message: `${emailsResent} emails reached the mail server a second time (same Message-ID, dropped by the mailbox)`,
    });
  }
  report(
    'MISSING_PDF',
    acceptedOrders.filter((o) => o.pdfCount === 0),
    'have no PDF report',
  );
  report(
    'DUPLICATE_PDF',
    acceptedOrders.filter((o) => o.pdfCount > 1),
    'have more than one PDF report',
  );
  if (deadLettered === undefined) {
    violations.push({
      code: 'DEAD_LETTERS_UNKNOWN',
      message: 'the dead-letter queues could not be read (is --amqp right?)',
    });
  } else {
    const parked = Object.entries(deadLettered).filter(([, count]) => count > 0);
    if (parked.length > 0) {
      violations.push({
        code: 'DEAD_LETTERED',
        message: `messages were dead-lettered: ${parked.map(([queue, count]) => `${queue} ${count}`).join(', ')}`,
      });
    }
  }
  return violations;
}

/**
 * A sale's rules: no customer ever held more than the limit (orders count from their creation until
 * cancelled, expired or refunded), no order made before opening, the early requests refused
 * SALE_NOT_OPEN and the stock untouched by them, every ticket placed or refused.
 */
function checkSale({ sale, outcomes, acceptedOrders, product }: InvariantInput): Violation[] {
  if (!sale) return [];
  const violations: Violation[] = [];
  const report = (code: string, items: string[], what: string) => {
    if (items.length === 0) return;
    violations.push({ code, message: `${items.length} ${what} (e.g. ${items.slice(0, 3).join('; ')})` });
  };
  report(
    'OVER_LIMIT',
    customersOverLimit(acceptedOrders, sale.limitPerCustomer),
    `customers held more than ${sale.limitPerCustomer} order(s) of the sale at once`,
  );
  const opensAt = Date.parse(sale.opensAt);
  report(
    'ORDER_BEFORE_OPENING',
    acceptedOrders
      .filter((o) => o.createdAt && Date.parse(o.createdAt) < opensAt)
      .map((o) => `${o.orderId} created ${o.createdAt}`),
    `orders were created before the sale opened at ${sale.opensAt}`,
  );
  report(
    'EARLY_NOT_REFUSED',
    outcomes
      .filter((o) => o.early && refusalOf(o) !== 'SALE_NOT_OPEN')
      .map((o) => `${o.idempotencyKey}: ${o.status} ${o.ticketStatus ?? ''} ${o.code ?? ''}`.trim()),
    'requests sent before opening were not refused SALE_NOT_OPEN',
  );
  report(
    'EARLY_TOOK_STOCK',
    outcomes.filter((o) => o.early && o.orderId).map((o) => `${o.idempotencyKey} → ${o.orderId}`),
    'requests sent before opening got an order',
  );
  if (sale.stockBeforeOpen !== null && sale.stockBeforeOpen !== product.initialStock) {
    violations.push({
      code: 'STOCK_TOUCHED_BEFORE_OPENING',
      message: `${sale.stockBeforeOpen} units in stock after the early requests, before opening; the product was created with ${product.initialStock}`,
    });
  }
  report(
    'LOST_TICKET',
    [
      ...new Set(
        outcomes
          .filter((o) => o.status === 202 && o.ticketStatus !== 'placed' && o.ticketStatus !== 'refused')
          .map((o) => o.ticket ?? `${o.idempotencyKey} (no ticket in the 202)`),
      ),
    ],
    'tickets were neither placed nor refused before the drain timeout',
  );
  return violations;
}

/**
 * Customers who, at some order's creation, held more than `limit` orders (counting it): an order
 * holds from its createdAt until it was cancelled, expired or refunded, and to the end otherwise.
 */
export function customersOverLimit(orders: readonly AcceptedOrder[], limit: number): string[] {
  const byCustomer = new Map<string, AcceptedOrder[]>();
  for (const order of orders) {
    if (!order.customer) continue;
    byCustomer.set(order.customer, [...(byCustomer.get(order.customer) ?? []), order]);
  }
  const endOf = (o: AcceptedOrder) =>
    Math.min(...[o.cancelledAt, o.expiredAt, o.refundedAt].map((t) => (t ? Date.parse(t) : Infinity)));
  const over: string[] = [];
  for (const [customer, held] of byCustomer) {
    if (held.length <= limit) continue;
    const worst = Math.max(
      ...held.map((order) => {
        const at = Date.parse(order.createdAt);
        return held.filter((o) => Date.parse(o.createdAt) <= at && endOf(o) > at).length;
      }),
    );
    if (worst > limit) over.push(`${customer}: ${worst} orders (${held.map((o) => o.orderId).join(', ')})`);
  }
  return over;
}

/** `503 DATABASE_UNAVAILABLE ×3, 0 TIMEOUT ×1` */
function describe(outcomes: readonly RequestOutcome[]): string {
  const counts = new Map<string, number>();
  for (const { status, code } of outcomes) {
    const label = code ? `${status} ${code}` : String(status);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, count]) => `${label} ×${count}`).join(', ');
}

/**
 * Splits parked messages into this run's (their order id is one of the run's orders) and the others
 * (parked before, by another run or a poison message): only this run's are the sale's failures.
 */
export function deadLettersOfRun(
  parked: Readonly<Record<string, readonly (string | undefined)[]>>,
  runOrderIds: ReadonlySet<string>,
): { ofThisRun: Record<string, number>; others: Record<string, number> } {
  const ofThisRun: Record<string, number> = {};
  const others: Record<string, number> = {};
  for (const [queue, ids] of Object.entries(parked)) {
    ofThisRun[queue] = ids.filter((id) => id !== undefined && runOrderIds.has(id)).length;
    others[queue] = ids.length - ofThisRun[queue];
  }
  return { ofThisRun, others };
}
