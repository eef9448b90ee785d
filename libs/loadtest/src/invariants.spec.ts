import type { AcceptedOrder, RequestOutcome } from './flash-sale.results';
import {
  checkFlashSaleInvariants,
  deadLettersOfRun,
  expectedEmailsOf,
  type InvariantInput,
} from './invariants';
import type { AuditedOrder, AuditedPayment, LifecycleAudit } from './lifecycle-audit';

const outcome = (overrides: Partial<RequestOutcome>): RequestOutcome => ({
  idempotencyKey: `key-${Math.random()}`,
  resend: false,
  quantity: 1,
  status: 201,
  latencyMs: 5,
  finishedAtMs: 10,
  ...overrides,
});

const accepted = (
  orderId: string,
  quantity: number,
  overrides: Partial<AcceptedOrder> = {},
): AcceptedOrder => ({
  orderId,
  idempotencyKey: `key-${orderId}`,
  quantity,
  createdAt: '2026-11-23T10:00:00.000Z',
  emailCount: 1,
  lifecycleEmails: { paid: 1 },
  pdfCount: 1,
  status: 'completed',
  ...overrides,
});

const T = '2026-11-23T10:00:01.000Z';

/** A paid, emailed and reported order as the audit reads it. */
const completedOrder = (
  id: string,
  quantity: number,
  overrides: Partial<AuditedOrder> = {},
): AuditedOrder => ({
  id,
  status: 'completed',
  quantity,
  createdAt: '2026-11-23T10:00:00.000Z',
  payBy: '2026-11-23T10:00:03.000Z',
  paidAt: T,
  expiredAt: null,
  cancelledAt: null,
  refundedAt: null,
  completedAt: T,
  cancelRequestedAt: null,
  stockReturnedAt: null,
  paymentPending: false,
  latePaymentId: null,
  notifiedAt: T,
  reportedAt: T,
  ...overrides,
});

/** An order whose customer never paid: expired, its units back, "expired" mailed. */
const expiredOrder = (id: string, quantity: number, overrides: Partial<AuditedOrder> = {}): AuditedOrder =>
  completedOrder(id, quantity, {
    status: 'expired',
    paidAt: null,
    completedAt: null,
    expiredAt: T,
    stockReturnedAt: T,
    ...overrides,
  });

const charge = (orderId: string, overrides: Partial<AuditedPayment> = {}): AuditedPayment => ({
  orderId,
  paymentId: `payment-${orderId}`,
  status: 'succeeded',
  refundedAt: null,
  ...overrides,
});

type Sale = InvariantInput & {
  outcomes: RequestOutcome[];
  acceptedOrders: AcceptedOrder[];
  audit: LifecycleAudit;
};

/** A clean sale: 3 units, two orders (2 + 1) accepted, one refused, one re-send replayed. */
function cleanSale(): Sale {
  return {
    product: { sku: 'FLASH-1', initialStock: 3, finalStock: 0, priceCents: 100 },
    serverSales: { orders: 2, units: 3 },
    outcomes: [
      outcome({ idempotencyKey: 'a', quantity: 2, status: 201, orderId: 'order-a' }),
      outcome({ idempotencyKey: 'a', quantity: 2, status: 200, orderId: 'order-a', resend: true }),
      outcome({ idempotencyKey: 'b', quantity: 1, status: 201, orderId: 'order-b' }),
      outcome({ idempotencyKey: 'c', quantity: 1, status: 409, code: 'OUT_OF_STOCK' }),
    ],
    acceptedOrders: [accepted('order-a', 2), accepted('order-b', 1)],
    deadLettered: { 'order_notify.dlq': 0, 'order_report.dlq': 0 },
    audit: {
      productStock: 0,
      restockedUnits: 0,
      orders: [completedOrder('order-a', 2), completedOrder('order-b', 1)],
      payments: [charge('order-a'), charge('order-b')],
    },
  };
}

/** The clean sale where order-b's customer never paid: it expired and its unit came back. */
function saleWithExpiry(): Sale {
  const sale = cleanSale();
  sale.product.finalStock = 1;
  sale.audit.orders[1] = expiredOrder('order-b', 1);
  sale.audit.payments = [charge('order-a')];
  sale.acceptedOrders[1] = accepted('order-b', 1, { status: 'expired', lifecycleEmails: { expired: 1 } });
  return sale;
}

const codesOf = (input: InvariantInput) => checkFlashSaleInvariants(input).map((v) => v.code);

