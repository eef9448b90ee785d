import { formatMoney, orderNumberOf, type OrderPlacedV1Data } from '@shop/contracts';
import { escapeHtml, utcMinuteOf } from './email-format';

export interface OrderEmail {
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** Deterministic, so a resend after a crash is recognisably the same email. */
  messageId: string;
}

/**
 * The order confirmation: plain text and HTML with the same content; names in any script. An order with
 * a `payBy` is a reservation: the email says the items are held until then and must be paid by then.
 */
export function renderOrderEmail(order: OrderPlacedV1Data, mailDomain: string): OrderEmail {
  const number = orderNumberOf(order.orderId);
  const money = (cents: number) => formatMoney(cents, order.currency);
  const lines = order.items.map((item) => ({
    ...item,
    unitPrice: money(item.unitPriceCents),
    lineTotal: money(item.unitPriceCents * item.quantity),
  }));
  const total = money(order.totalCents);
  const placed = `${order.placedAt.slice(0, 10)} ${order.placedAt.slice(11, 16)} UTC`;
  // A reservation (orders placed since they must be paid) says until when its items are held.
  const payBy = order.payBy === undefined ? undefined : utcMinuteOf(order.payBy);
  const reservation =
    payBy === undefined
      ? []
      : [
          `Your items are reserved until ${payBy}. Please pay by then: an unpaid reservation expires and its items go back on sale.`,
          'Nothing is charged until you pay.',
        ];

  const text = [
    `Hello ${order.customer.name},`,
    '',
    `thank you for your order ${number}, placed ${placed}.`,
    '',
    ...lines.map((l) => `  ${l.quantity} × ${l.name} (${l.sku}) at ${l.unitPrice} = ${l.lineTotal}`),
    '',
    `Total: ${total}`,
    '',
    ...(reservation.length > 0 ? [...reservation, ''] : []),
    `Order id: ${order.orderId}`,
    'Rabbit Shop',
  ].join('\n');

  const rows = lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.name)}<br><small>${escapeHtml(l.sku)}</small></td>` +
        `<td style="text-align:right">${l.quantity}</td><td style="text-align:right">${l.unitPrice}</td>` +
        `<td style="text-align:right">${l.lineTotal}</td></tr>`,
    )
    .join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Order ${number}</title></head>
<body style="font-family:sans-serif">
<p>Hello ${escapeHtml(order.customer.name)},</p>
<p>thank you for your order <strong>${number}</strong>, placed ${placed}.</p>
<table cellpadding="6" style="border-collapse:collapse">
<thead><tr><th align="left">Item</th><th align="right">Quantity</th><th align="right">Unit price</th><th align="right">Total</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th align="left" colspan="3">Total</th><th align="right">${total}</th></tr></tfoot>
</table>
${reservation.length > 0 ? `<p><strong>${reservation.join(' ')}</strong></p>\n` : ''}<p><small>Order id: ${order.orderId}</small></p>
<p>Rabbit Shop</p>
</body></html>`;

  return {
    to: { name: order.customer.name, address: order.customer.email },
    subject:
      payBy === undefined
        ? `Your order ${number} is confirmed`
        : `Your order ${number} is reserved: please pay by ${payBy}`,
    text,
    html,
    messageId: `<order-${order.orderId}@${mailDomain}>`,
  };
}
