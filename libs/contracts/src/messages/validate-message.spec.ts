import { OrderPlacedV1 } from './order-placed/order-placed.v1';
import { validateMessage } from './validate-message';

const validOrderPlaced = {
  messageId: '0b6c3c1e-4a8e-4f55-9a71-3b8f5c1d2e4f',
  type: 'order.placed.v1',
  version: 1,
  occurredAt: '2026-11-23T10:00:00.000Z',
  correlationId: 'req-1',
  data: {
    orderId: '7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    placedAt: '2026-11-23T10:00:00.000+00:00',
    customer: { email: 'wang@example.cn', name: '王小明' },
    items: [{ sku: 'TEA-001', name: '龙井茶', quantity: 2, unitPriceCents: 1250 }],
    totalCents: 2500,
    currency: 'EUR',
  },
};

describe('validateMessage', () => {
  it('accepts a valid message from a Buffer', () => {
    const result = validateMessage(OrderPlacedV1, Buffer.from(JSON.stringify(validOrderPlaced)));
    expect(result).toEqual({ ok: true, message: validOrderPlaced });
  });

  it('explains invalid JSON', () => {
    const result = validateMessage(OrderPlacedV1, Buffer.from('{not json'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^body is not valid JSON/);
  });

  it('names the offending fields', () => {
    const broken = {
      ...validOrderPlaced,
      data: { ...validOrderPlaced.data, items: [{ sku: 'X', quantity: 0 }] },
    };
    const result = validateMessage(OrderPlacedV1, broken);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/data\.items\.0\.name/);
    expect(!result.ok && result.reason).toMatch(/data\.items\.0\.quantity/);
  });

  it('rejects another message type', () => {
    const result = validateMessage(OrderPlacedV1, { ...validOrderPlaced, type: 'order.cancelled.v1' });
    expect(!result.ok && result.reason).toMatch(/type/);
  });
});
