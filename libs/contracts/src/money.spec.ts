import { formatMoney, orderNumberOf } from './money';

describe('formatMoney', () => {
  it('formats integer cents with the currency', () => {
    expect(formatMoney(1250, 'EUR')).toBe('€12.50');
    expect(formatMoney(123456789, 'EUR')).toBe('€1,234,567.89');
    expect(formatMoney(5, 'USD')).toBe('US$0.05');
  });
});

describe('orderNumberOf', () => {
  it('takes the first block of the id', () => {
    expect(orderNumberOf('7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b')).toBe('7D0F6A3B');
  });
});
