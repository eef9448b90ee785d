import type { OrderLifecycleStatus, PaymentFailureCode, RefundReason } from '@shop/contracts';

/**
 * The one place that decides an order's life. Pure: it takes an order's state and one event and says
 * what changes and what must follow (stock back, a refund, a payment request, an email). The store
 * (OrderLifecycleStore) applies only what this allows, under the order's row lock, so two events racing
 * for one order (a payment and its deadline, a cancel and a payment) are decided one after the other.
 *
 *   placed ──payment.succeeded──▶ paid ──notified + reported──▶ completed
 *     │ └──deadline──▶ expired (stock back)          │ cancel: refund asked ──payment.refunded──▶ cancelled
 *     └──cancel──▶ cancelled (stock back)            └──payment.refunded (not asked by a cancel)──▶ refunded
 *   A payment that succeeds once the order has ended is refunded at once (late payment).
 */

export type OrderStatus = OrderLifecycleStatus;

/** The statuses that hold the reservation's units; the others have given them back. */
export const HOLDING_STOCK: ReadonlySet<OrderStatus> = new Set(['placed', 'paid', 'completed']);

/** What the table reads of an order. */
export interface OrderLifecycleState {
  status: OrderStatus;
  payBy: Date;
  /** The latest charge attempt, and whether its result is still awaited. */
  paymentId: string | null;
  paymentPending: boolean;
  /** The attempt that paid the order. */
  paidPaymentId: string | null;
  /** An attempt that succeeded after the order had ended (refunded). */
  latePaymentId: string | null;
  cancelRequested: boolean;
  refunded: boolean;
  notified: boolean;
  reported: boolean;
}

export type LifecycleEvent =
  | { type: 'pay'; paymentId: string }
  | { type: 'payment-succeeded'; paymentId: string }
  | { type: 'payment-failed'; paymentId: string; code: PaymentFailureCode }
  | { type: 'payment-refunded'; paymentId: string }
  | { type: 'deadline' }
  | { type: 'cancel' }
  /** A fulfilment step done by a worker, at the time it says. */
  | { type: 'notified'; at?: Date }
  | { type: 'reported'; at?: Date };

export type LifecycleEventType = LifecycleEvent['type'];

/** Why a customer's request is refused (HTTP 409 with this code). */
export type LifecycleRefusal =
  'ORDER_ALREADY_PAID' | 'ORDER_NOT_PAYABLE' | 'PAYMENT_IN_PROGRESS' | 'ORDER_NOT_CANCELLABLE';

/** The lifecycle emails, one per transition (the routing key `order.<kind>`). */
export type LifecycleEmail = 'paid' | 'expired' | 'cancelled' | 'refunded';

/** What must happen, in the same transaction, because of a transition. */
export type LifecycleEffect =
  | { type: 'return-stock' }
  | { type: 'request-payment'; paymentId: string }
  | { type: 'request-refund'; paymentId: string; reason: RefundReason }
  | { type: 'email'; email: LifecycleEmail };

/** The columns a transition sets (undefined: unchanged). Times are the decision's `now`. */
export interface LifecycleChanges {
  status?: OrderStatus;
  paymentId?: string;
  paymentPending?: boolean;
  paymentFailure?: PaymentFailureCode | null;
  paidPaymentId?: string;
  latePaymentId?: string;
  paidAt?: Date;
  completedAt?: Date;
  cancelledAt?: Date;
  expiredAt?: Date;
  refundedAt?: Date;
  cancelRequestedAt?: Date;
  stockReturnedAt?: Date;
  notifiedAt?: Date;
  reportedAt?: Date;
}

export type LifecycleDecision =
  | { outcome: 'changed'; changes: LifecycleChanges; effects: LifecycleEffect[] }
  /** Nothing to do: a duplicate, a late or stale event, or one that does not concern this status. */
  | { outcome: 'unchanged'; why: string }
  | { outcome: 'refused'; code: LifecycleRefusal; why: string };

const ENDED: ReadonlySet<OrderStatus> = new Set(['cancelled', 'expired', 'refunded']);

const unchanged = (why: string): LifecycleDecision => ({ outcome: 'unchanged', why });
const refused = (code: LifecycleRefusal, why: string): LifecycleDecision => ({
  outcome: 'refused',
  code,
  why,
});
const changed = (changes: LifecycleChanges, effects: LifecycleEffect[] = []): LifecycleDecision => ({
  outcome: 'changed',
  changes,
  effects,
});

/** Ending a reservation: the status, its time, the stock back and the customer's email, together. */
function end(
  status: 'cancelled' | 'expired' | 'refunded',
  now: Date,
  extra: LifecycleChanges = {},
): LifecycleDecision {
  const at = { cancelled: 'cancelledAt', expired: 'expiredAt', refunded: 'refundedAt' } as const;
  return changed({ ...extra, status, [at[status]]: now, stockReturnedAt: now }, [
    { type: 'return-stock' },
    { type: 'email', email: status },
  ]);
}

