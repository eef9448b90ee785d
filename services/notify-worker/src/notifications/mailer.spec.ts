import { SmtpSink } from '@shop/testing';
import { Mailer } from './mailer';
import type { OrderEmail } from './order-email';

const email: OrderEmail = {
  to: { name: '王小明', address: 'wang.xiaoming@example.cn' },
  subject: 'Your order 7D0F6A3B is confirmed',
  text: 'Hello 王小明,\n\n.\n2 × 龙井茶 at €12.50',
  html: '<p>Hello 王小明,</p>\n.\n<p>한국 김</p>',
  messageId: '<order-7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b@shop.local>',
};

describe('Mailer (nodemailer pool to an in-process SMTP sink)', () => {
  const sink = new SmtpSink();
  let mailer: Mailer;

  beforeAll(async () => {
    await sink.start();
    mailer = new Mailer({ smtpUrl: sink.url, from: 'orders@shop.local', maxConnections: 2 });
  });
  afterAll(async () => {
    mailer.onApplicationShutdown();
    await sink.stop();
  });
  beforeEach(() => sink.clear());

  it.each([
    ['from the prepared skeleton', (m: Mailer) => m.send(email)],
    ['composed by nodemailer', (m: Mailer) => m.sendComposed(email)],
  ])('delivers the same email %s', async (_how, send) => {
    const result = await send(mailer);
    expect(result.messageId).toBe(email.messageId);
    expect(result.response).toMatch(/^250/);
    const [mail] = sink.messages;
    expect(mail.envelope).toEqual({ from: 'orders@shop.local', to: ['wang.xiaoming@example.cn'] });
    expect(mail.from).toEqual({ address: 'orders@shop.local', name: '' });
    expect(mail.to).toEqual([{ address: 'wang.xiaoming@example.cn', name: '王小明' }]);
    expect(mail.subject).toBe(email.subject);
    expect(mail.messageId).toBe(email.messageId);
    // A line holding only a dot survives SMTP's dot-stuffing.
    expect(mail.text).toBe(email.text);
    expect(mail.html).toBe(email.html);
  });

  it('sends from a From with a display name through nodemailer', async () => {
    const named = new Mailer({
      smtpUrl: sink.url,
      from: 'Rabbit Shop <orders@shop.local>',
      maxConnections: 1,
    });
    try {
      const result = await named.send(email);
      expect(result.response).toMatch(/^250/);
    } finally {
      named.onApplicationShutdown();
    }
    expect(sink.messages[0].envelope.from).toBe('orders@shop.local');
    expect(sink.messages[0].from).toEqual({ address: 'orders@shop.local', name: 'Rabbit Shop' });
    expect(sink.messages[0].text).toBe(email.text);
  });

  it('sends an address the skeleton does not take through nodemailer', async () => {
    const result = await mailer.send({ ...email, to: { name: 'Kim', address: 'kim@exämple.kr' } });
    expect(result.response).toMatch(/^250/);
    expect(sink.messages[0].envelope.to).toEqual(['kim@exämple.kr']);
    expect(sink.messages[0].to).toEqual([{ address: 'kim@exämple.kr', name: 'Kim' }]);
  });
});
