import type { OrderPlacedV1Data } from '@shop/contracts';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { createTransport } from 'nodemailer';
import { MimeSkeleton } from './mime-skeleton';
import { renderOrderEmail, type OrderEmail } from './order-email';

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

  it('says nothing of a reservation for an order placed without a pay-by time', () => {
    expect(email.text).not.toMatch(/reserved|pay by/i);
    expect(email.html).not.toMatch(/reserved|pay by/i);
  });
});

describe('renderOrderEmail for a reservation (order.placed.v1 with payBy)', () => {
  // An offset and seconds: shown in UTC, cut to the minute, never later than the real deadline.
  const reserved = renderOrderEmail({ ...order, payBy: '2026-11-23T11:30:59.999+01:00' }, 'shop.local');

  it('says in the subject that the order is reserved until it is paid', () => {
    expect(reserved.subject).toBe('Your order 7D0F6A3B is reserved: please pay by 2026-11-23 10:30 UTC');
    expect(reserved.messageId).toBe('<order-7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b@shop.local>');
  });

  it('says the items are held and must be paid by the pay-by time, in both bodies', () => {
    const sentence =
      'Your items are reserved until 2026-11-23 10:30 UTC. Please pay by then: an unpaid reservation expires and its items go back on sale.';
    expect(reserved.text).toContain(`Total: €29.80\n\n${sentence}\nNothing is charged until you pay.\n`);
    expect(reserved.html).toContain(sentence);
    // Everything else is the confirmation it was.
    expect(reserved.text).toContain('2 × 龙井茶 (TEA-001) at €12.50 = €25.00');
    expect(reserved.text).toContain('thank you for your order 7D0F6A3B, placed 2026-11-23 10:15 UTC.');
  });
});

describe('the order email on the wire (MimeSkeleton, parsed back with mailparser)', () => {
  const skeleton = new MimeSkeleton('orders@shop.local');
  const wire = (input: OrderPlacedV1Data) => {
    const email = renderOrderEmail(input, 'shop.local');
    const message = skeleton.build(email);
    if (!message) throw new Error('the skeleton refused the email');
    return { email, message, parsed: simpleParser(message.raw) };
  };
  /** What nodemailer's own composition (the Mailer before the skeleton) makes of the same email. */
  const composer = createTransport({ streamTransport: true, buffer: true });
  const composedByNodemailer = async (email: OrderEmail) =>
    simpleParser(
      (await composer.sendMail({ from: 'orders@shop.local', ...email, messageId: email.messageId })).message,
    );
  const visible = (mail: ParsedMail) => ({
    subject: mail.subject,
    from: (mail.from as AddressObject).value,
    to: (mail.to as AddressObject).value,
    messageId: mail.messageId,
    text: mail.text,
    html: mail.html,
  });

  it('carries the Korean name, subject, Message-ID and both bodies exactly', async () => {
    const { email, message, parsed } = wire(order);
    const mail = await parsed;
    expect(mail.subject).toBe('Your order 7D0F6A3B is confirmed');
    expect((mail.from as AddressObject).value).toEqual([{ address: 'orders@shop.local', name: '' }]);
    expect((mail.to as AddressObject).value).toEqual([{ address: 'kim@example.kr', name: '김민지 <Kim>' }]);
    expect(mail.messageId).toBe('<order-7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b@shop.local>');
    expect(mail.text).toBe(email.text);
    expect(mail.text).toContain('Hello 김민지 <Kim>,');
    expect(mail.text).toContain('1 × 한국 김 & snacks (GIM-002) at €4.80 = €4.80');
    expect(mail.html).toBe(email.html);
    expect(mail.html).toContain('Hello 김민지 &lt;Kim&gt;,');
    expect(mail.date?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(message.envelope).toEqual({ from: 'orders@shop.local', to: ['kim@example.kr'] });
  });

  it('carries a Chinese name in the To header and the bodies', async () => {
    const { email, parsed } = wire({
      ...order,
      customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
    });
    const mail = await parsed;
    expect((mail.to as AddressObject).value).toEqual([
      { address: 'wang.xiaoming@example.cn', name: '王小明' },
    ]);
    expect(mail.text).toBe(email.text);
    expect(mail.text).toContain('Hello 王小明,');
    expect(mail.text).toContain('2 × 龙井茶 (TEA-001) at €12.50 = €25.00');
    expect(mail.html).toBe(email.html);
    expect(mail.html).toContain('<p>Hello 王小明,</p>');
  });

  it('is valid 7-bit MIME: CRLF only, short lines, multipart/alternative of quoted-printable parts', async () => {
    const { message } = wire({ ...order, customer: { email: 'kim@example.kr', name: '김민지'.repeat(60) } });
    const raw = message.raw.toString('latin1');
    expect(raw).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const [head, ...body] = raw.split('\r\n\r\n');
    for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of body.join('\r\n\r\n').split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(
      head
        .split('\r\n')
        .filter((line) => !line.startsWith(' '))
        .map((line) => line.split(':')[0]),
    ).toEqual(['From', 'To', 'Subject', 'Message-ID', 'Date', 'MIME-Version', 'Content-Type']);
    const mail = await simpleParser(message.raw);
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect((mail.to as AddressObject).value[0].name).toBe('김민지'.repeat(60));
    expect(raw.match(/Content-Transfer-Encoding: quoted-printable/g)).toHaveLength(2);
  });

  it.each([
    ['a plain ASCII name', 'Jane Doe'],
    ['quotes, a comma and a backslash', 'O\'Brien, "Pat" \\ Jr.'],
    ['leading and trailing spaces', '  Kim  '],
    ['a tab', 'Kim\tMinji'],
    ['line breaks', 'Kim\r\nBcc: someone@example.com\nX'],
    ['emoji', '😀 민지 🍵'.repeat(12)],
    ['200 Chinese characters', '王'.repeat(200)],
    ['200 ASCII characters', 'x'.repeat(200)],
    ['an Irish name', 'Aoife Ní Bhriain'],
  ])('reads like nodemailer composed it, for a customer with %s', async (_case, name) => {
    const input: OrderPlacedV1Data = {
      ...order,
      customer: { email: 'kim@example.kr', name },
      items: [
        ...order.items,
        {
          sku: 'DOT-1',
          name: `${name} = 100%  \n.\nFrom the shop, a ${'long '.repeat(30)}item  `,
          quantity: 3,
          unitPriceCents: 99,
        },
      ],
    };
    const { email, parsed } = wire(input);
    expect(visible(await parsed)).toEqual(visible(await composedByNodemailer(email)));
  });

  it('shows a name that looks like an encoded-word as typed', async () => {
    const { parsed } = wire({ ...order, customer: { email: 'kim@example.kr', name: '=?UTF-8?B?SGk=?=' } });
    expect(((await parsed).to as AddressObject).value[0].name).toBe('=?UTF-8?B?SGk=?=');
  });

  it('leaves addresses it does not take to nodemailer', () => {
    const email = renderOrderEmail(
      { ...order, customer: { email: 'kim@exämple.kr', name: 'Kim' } },
      'shop.local',
    );
    expect(skeleton.build(email)).toBeUndefined();
    expect(
      new MimeSkeleton('Orders <orders@exämple.local>').build(renderOrderEmail(order, 'shop.local')),
    ).toBeUndefined();
  });

  it('leaves a From with a display name to nodemailer, which parses it (MAIL_FROM is an address)', () => {
    expect(
      new MimeSkeleton('Rabbit Shop <orders@shop.local>').build(renderOrderEmail(order, 'shop.local')),
    ).toBeUndefined();
  });
});