/** Decides what `event` does to an order in `state` at `now`. */
export function decide(state: OrderLifecycleState, event: LifecycleEvent, now: Date): LifecycleDecision {
  switch (event.type) {
    case 'pay':
      return decidePay(state, event.paymentId, now);
    case 'payment-succeeded':
      return decidePaymentSucceeded(state, event.paymentId, now);
    case 'payment-failed':
      if (!state.paymentPending || state.paymentId !== event.paymentId) {
        return unchanged(`payment ${event.paymentId} is not the one awaited`);
      }
      return changed({ paymentPending: false, paymentFailure: event.code });
    case 'payment-refunded':
      return decideRefunded(state, event.paymentId, now);
    case 'deadline':
      if (state.status !== 'placed')
        return unchanged(`the order is ${state.status}: its deadline does nothing`);
      // A payment still under way may succeed later: it is then refunded as a late payment.
      return end('expired', now, { paymentPending: false });
    case 'cancel':
      return decideCancel(state, now);
    case 'notified':
    case 'reported':
      return decideFulfilmentStep(state, event.type, event.at ?? now, now);
  }
}

function decidePay(state: OrderLifecycleState, paymentId: string, now: Date): LifecycleDecision {
  if (state.status === 'paid' || state.status === 'completed') {
    return refused('ORDER_ALREADY_PAID', 'the order is paid already');
  }
  if (state.status !== 'placed') return refused('ORDER_NOT_PAYABLE', `the order is ${state.status}`);
  if (now.getTime() >= state.payBy.getTime()) {
    return refused('ORDER_NOT_PAYABLE', `the reservation ended at ${state.payBy.toISOString()}`);
  }
  if (state.paymentPending) return refused('PAYMENT_IN_PROGRESS', `payment ${state.paymentId} is under way`);
  return changed({ paymentId, paymentPending: true, paymentFailure: null }, [
    { type: 'request-payment', paymentId },
  ]);
}

function decidePaymentSucceeded(state: OrderLifecycleState, paymentId: string, now: Date): LifecycleDecision {
  if (paymentId === state.paidPaymentId || paymentId === state.latePaymentId) {
    return unchanged(`payment ${paymentId} was applied before`);
  }
  if (state.status === 'placed') {
    const completes = state.notified && state.reported;
    return changed(
      {
        status: completes ? 'completed' : 'paid',
        paidAt: now,
        ...(completes && { completedAt: now }),
        paidPaymentId: paymentId,
        paymentId,
        paymentPending: false,
        paymentFailure: null,
      },
      [{ type: 'email', email: 'paid' }],
    );
  }
  // Ended, or paid by another attempt: the money goes back, the order stays as it is.
  const pendingCleared = state.paymentId === paymentId ? { paymentPending: false } : {};
  return changed({ latePaymentId: paymentId, ...pendingCleared }, [
    { type: 'request-refund', paymentId, reason: 'late-payment' },
  ]);
}

function decideRefunded(state: OrderLifecycleState, paymentId: string, now: Date): LifecycleDecision {
  if (paymentId === state.paidPaymentId && (state.status === 'paid' || state.status === 'completed')) {
    if (state.cancelRequested) return end('cancelled', now, { refundedAt: now });
    return end('refunded', now);
  }
  if (paymentId === state.latePaymentId && !state.refunded) {
    return changed({ refundedAt: now }, [{ type: 'email', email: 'refunded' }]);
  }
  return unchanged(`refund of payment ${paymentId} was applied before or concerns no payment of this order`);
}

function decideCancel(state: OrderLifecycleState, now: Date): LifecycleDecision {
  switch (state.status) {
    case 'placed':
      return end('cancelled', now, { paymentPending: false });
    case 'paid':
    case 'completed':
      if (state.cancelRequested) return unchanged('the cancellation is under way');
      return changed({ cancelRequestedAt: now }, [
        { type: 'request-refund', paymentId: state.paidPaymentId as string, reason: 'cancelled' },
      ]);
    case 'cancelled':
      return unchanged('the order is cancelled already');
    case 'expired':
    case 'refunded':
      return refused('ORDER_NOT_CANCELLABLE', `the order is ${state.status}`);
  }
}

function decideFulfilmentStep(
  state: OrderLifecycleState,
  step: 'notified' | 'reported',
  doneAt: Date,
  now: Date,
): LifecycleDecision {
  if (step === 'notified' ? state.notified : state.reported) return unchanged(`the order was ${step} before`);
  const changes: LifecycleChanges = step === 'notified' ? { notifiedAt: doneAt } : { reportedAt: doneAt };
  const bothDone = step === 'notified' ? state.reported : state.notified;
  if (state.status === 'paid' && bothDone && !state.cancelRequested) {
    return changed({ ...changes, status: 'completed', completedAt: now });
  }
  return changed(changes);
}

/** The state after a decision's changes: the store decides the next event of a batch on it. */
export function applyChanges(state: OrderLifecycleState, changes: LifecycleChanges): OrderLifecycleState {
  return {
    status: changes.status ?? state.status,
    payBy: state.payBy,
    paymentId: changes.paymentId ?? state.paymentId,
    paymentPending: changes.paymentPending ?? state.paymentPending,
    paidPaymentId: changes.paidPaymentId ?? state.paidPaymentId,
    latePaymentId: changes.latePaymentId ?? state.latePaymentId,
    cancelRequested: state.cancelRequested || changes.cancelRequestedAt !== undefined,
    refunded: state.refunded || changes.refundedAt !== undefined,
    notified: state.notified || changes.notifiedAt !== undefined,
    reported: state.reported || changes.reportedAt !== undefined,
  };
}

/** Whether an order in this status is over: nothing but a late payment's refund can happen to it. */
export const hasEnded = (status: OrderStatus) => ENDED.has(status);
