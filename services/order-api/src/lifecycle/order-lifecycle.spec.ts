import {
  applyChanges,
  decide,
  HOLDING_STOCK,
  type LifecycleEvent,
  type LifecycleEventType,
  type OrderLifecycleState,
  type OrderStatus,
} from './order-lifecycle';

const NOW = new Date('2026-12-07T10:00:00.000Z');
const PAY_BY = new Date('2026-12-07T10:15:00.000Z');
const PAID_WITH = '00000000-0000-4000-8000-00000000000a';
const NEW_PAYMENT = '00000000-0000-4000-8000-00000000000b';

/** An order in `status` as it would be after a normal life up to there. */
function stateIn(status: OrderStatus): OrderLifecycleState {
  const paid = status === 'paid' || status === 'completed' || status === 'refunded';
  return {
    status,
    payBy: PAY_BY,
    paymentId: paid ? PAID_WITH : null,
    paymentPending: false,
    paidPaymentId: paid ? PAID_WITH : null,
    latePaymentId: null,
    cancelRequested: false,
    refunded: status === 'refunded',
    notified: status === 'completed',
    reported: status === 'completed',
  };
}

const EVENTS: Record<LifecycleEventType, LifecycleEvent> = {
  pay: { type: 'pay', paymentId: NEW_PAYMENT },
  'payment-succeeded': { type: 'payment-succeeded', paymentId: NEW_PAYMENT },
  'payment-failed': { type: 'payment-failed', paymentId: NEW_PAYMENT, code: 'CARD_DECLINED' },
  'payment-refunded': { type: 'payment-refunded', paymentId: PAID_WITH },
  deadline: { type: 'deadline' },
  cancel: { type: 'cancel' },
  notified: { type: 'notified' },
  reported: { type: 'reported' },
};

type Expected = string;
/**
 * Every (status, event) pair: `→ <status>` a transition, `~` changed without a new status, `=` nothing,
 * `409 <code>` refused. The effects of each are checked below.
 */
const TABLE: Record<OrderStatus, Record<LifecycleEventType, Expected>> = {
  placed: {
    pay: '~',
    'payment-succeeded': '→ paid',
    'payment-failed': '=',
    'payment-refunded': '=',
    deadline: '→ expired',
    cancel: '→ cancelled',
    notified: '~',
    reported: '~',
  },
  paid: {
    pay: '409 ORDER_ALREADY_PAID',
    'payment-succeeded': '~',
    'payment-failed': '=',
    'payment-refunded': '→ refunded',
    deadline: '=',
    cancel: '~',
    notified: '~',
    reported: '~',
  },
  completed: {
    pay: '409 ORDER_ALREADY_PAID',
    'payment-succeeded': '~',
    'payment-failed': '=',
    'payment-refunded': '→ refunded',
    deadline: '=',
    cancel: '~',
    notified: '=',
    reported: '=',
  },
  cancelled: {
    pay: '409 ORDER_NOT_PAYABLE',
    'payment-succeeded': '~',
    'payment-failed': '=',
    'payment-refunded': '=',
    deadline: '=',
    cancel: '=',
    notified: '~',
    reported: '~',
  },
  expired: {
    pay: '409 ORDER_NOT_PAYABLE',
    'payment-succeeded': '~',
    'payment-failed': '=',
    'payment-refunded': '=',
    deadline: '=',
    cancel: '409 ORDER_NOT_CANCELLABLE',
    notified: '~',
    reported: '~',
  },
  refunded: {
    pay: '409 ORDER_NOT_PAYABLE',
    'payment-succeeded': '~',
    'payment-failed': '=',
    'payment-refunded': '=',
    deadline: '=',
    cancel: '409 ORDER_NOT_CANCELLABLE',
    notified: '~',
    reported: '~',
  },
};

function summary(state: OrderLifecycleState, event: LifecycleEvent): Expected {
  const decision = decide(state, event, NOW);
  if (decision.outcome === 'refused') return `409 ${decision.code}`;
  if (decision.outcome === 'unchanged') return '=';
  return decision.changes.status ? `→ ${decision.changes.status}` : '~';
}

