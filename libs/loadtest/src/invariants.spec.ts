import type { AcceptedOrder, RequestOutcome } from './flash-sale.results';
import { checkFlashSaleInvariants, deadLettersOfRun, type InvariantInput } from './invariants';

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
  pdfCount: 1,
  ...overrides,
});

type Sale = InvariantInput & { outcomes: RequestOutcome[]; acceptedOrders: AcceptedOrder[] };

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
  };
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
