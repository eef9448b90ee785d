import { orderIdOf } from './order-id';

describe('orderIdOf', () => {
  it("reads an envelope's data.orderId, and nothing from anything else", () => {
    expect(orderIdOf({ type: 'order.paid.v1', data: { orderId: 'a1b2', paidAt: 'x' } })).toBe('a1b2');
    expect(orderIdOf({ data: { ticket: 't-1' } })).toBeUndefined();
    expect(orderIdOf({ data: { orderId: 42 } })).toBeUndefined();
    expect(orderIdOf({ data: { orderId: '' } })).toBeUndefined();
    expect(orderIdOf({ data: null })).toBeUndefined();
    expect(orderIdOf('order 1')).toBeUndefined();
    expect(orderIdOf(null)).toBeUndefined();
  });
});
