import {
  formatMoney,
  MessageTypes,
  orderNumberOf,
  type OrderLifecycleEventV1,
  type OrderLifecycleV1Data,
} from '@shop/contracts';
import { escapeHtml, utcMinuteOf } from './email-format';
import type { OrderEmail } from './order-email';

/** Which lifecycle email: one of each per order at most (order_lifecycle_emails.kind). */
export type LifecycleEmailKind = 'paid' | 'expired' | 'cancelled' | 'refunded';

export const LIFECYCLE_EMAIL_KIND_OF: Readonly<Record<OrderLifecycleEventV1['type'], LifecycleEmailKind>> = {
  [MessageTypes.orderPaidV1]: 'paid',
  [MessageTypes.orderExpiredV1]: 'expired',
  [MessageTypes.orderCancelledV1]: 'cancelled',
  [MessageTypes.orderRefundedV1]: 'refunded',
};

type Refund = NonNullable<OrderLifecycleV1Data['refund']>;

const REFUND_REASON_SENTENCE: Readonly<Record<Refund['reason'], string>> = {
  'late-payment': 'Your payment arrived after the reservation had ended, so it was given back in full.',
  cancelled: 'The order was cancelled.',
  provider: 'The payment provider gave the payment back.',
};

interface Wording {
  subject: string;
  /** Sentences after the greeting, one paragraph each. */
  paragraphs: string[];
}

function wordingOf(kind: LifecycleEmailKind, order: OrderLifecycleV1Data): Wording {
  const number = orderNumberOf(order.orderId);
  const at = utcMinuteOf(order.at);
  const total = formatMoney(order.totalCents, order.currency);
  switch (kind) {
    case 'paid':
      return {
        subject: `Your order ${number} is paid`,
        paragraphs: [
          `we received your payment of ${total} for order ${number} on ${at}.`,
          'Your items are no longer just reserved: they are yours, and we are preparing them.',
        ],
      };
    case 'expired':
      return {
        subject: `Your order ${number}: reservation expired, nothing was charged`,
        paragraphs: [
          `the reservation of your order ${number} ended on ${at} before it was paid, so its items went back on sale.`,
          `Nothing was charged for it (${total}). You are welcome to order again.`,
        ],
      };
    case 'cancelled':
      return {
        subject: `Your order ${number} is cancelled`,
        // The event does not say whether the order had been paid: this sentence holds either way.
        paragraphs: [
          `your order ${number} (${total}) was cancelled on ${at}, and its items went back on sale.`,
          'If you had paid for it, the full amount goes back to your card; nothing more will be charged.',
        ],
      };
    case 'refunded': {
      const amount = formatMoney(order.refund?.amountCents ?? order.totalCents, order.currency);
      return {
        subject: `Your order ${number}: refund of ${amount}`,
        paragraphs: [
          `we refunded ${amount} for order ${number} to your card on ${at}.`,
          ...(order.refund ? [REFUND_REASON_SENTENCE[order.refund.reason]] : []),
          'It may take a few days to show on your statement.',
        ],
      };
    }
  }
}

/**
 * The email of one lifecycle transition: plain text and HTML with the same content. Its Message-ID is
 * one per order and kind, so a re-send after a crash is recognisably the same email.
 */
export function renderLifecycleEmail(
  kind: LifecycleEmailKind,
  order: OrderLifecycleV1Data,
  mailDomain: string,
): OrderEmail {
  const { subject, paragraphs } = wordingOf(kind, order);
  const text = [
    `Hello ${order.customer.name},`,
    '',
    ...paragraphs.flatMap((paragraph) => [paragraph, '']),
    `Order id: ${order.orderId}`,
    'Rabbit Shop',
  ].join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:sans-serif">
<p>Hello ${escapeHtml(order.customer.name)},</p>
${paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n')}
<p><small>Order id: ${order.orderId}</small></p>
<p>Rabbit Shop</p>
</body></html>`;
  return {
    to: { name: order.customer.name, address: order.customer.email },
    subject,
    text,
    html,
    messageId: `<order-${order.orderId}.${kind}@${mailDomain}>`,
  };
}