describe('the order lifecycle table', () => {
  const pairs = (Object.keys(TABLE) as OrderStatus[]).flatMap((status) =>
    (Object.keys(EVENTS) as LifecycleEventType[]).map((event) => [status, event] as const),
  );

  it.each(pairs)('%s + %s', (status, event) => {
    expect(summary(stateIn(status), EVENTS[event])).toBe(TABLE[status][event]);
  });

  it('returns the stock and emails the customer exactly when a reservation ends', () => {
    for (const [status, event] of pairs) {
      const decision = decide(stateIn(status), EVENTS[event], NOW);
      if (decision.outcome !== 'changed') continue;
      const next = decision.changes.status ?? status;
      const returnsStock = decision.effects.some((effect) => effect.type === 'return-stock');
      // Units go back once: on the move from a status that holds them to one that does not.
      expect([status, event, returnsStock]).toEqual([
        status,
        event,
        HOLDING_STOCK.has(status) && !HOLDING_STOCK.has(next),
      ]);
      expect(returnsStock).toBe(decision.changes.stockReturnedAt !== undefined);
      if (returnsStock) {
        expect(decision.effects).toContainEqual({ type: 'email', email: next });
      }
    }
  });

  it('charges only an unpaid reservation that has time left, one attempt at a time', () => {
    const placed = stateIn('placed');
    expect(decide(placed, EVENTS.pay, NOW)).toEqual({
      outcome: 'changed',
      changes: { paymentId: NEW_PAYMENT, paymentPending: true, paymentFailure: null },
      effects: [{ type: 'request-payment', paymentId: NEW_PAYMENT }],
    });
    const pending = { ...placed, paymentId: NEW_PAYMENT, paymentPending: true };
    expect(summary(pending, { type: 'pay', paymentId: PAID_WITH })).toBe('409 PAYMENT_IN_PROGRESS');
    expect(decide(placed, EVENTS.pay, PAY_BY)).toMatchObject({
      outcome: 'refused',
      code: 'ORDER_NOT_PAYABLE',
    });
  });

  it('lets a declined card be followed by another try, and ignores a stale failure', () => {
    const pending = { ...stateIn('placed'), paymentId: NEW_PAYMENT, paymentPending: true };
    const declined = decide(pending, EVENTS['payment-failed'], NOW);
    expect(declined).toEqual({
      outcome: 'changed',
      changes: { paymentPending: false, paymentFailure: 'CARD_DECLINED' },
      effects: [],
    });
    const after = applyChanges(pending, declined.outcome === 'changed' ? declined.changes : {});
    expect(summary(after, { type: 'pay', paymentId: PAID_WITH })).toBe('~');
    expect(summary(after, EVENTS['payment-failed'])).toBe('=');
  });

  it('pays and completes at once when both fulfilment steps are done, and emails once', () => {
    const fulfilled = { ...stateIn('placed'), notified: true, reported: true };
    const decision = decide(fulfilled, EVENTS['payment-succeeded'], NOW);
    expect(decision).toMatchObject({
      outcome: 'changed',
      changes: { status: 'completed', paidAt: NOW, completedAt: NOW, paidPaymentId: NEW_PAYMENT },
      effects: [{ type: 'email', email: 'paid' }],
    });
    const paid = applyChanges(fulfilled, decision.outcome === 'changed' ? decision.changes : {});
    expect(summary(paid, EVENTS['payment-succeeded'])).toBe('=');
  });

  it('completes a paid order on its last fulfilment step, unless its cancellation is under way', () => {
    const paid = { ...stateIn('paid'), notified: true };
    expect(summary(paid, EVENTS.reported)).toBe('→ completed');
    expect(summary({ ...paid, cancelRequested: true }, EVENTS.reported)).toBe('~');
  });

  it('refunds a payment that succeeds after the order ended, once, and mails the refund once', () => {
    for (const status of ['expired', 'cancelled', 'refunded'] as const) {
      const ended = stateIn(status);
      const late = decide(ended, EVENTS['payment-succeeded'], NOW);
      expect(late).toEqual({
        outcome: 'changed',
        changes: { latePaymentId: NEW_PAYMENT },
        effects: [{ type: 'request-refund', paymentId: NEW_PAYMENT, reason: 'late-payment' }],
      });
      const recorded = applyChanges(ended, late.outcome === 'changed' ? late.changes : {});
      expect(summary(recorded, EVENTS['payment-succeeded'])).toBe('=');
      const refund = { type: 'payment-refunded', paymentId: NEW_PAYMENT } as const;
      if (status === 'refunded') {
        // Its own refund is recorded already; the late payment's refund email still goes out once.
        expect(decide(recorded, refund, NOW)).toMatchObject({ outcome: 'unchanged' });
        continue;
      }
      const refunded = decide(recorded, refund, NOW);
      expect(refunded).toEqual({
        outcome: 'changed',
        changes: { refundedAt: NOW },
        effects: [{ type: 'email', email: 'refunded' }],
      });
      const done = applyChanges(recorded, refunded.outcome === 'changed' ? refunded.changes : {});
      expect(done.status).toBe(status);
      expect(summary(done, refund)).toBe('=');
    }
  });

  it('expires a reservation whose payment is still under way, and refunds that payment if it succeeds', () => {
    const pending = { ...stateIn('placed'), paymentId: NEW_PAYMENT, paymentPending: true };
    const expired = decide(pending, EVENTS.deadline, NOW);
    expect(expired).toMatchObject({
      outcome: 'changed',
      changes: { status: 'expired', paymentPending: false },
    });
    const after = applyChanges(pending, expired.outcome === 'changed' ? expired.changes : {});
    expect(decide(after, EVENTS['payment-succeeded'], NOW)).toMatchObject({
      effects: [{ type: 'request-refund', reason: 'late-payment' }],
    });
  });

  it('cancels a paid order by refunding it first, then returning the stock when the refund comes', () => {
    const paid = stateIn('paid');
    const asked = decide(paid, EVENTS.cancel, NOW);
    expect(asked).toEqual({
      outcome: 'changed',
      changes: { cancelRequestedAt: NOW },
      effects: [{ type: 'request-refund', paymentId: PAID_WITH, reason: 'cancelled' }],
    });
    const cancelling = applyChanges(paid, asked.outcome === 'changed' ? asked.changes : {});
    expect(summary(cancelling, EVENTS.cancel)).toBe('=');
    expect(decide(cancelling, EVENTS['payment-refunded'], NOW)).toEqual({
      outcome: 'changed',
      changes: { status: 'cancelled', cancelledAt: NOW, refundedAt: NOW, stockReturnedAt: NOW },
      effects: [{ type: 'return-stock' }, { type: 'email', email: 'cancelled' }],
    });
  });
});
