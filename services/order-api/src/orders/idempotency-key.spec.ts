import { scopedIdempotencyKey } from './idempotency-key';

describe('scopedIdempotencyKey', () => {
  it('prefixes the key with 32 hex digits of its scope, within the column (233 characters)', () => {
    const key = 'k'.repeat(200);
    const stored = scopedIdempotencyKey({ guestEmail: 'wang@example.cn' }, key);
    expect(stored).toMatch(/^[0-9a-f]{32}:k{200}$/);
    expect(stored).toHaveLength(233);
  });

  it('gives each customer and each guest email its own scope; email case does not matter', () => {
    const customer = '0b8f3a52-6c1d-4e7a-9f20-3d5c8e1b7a41';
    const scoped = [
      scopedIdempotencyKey({ customerId: customer }, 'order-1'),
      scopedIdempotencyKey({ customerId: '7d2e9c14-3a6b-4f85-8e01-6b9d4c2f5e73' }, 'order-1'),
      scopedIdempotencyKey({ guestEmail: 'alice@example.com' }, 'order-1'),
      scopedIdempotencyKey({ guestEmail: 'boris@example.com' }, 'order-1'),
    ];
    expect(new Set(scoped).size).toBe(4);
    expect(scopedIdempotencyKey({ guestEmail: 'Alice@Example.COM' }, 'order-1')).toBe(scoped[2]);
    // A guest whose email happens to read like a customer id is still not that customer.
    expect(scopedIdempotencyKey({ guestEmail: customer }, 'order-1')).not.toBe(scoped[0]);
  });
});