describe('checkFlashSaleInvariants', () => {
  it('finds nothing wrong with a clean sale', () => {
    expect(checkFlashSaleInvariants(cleanSale())).toEqual([]);
  });

  it('reports an oversell', () => {
    const sale = cleanSale();
    sale.product.finalStock = 1;
    expect(codesOf(sale)).toContain('OVERSOLD');

    sale.product.finalStock = -1;
    expect(codesOf(sale)).toEqual(expect.arrayContaining(['NEGATIVE_STOCK']));
  });

  it('reports units taken for orders no client heard of, and the database disagreeing', () => {
    const sale = cleanSale();
    sale.product.initialStock = 4;
    sale.serverSales = { orders: 3, units: 4 };
    expect(codesOf(sale)).toEqual(
      expect.arrayContaining(['STOCK_LOST', 'SALES_MISMATCH', 'ORDER_COUNT_MISMATCH']),
    );
  });

  it('reports stock left unsold while a buyer who fitted was refused', () => {
    const sale = cleanSale();
    sale.product.initialStock = 4;
    sale.product.finalStock = 1;
    expect(codesOf(sale)).toEqual(['UNSOLD_STOCK']);

    // One unit left is fine when every refused buyer wanted two.
    sale.outcomes = sale.outcomes.map((o) => (o.status === 409 ? { ...o, quantity: 2 } : o));
    expect(codesOf(sale)).toEqual([]);
  });

  it('reports a re-sent request that created a second order', () => {
    const sale = cleanSale();
    sale.outcomes[1] = { ...sale.outcomes[1], status: 201, orderId: 'order-a2' };
    sale.acceptedOrders.push(accepted('order-a2', 2));
    sale.serverSales = { orders: 3, units: 5 };
    sale.product.initialStock = 5;
    expect(codesOf(sale)).toContain('DUPLICATE_ORDER');
  });

  it('reports 5xx, unanswered requests and refusals other than OUT_OF_STOCK', () => {
    const sale = cleanSale();
    sale.outcomes.push(
      outcome({ status: 503, code: 'DATABASE_UNAVAILABLE' }),
      outcome({ status: 0, code: 'TIMEOUT' }),
      outcome({ status: 422, code: 'UNKNOWN_SKU' }),
    );
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual(['SERVER_ERROR', 'NO_ANSWER', 'UNEXPECTED_ANSWER']);
    expect(violations[0].message).toContain('503 DATABASE_UNAVAILABLE ×1');
  });

  it('reports a missing email and a duplicate one, naming the order', () => {
    const sale = cleanSale();
    sale.acceptedOrders[0].emailCount = 0;
    sale.acceptedOrders[1].emailCount = 2;
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual(['MISSING_EMAIL', 'DUPLICATE_EMAIL']);
    expect(violations[0].message).toContain('order-a');
    expect(violations[1].message).toContain('order-b');
  });

  it('reports emails the deduplicating mailbox received twice, which it would otherwise hide', () => {
    const sale = cleanSale();
    sale.emailsResent = 0;
    expect(codesOf(sale)).toEqual([]);
    sale.emailsResent = 3;
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual(['EMAIL_RESENT']);
    expect(violations[0].message).toMatch(/^3 emails reached the mail server a second time/);
  });

  it('reports a missing PDF, dead-lettered messages and unreadable dead-letter queues', () => {
    const sale = cleanSale();
    sale.acceptedOrders[1].pdfCount = 0;
    sale.deadLettered = { 'order_notify.dlq': 0, 'order_report.dlq': 2 };
    expect(codesOf(sale)).toEqual(['MISSING_PDF', 'DEAD_LETTERED']);

    sale.deadLettered = undefined;
    expect(codesOf(sale)).toEqual(['MISSING_PDF', 'DEAD_LETTERS_UNKNOWN']);
  });
});

