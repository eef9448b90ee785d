import type { OrderPlacedV1Data } from '@shop/contracts';
import { renderOrderEmail } from './order-email';

const order: OrderPlacedV1Data = {
  orderId: '7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  placedAt: '2026-11-23T10:15:00.000Z',
  customer: { email: 'kim@example.kr', name: '김민지 <Kim>' },
  items: [
    { sku: 'TEA-001', name: '龙井茶', quantity: 2, unitPriceCents: 1250 },
    { sku: 'GIM-002', name: '한국 김 & snacks', quantity: 1, unitPriceCents: 480 },
  ],
  totalCents: 2980,
  currency: 'EUR',
};

describe('renderOrderEmail', () => {
  const email = renderOrderEmail(order, 'shop.local');

  it('addresses the customer with the order number in the subject', () => {
    expect(email.to).toEqual({ name: '김민지 <Kim>', address: 'kim@example.kr' });
    expect(email.subject).toBe('Your order 7D0F6A3B is confirmed');
    expect(email.messageId).toBe('<order-7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b@shop.local>');
  });

  it('lists items, quantities, unit prices and the total in plain text', () => {
    expect(email.text).toContain('Hello 김민지 <Kim>,');
    expect(email.text).toContain('2 × 龙井茶 (TEA-001) at €12.50 = €25.00');
    expect(email.text).toContain('1 × 한국 김 & snacks (GIM-002) at €4.80 = €4.80');
    expect(email.text).toContain('Total: €29.80');
  });

  it('escapes names in the HTML body', () => {
    expect(email.html).toContain('Hello 김민지 &lt;Kim&gt;,');
    expect(email.html).toContain('한국 김 &amp; snacks');
    expect(email.html).toContain('€29.80');
    expect(email.html).not.toContain('<Kim>');
  });
});
