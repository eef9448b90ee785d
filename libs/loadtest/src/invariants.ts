import type { AcceptedOrder, FlashSaleResults, RequestOutcome, Violation } from './flash-sale.results';

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
}

/**
 * The flash sale's business invariants: nothing oversold or lost, every refusal a clean OUT_OF_STOCK,
 * re-sent requests never create a second order, and every accepted order got exactly one email and
 * one PDF with nothing dead-lettered. Returns every violation found (empty: the run passed).
 */
export function checkFlashSaleInvariants(input: InvariantInput): Violation[] {
  return [
    ...checkStock(input),
    ...checkAnswers(input.outcomes),
    ...checkIdempotency(input),
    ...checkPipeline(input),
  ];
}

function checkStock({ product, serverSales, outcomes, acceptedOrders }: InvariantInput): Violation[] {
  const violations: Violation[] = [];
  const acceptedUnits = acceptedOrders.reduce((sum, order) => sum + order.quantity, 0);
  if (product.finalStock < 0) {
    violations.push({ code: 'NEGATIVE_STOCK', message: `final stock is ${product.finalStock}` });
  }
  if (acceptedUnits + product.finalStock > product.initialStock) {
    violations.push({
      code: 'OVERSOLD',
      message: `${acceptedUnits} units accepted + ${product.finalStock} left > ${product.initialStock} initial stock`,
    });
  } else if (acceptedUnits + product.finalStock < product.initialStock) {
    violations.push({
      code: 'STOCK_LOST',
      message: `${acceptedUnits} units accepted + ${product.finalStock} left < ${product.initialStock} initial stock: units were taken for orders no client was told about`,
    });
  }
  if (serverSales.units !== acceptedUnits) {
    violations.push({
      code: 'SALES_MISMATCH',
      message: `the database sold ${serverSales.units} units in ${serverSales.orders} orders; clients were told of ${acceptedUnits} units in ${acceptedOrders.length} orders`,
    });
  }
  // Stock never rises during the sale, so a refused request for q units proves stock < q at the end.
  const turnedAway = outcomes.filter((o) => o.status === 409 && o.code === 'OUT_OF_STOCK');
  const wouldHaveFit = turnedAway.filter((o) => o.quantity <= product.finalStock);
  if (wouldHaveFit.length > 0) {
    violations.push({
      code: 'UNSOLD_STOCK',
      message: `${product.finalStock} units left unsold while ${wouldHaveFit.length} orders for ${wouldHaveFit[0].quantity} were refused as out of stock`,
    });
  }
  return violations;
}

function checkAnswers(outcomes: readonly RequestOutcome[]): Violation[] {
  const violations: Violation[] = [];
  const serverErrors = outcomes.filter((o) => o.status >= 500);
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
  const unexpected = outcomes.filter(
    (o) =>
      o.status > 0 &&
      o.status < 500 &&
      // 200 is a replay: a re-send, or an original that lost the race to its own re-send.
      o.status !== 201 &&
      o.status !== 200 &&
      !(o.status === 409 && o.code === 'OUT_OF_STOCK'),
  );
  if (unexpected.length > 0) {
    violations.push({
      code: 'UNEXPECTED_ANSWER',
      message: `${unexpected.length} answers were neither an order nor 409 OUT_OF_STOCK (${describe(unexpected)})`,
    });
  }
  return violations;
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
  const created = outcomes.filter((o) => o.status === 201).length;
  if (created !== acceptedOrders.length || serverSales.orders !== acceptedOrders.length) {
    violations.push({
      code: 'ORDER_COUNT_MISMATCH',
      message: `${created} answers were 201 Created, ${acceptedOrders.length} distinct orders were named, the database holds ${serverSales.orders}`,
    });
  }
  return violations;
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
    'have no email at the mail catcher',
  );
  report(
    'DUPLICATE_EMAIL',
    acceptedOrders.filter((o) => o.emailCount > 1),
    'have more than one email',
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