describe('checkFlashSaleInvariants: the order lifecycle', () => {
  it('finds nothing wrong when an unpaid order expired and its unit came back, even with a refusal that now fits', () => {
    const sale = saleWithExpiry();
    // The refused buyer wanted one unit and one is in stock: it came back after they were refused.
    expect(checkFlashSaleInvariants(sale)).toEqual([]);
  });

  it('closes the stock arithmetic: units returned twice are oversold, units never returned are lost', () => {
    const twice = saleWithExpiry();
    twice.product.finalStock = 2;
    twice.product.initialStock = 3;
    expect(codesOf(twice)).toContain('OVERSOLD');

    const kept = saleWithExpiry();
    kept.product.finalStock = 0;
    kept.audit.orders[1].stockReturnedAt = null;
    const violations = checkFlashSaleInvariants(kept);
    expect(violations.map((v) => v.code)).toEqual(['STOCK_LOST', 'STOCK_NOT_RETURNED']);
    expect(violations[0].message).toContain('3 supplied (initial + restocks) − 2 units held');
  });

  it('counts restocks in what was supplied', () => {
    const sale = saleWithExpiry();
    sale.audit.restockedUnits = 5;
    sale.product.finalStock = 6;
    expect(codesOf(sale)).toEqual([]);
  });

  it('reports units given back by an order that still holds them', () => {
    const sale = cleanSale();
    sale.audit.orders[0].stockReturnedAt = T;
    expect(codesOf(sale)).toEqual(['STOCK_RETURNED_WRONGLY']);
  });

  it('reports an order both paid and expired, and one both refunded and completed', () => {
    const sale = cleanSale();
    sale.audit.orders[0].expiredAt = T;
    sale.audit.orders[1].refundedAt = T;
    expect(codesOf(sale)).toEqual(expect.arrayContaining(['PAID_AND_EXPIRED', 'REFUNDED_AND_COMPLETED']));
  });

  it('reports a late payment kept, and a second charge for one order', () => {
    const sale = saleWithExpiry();
    sale.audit.orders[1].refundedAt = T;
    sale.acceptedOrders[1].lifecycleEmails = { expired: 1, refunded: 1 };
    sale.audit.payments.push(charge('order-b'));
    expect(codesOf(sale)).toEqual(['LATE_PAYMENT_NOT_REFUNDED']);

    sale.audit.payments[1] = { ...sale.audit.payments[1], status: 'refunded', refundedAt: T };
    expect(codesOf(sale)).toEqual([]);

    sale.audit.payments.push(charge('order-a', { paymentId: 'second', status: 'refunded', refundedAt: T }));
    expect(codesOf(sale)).toEqual(['CHARGED_TWICE']);

    // A declined attempt took nothing; one still charging has not finished.
    sale.audit.payments.pop();
    sale.audit.payments.push(charge('order-a', { paymentId: 'declined', status: 'declined' }));
    expect(codesOf(sale)).toEqual([]);
    sale.audit.payments.push(charge('order-a', { paymentId: 'charging', status: 'charging' }));
    expect(codesOf(sale)).toEqual(['CHARGE_UNFINISHED']);
  });

  it('reports orders left unsettled: placed, a payment pending, a cancel waiting, a late charge not given back', () => {
    const sale = cleanSale();
    sale.audit.orders[0] = { ...sale.audit.orders[0], status: 'paid', completedAt: null };
    sale.audit.orders[1].paymentPending = true;
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual(['NOT_SETTLED']);
    expect(violations[0].message).toMatch(/^2 orders did not reach a final state/);

    const waiting = cleanSale();
    waiting.audit.orders[0].cancelRequestedAt = T;
    expect(codesOf(waiting)).toEqual(['NOT_SETTLED']);

    const late = saleWithExpiry();
    late.audit.orders[1].latePaymentId = 'late';
    expect(codesOf(late)).toEqual(['NOT_SETTLED']);
  });

  it('expects one email per transition: placed, paid, expired, cancelled, refunded', () => {
    const kinds = (order: AuditedOrder) => [...expectedEmailsOf(order)].sort();
    expect(kinds(completedOrder('a', 1))).toEqual(['paid', 'placed']);
    expect(kinds(expiredOrder('b', 1))).toEqual(['expired', 'placed']);
    expect(kinds(expiredOrder('c', 1, { refundedAt: T, latePaymentId: 'late' }))).toEqual([
      'expired',
      'placed',
      'refunded',
    ]);
    const cancelledAfterPaying = completedOrder('d', 1, {
      status: 'cancelled',
      cancelledAt: T,
      cancelRequestedAt: T,
      refundedAt: T,
      stockReturnedAt: T,
    });
    expect(kinds(cancelledAfterPaying)).toEqual(['cancelled', 'paid', 'placed']);
    expect(kinds(expiredOrder('e', 1, { status: 'cancelled', expiredAt: null, cancelledAt: T }))).toEqual([
      'cancelled',
      'placed',
    ]);
  });

  it('reports a lifecycle email missing, sent twice, or for a transition that did not happen', () => {
    const sale = saleWithExpiry();
    sale.acceptedOrders[0].lifecycleEmails = {};
    sale.acceptedOrders[1].lifecycleEmails = { expired: 2, paid: 1 };
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual([
      'MISSING_LIFECYCLE_EMAIL',
      'DUPLICATE_LIFECYCLE_EMAIL',
      'UNEXPECTED_LIFECYCLE_EMAIL',
    ]);
    expect(violations[0].message).toContain('order-a paid');
    expect(violations[1].message).toContain('order-b expired ×2');
    expect(violations[2].message).toContain('order-b paid (expired)');
  });

  it('reports a customer request answered with a 5xx, dropped, or refused other than with a clean 409', () => {
    const sale = cleanSale();
    sale.acceptedOrders[0].action = 'pay';
    sale.acceptedOrders[0].actionAnswers = ['202'];
    sale.acceptedOrders[1].action = 'cancel-after-paying';
    sale.acceptedOrders[1].actionAnswers = ['202', '409 ORDER_NOT_CANCELLABLE'];
    expect(codesOf(sale)).toEqual([]);
    sale.acceptedOrders[0].actionAnswers = ['503 BROKER_UNAVAILABLE'];
    sale.acceptedOrders[1].actionAnswers = ['0 NETWORK_ERROR'];
    const violations = checkFlashSaleInvariants(sale);
    expect(violations.map((v) => v.code)).toEqual(['CUSTOMER_REFUSED']);
    expect(violations[0].message).toMatch(/^2 payment or cancel requests/);
  });

  it('reports an audit it could not read', () => {
    const sale: InvariantInput = { ...cleanSale(), audit: undefined };
    expect(codesOf(sale)).toEqual(['AUDIT_UNAVAILABLE']);
  });
});

