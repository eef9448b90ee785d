import type { OrderLifecycleV1Data } from '@shop/contracts';
import { simpleParser } from 'mailparser';
import { MimeSkeleton } from './mime-skeleton';
import { renderLifecycleEmail, type LifecycleEmailKind } from './order-lifecycle-email';

const order: OrderLifecycleV1Data = {
  orderId: '7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  status: 'paid',
  at: '2026-12-07T06:12:30.000+01:00',
  customer: { email: 'kim@example.kr', name: '김민지 <Kim>' },
  totalCents: 2980,
  currency: 'EUR',
};

describe('renderLifecycleEmail', () => {
  it.each<[LifecycleEmailKind, Partial<OrderLifecycleV1Data>, string, string]>([
    [
      'paid',
      {},
      'Your order 7D0F6A3B is paid',
      'we received your payment of €29.80 for order 7D0F6A3B on 2026-12-07 05:12 UTC.',
    ],
    [
      'expired',
      { status: 'expired' },
      'Your order 7D0F6A3B: reservation expired, nothing was charged',
      'the reservation of your order 7D0F6A3B ended on 2026-12-07 05:12 UTC before it was paid',
    ],
    [
      'cancelled',
      { status: 'cancelled' },
      'Your order 7D0F6A3B is cancelled',
      'If you had paid for it, the full amount goes back to your card; nothing more will be charged.',
    ],
    [
      'refunded',
      { status: 'refunded', refund: { amountCents: 2980, reason: 'late-payment' } },
      'Your order 7D0F6A3B: refund of €29.80',
      'Your payment arrived after the reservation had ended, so it was given back in full.',
    ],
  ])('words the %s email for the customer', (kind, change, subject, sentence) => {
    const email = renderLifecycleEmail(kind, { ...order, ...change }, 'shop.local');
    expect(email.to).toEqual({ name: '김민지 <Kim>', address: 'kim@example.kr' });
    expect(email.subject).toBe(subject);
    expect(email.text).toContain('Hello 김민지 <Kim>,');
    expect(email.text).toContain(sentence);
    expect(email.text).toContain(`Order id: ${order.orderId}`);
    expect(email.html).toContain('Hello 김민지 &lt;Kim&gt;,');
    expect(email.html).not.toContain('<Kim>');
    expect(email.messageId).toBe(`<order-${order.orderId}.${kind}@shop.local>`);
  });

  it('gives each kind of one order its own Message-ID, the same every time', () => {
    const kinds: LifecycleEmailKind[] = ['paid', 'expired', 'cancelled', 'refunded'];
    const ids = kinds.map((kind) => renderLifecycleEmail(kind, order, 'shop.local').messageId);
    expect(new Set(ids).size).toBe(4);
    expect(
      renderLifecycleEmail('paid', { ...order, at: '2026-12-08T00:00:00Z' }, 'shop.local').messageId,
    ).toBe(ids[0]);
  });

  it('refunds the amount the event names, or the total when it names none', () => {
    const partial = renderLifecycleEmail(
      'refunded',
      { ...order, refund: { amountCents: 480, reason: 'provider' } },
      'shop.local',
    );
    expect(partial.subject).toBe('Your order 7D0F6A3B: refund of €4.80');
    expect(partial.text).toContain(
      'we refunded €4.80 for order 7D0F6A3B to your card on 2026-12-07 05:12 UTC.',
    );
    expect(partial.text).toContain('The payment provider gave the payment back.');
    expect(renderLifecycleEmail('refunded', order, 'shop.local').subject).toBe(
      'Your order 7D0F6A3B: refund of €29.80',
    );
  });

  it('goes on the wire as the MIME the Mailer sends, with its subject and Message-ID', async () => {
    const email = renderLifecycleEmail('expired', order, 'shop.local');
    const message = new MimeSkeleton('orders@shop.local').build(email);
    const mail = await simpleParser(message!.raw);
    expect(mail.subject).toBe(email.subject);
    expect(mail.messageId).toBe(email.messageId);
    expect(mail.text).toBe(email.text);
    expect(mail.html).toBe(email.html);
  });
});
