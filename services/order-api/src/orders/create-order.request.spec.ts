import { CreateOrderRequest, normaliseOrder } from './create-order.request';

const valid = {
  customer: { email: 'Kim.Minji@Example.KR', name: '김민지' },
  items: [
    { sku: 'TEA-001', quantity: 2 },
    { sku: 'CUP-002', quantity: 1 },
  ],
};

describe('CreateOrderRequest', () => {
  it('accepts a valid order with a Korean name', () => {
    expect(CreateOrderRequest.safeParse(valid).success).toBe(true);
  });

  it.each([
    ['no items', { ...valid, items: [] }, 'items'],
    ['zero quantity', { ...valid, items: [{ sku: 'A', quantity: 0 }] }, 'items.0.quantity'],
    ['fractional quantity', { ...valid, items: [{ sku: 'A', quantity: 1.5 }] }, 'items.0.quantity'],
    ['quantity as string', { ...valid, items: [{ sku: 'A', quantity: '2' }] }, 'items.0.quantity'],
    ['bad email', { ...valid, customer: { email: 'nope', name: 'x' } }, 'customer.email'],
    ['blank name', { ...valid, customer: { email: 'a@b.co', name: '   ' } }, 'customer.name'],
    ['extra field', { ...valid, coupon: 'FREE' }, ''],
    ['sku with spaces', { ...valid, items: [{ sku: 'A B', quantity: 1 }] }, 'items.0.sku'],
  ])('rejects %s', (_, body, path) => {
    const result = CreateOrderRequest.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('normaliseOrder', () => {
  it('merges repeated skus, lower-cases the email and hashes deterministically', () => {
    const request = CreateOrderRequest.parse({
      ...valid,
      items: [...valid.items, { sku: 'TEA-001', quantity: 3 }],
    });
    const normalised = normaliseOrder(request);
    expect(normalised.lines).toEqual([
      { sku: 'TEA-001', quantity: 5 },
      { sku: 'CUP-002', quantity: 1 },
    ]);
    expect(normalised.customer.email).toBe('kim.minji@example.kr');
    expect(normalised.requestHash).toMatch(/^[0-9a-f]{64}$/);
    expect(normaliseOrder(request).requestHash).toBe(normalised.requestHash);
    const other = normaliseOrder(
      CreateOrderRequest.parse({ ...valid, items: [{ sku: 'TEA-001', quantity: 1 }] }),
    );
    expect(other.requestHash).not.toBe(normalised.requestHash);
  });
});