describe('deadLettersOfRun', () => {
  it('counts only the parked messages whose order is one of this run’s', () => {
    const run = new Set(['order-a', 'order-b']);
    const { ofThisRun, others } = deadLettersOfRun(
      {
        'order_notify.dlq': ['old-order', undefined, 'order-a'],
        'order_report.dlq': ['old-order'],
        'order_status.dlq': [],
      },
      run,
    );
    expect(ofThisRun).toEqual({ 'order_notify.dlq': 1, 'order_report.dlq': 0, 'order_status.dlq': 0 });
    expect(others).toEqual({ 'order_notify.dlq': 2, 'order_report.dlq': 1, 'order_status.dlq': 0 });
  });
});

describe('checkFlashSaleInvariants on a sale with signed-in customers', () => {
  const OPENS_AT = '2026-11-23T09:59:59.000Z';

  /** 2 units, one each for ann and bob; cy was early, then turned away; ann tried again. */
  function signedInSale(admission: 'direct' | 'queued' = 'direct'): Sale {
    const sale = cleanSale();
    const placed = (key: string, customer: string, orderId: string): RequestOutcome =>
      admission === 'direct'
        ? outcome({ idempotencyKey: key, customer, attempt: 1, status: 201, orderId })
        : outcome({
            idempotencyKey: key,
            customer,
            attempt: 1,
            status: 202,
            ticket: `t-${key}`,
            ticketStatus: 'placed',
            orderId,
          });
    sale.product = { sku: 'FLASH-1', initialStock: 2, finalStock: 0, priceCents: 100 };
    sale.serverSales = { orders: 2, units: 2 };
    sale.outcomes = [
      outcome({
        idempotencyKey: 'early',
        customer: 'cy',
        attempt: 1,
        early: true,
        status: 409,
        code: 'SALE_NOT_OPEN',
      }),
      placed('a', 'ann', 'order-a'),
      placed('b', 'bob', 'order-b'),
      outcome({ idempotencyKey: 'c', customer: 'cy', attempt: 1, status: 409, code: 'OUT_OF_STOCK' }),
      outcome({ idempotencyKey: 'a2', customer: 'ann', attempt: 2, status: 409, code: 'LIMIT_PER_CUSTOMER' }),
    ];
    sale.acceptedOrders = [
      accepted('order-a', 1, { customer: 'ann' }),
      accepted('order-b', 1, { customer: 'bob' }),
    ];
    sale.audit.orders = [completedOrder('order-a', 1), completedOrder('order-b', 1)];
    sale.sale = { opensAt: OPENS_AT, limitPerCustomer: 1, stockBeforeOpen: 2 };
    return sale;
  }

  it('finds nothing wrong with a clean sale, direct or queued', () => {
    expect(checkFlashSaleInvariants(signedInSale())).toEqual([]);
    expect(checkFlashSaleInvariants(signedInSale('queued'))).toEqual([]);
  });

  it('reports a customer holding two orders at once, not one who ordered again after cancelling', () => {
    const sale = signedInSale();
    sale.product.initialStock = 3;
    sale.sale!.stockBeforeOpen = 3;
    sale.serverSales = { orders: 3, units: 3 };
    sale.outcomes[4] = outcome({
      idempotencyKey: 'a2',
      customer: 'ann',
      attempt: 2,
      status: 201,
      orderId: 'order-a2',
    });
    sale.acceptedOrders.push(
      accepted('order-a2', 1, { customer: 'ann', createdAt: '2026-11-23T10:00:02.000Z' }),
    );
    sale.audit.orders.push(completedOrder('order-a2', 1, { createdAt: '2026-11-23T10:00:02.000Z' }));
    expect(codesOf(sale)).toEqual(['OVER_LIMIT']);

    // Cancelled a second before the second order: the limit counts holding orders only.
    sale.acceptedOrders[0] = accepted('order-a', 1, {
      customer: 'ann',
      status: 'cancelled',
      cancelledAt: '2026-11-23T10:00:01.000Z',
    });
    expect(codesOf(sale)).not.toContain('OVER_LIMIT');
  });

  it('reports an order made before opening, an early request served, and stock touched before opening', () => {
    const sale = signedInSale();
    sale.acceptedOrders[1] = accepted('order-b', 1, {
      customer: 'bob',
      createdAt: '2026-11-23T09:59:58.000Z',
    });
    sale.outcomes[0] = outcome({
      idempotencyKey: 'early',
      customer: 'cy',
      attempt: 1,
      early: true,
      status: 201,
      orderId: 'order-e',
    });
    sale.sale!.stockBeforeOpen = 1;
    expect(codesOf(sale)).toEqual(
      expect.arrayContaining([
        'ORDER_BEFORE_OPENING',
        'EARLY_NOT_REFUSED',
        'EARLY_TOOK_STOCK',
        'STOCK_TOUCHED_BEFORE_OPENING',
      ]),
    );
  });

  it.each([
    [409, 'LIMIT_PER_CUSTOMER', ['UNEXPECTED_ANSWER']],
    [409, 'SALE_NOT_OPEN', ['UNEXPECTED_ANSWER']],
    [429, 'RATE_LIMITED', []],
  ])('a first try after opening answered %i %s: %j', (status, code, violations) => {
    // SALE_NOT_OPEN only before opening, LIMIT_PER_CUSTOMER only for a second try.
    const sale = signedInSale();
    sale.outcomes[3] = outcome({ idempotencyKey: 'c', customer: 'cy', attempt: 1, status, code });
    expect(codesOf(sale)).toEqual(violations);
  });

  it('queued: a full waiting room is a refusal, a ticket never ended is lost, an odd refusal code is reported', () => {
    const sale = signedInSale('queued');
    sale.outcomes.push(outcome({ customer: 'dan', attempt: 1, status: 503, code: 'WAITING_ROOM_FULL' }));
    expect(codesOf(sale)).toEqual([]);

    sale.outcomes.push(
      outcome({ customer: 'eve', attempt: 1, status: 202, ticket: 't-eve', ticketStatus: 'lost' }),
    );
    sale.outcomes.push(
      outcome({
        customer: 'fay',
        attempt: 1,
        status: 202,
        ticket: 't-fay',
        ticketStatus: 'refused',
        code: 'SALE_CLOSED',
      }),
    );
    expect(codesOf(sale)).toEqual(['UNEXPECTED_ANSWER', 'LOST_TICKET']);
  });

  it('queued: a re-send naming the same placed ticket is one order', () => {
    const sale = signedInSale('queued');
    sale.outcomes.push({ ...sale.outcomes[1], resend: true });
    expect(codesOf(sale)).toEqual([]);
  });
});

describe('checkFlashSaleInvariants: queued re-sends', () => {
  it('counts two tickets of one key placed as the same order once', () => {
    const sale = cleanSale();
    sale.outcomes = [
      outcome({
        idempotencyKey: 'a',
        quantity: 2,
        status: 202,
        ticket: 't1',
        ticketStatus: 'placed',
        orderId: 'order-a',
      }),
      outcome({
        idempotencyKey: 'a',
        quantity: 2,
        status: 202,
        ticket: 't2',
        ticketStatus: 'placed',
        orderId: 'order-a',
        resend: true,
      }),
      outcome({ idempotencyKey: 'b', quantity: 1, status: 201, orderId: 'order-b' }),
    ];
    expect(checkFlashSaleInvariants(sale)).toEqual([]);
  });
});
