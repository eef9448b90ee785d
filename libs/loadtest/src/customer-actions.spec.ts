import { actionOfRank, CUSTOMER_DEFAULTS, sharesRefusal } from './customer-actions';
import type { CustomerAction } from './flash-sale.results';

const actionsOf = (orders: number, shares = CUSTOMER_DEFAULTS) =>
  Array.from({ length: orders }, (_, rank) => actionOfRank(rank, shares));
const count = (actions: CustomerAction[], action: CustomerAction) =>
  actions.filter((a) => a === action).length;

describe('actionOfRank', () => {
  it('gives each share its fraction of the orders, to within two, however many orders there are', () => {
    for (const orders of [20, 67, 100, 1_000, 4_000]) {
      const actions = actionsOf(orders);
      const near = (action: CustomerAction, share: number) =>
        expect(Math.abs(count(actions, action) - share * orders)).toBeLessThanOrEqual(2);
      near('pay', 0.5);
      near('pay-late', 0.1);
      near('cancel-before-paying', 0.05);
      near('cancel-after-paying', 0.05);
      near('never-pay', 0.3);
    }
  });

  it('gives a small sale every kind of customer', () => {
    expect(new Set(actionsOf(30)).size).toBe(5);
  });

  it('always gives the same rank the same action, and lets everyone pay with a pay share of 1', () => {
    expect(actionsOf(50)).toEqual(actionsOf(50));
    expect(new Set(actionsOf(500, { payShare: 1, latePayShare: 0, cancelShare: 0 }))).toEqual(
      new Set(['pay']),
    );
    expect(new Set(actionsOf(500, { payShare: 0, latePayShare: 0, cancelShare: 0 }))).toEqual(
      new Set(['never-pay']),
    );
  });
});

describe('sharesRefusal', () => {
  it('refuses shares outside 0-1, or adding up to more than the orders', () => {
    expect(sharesRefusal(CUSTOMER_DEFAULTS)).toBeUndefined();
    expect(sharesRefusal({ payShare: 0.7, latePayShare: 0.2, cancelShare: 0.1 })).toBeUndefined();
    expect(sharesRefusal({ payShare: 1.5, latePayShare: 0, cancelShare: 0 })).toMatch(
      /--pay-share must be between 0 and 1/,
    );
    expect(sharesRefusal({ payShare: 0.8, latePayShare: 0.2, cancelShare: 0.1 })).toMatch(
      /must be at most 1 \(got 1.1\)/,
    );
  });
});
