import { formatMoney, orderNumberOf, type OrderPlacedV1Data } from '@shop/contracts';

export interface OrderEmail {
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** Deterministic, so a resend after a crash is recognisably the same email. */
  messageId: string;
}

/** The order confirmation: plain text and HTML with the same content; names in any script. */
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

  const text = [
    `Hello ${order.customer.name},`,
    '',
    `thank you for your order ${number}, placed ${placed}.`,
    '',
    ...lines.map((l) => `  ${l.quantity} × ${l.name} (${l.sku}) at ${l.unitPrice} = ${l.lineTotal}`),
    '',
    `Total: ${total}`,
    '',
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
<p><small>Order id: ${order.orderId}</small></p>
<p>Rabbit Shop</p>
</body></html>`;

  return {
    to: { name: order.customer.name, address: order.customer.email },
    subject: `Your order ${number} is confirmed`,
    text,
    html,
    messageId: `<order-${order.orderId}@${mailDomain}>`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
