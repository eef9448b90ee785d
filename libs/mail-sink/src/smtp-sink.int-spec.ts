import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';
import { createMailpitApiHandler, type MailpitMessage, type MailpitMessagesResponse } from './mailpit-api';
import { SmtpSink } from './smtp-sink';

describe('SmtpSink', () => {
  let sink: SmtpSink;
  let mailer: Transporter;

  beforeEach(async () => {
    sink = new SmtpSink();
    await sink.start();
    mailer = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false });
  });

  afterEach(async () => {
    mailer.close();
    await sink.stop();
  });

  it('stores a UTF-8 message parsed, before the sender gets its reply', async () => {
    const info = await mailer.sendMail({
      from: { name: '王芳', address: 'orders@shop.local' },
      to: [{ name: '김민준', address: 'minjun@example.kr' }],
      subject: '订单确认 주문 확인 #42',
      text: '您好 王芳，您的订单已收到：龙井茶 × 2。',
      html: '<p>您好 <b>王芳</b>：한국 김 × 1</p>',
    });

    expect(sink.messages).toHaveLength(1);
    const [mail] = sink.messages;
    expect(mail.messageId).toBe(info.messageId);
    expect(mail.from).toEqual({ name: '王芳', address: 'orders@shop.local' });
    expect(mail.to).toEqual([{ name: '김민준', address: 'minjun@example.kr' }]);
    expect(mail.subject).toBe('订单确认 주문 확인 #42');
    expect(mail.text.trim()).toBe('您好 王芳，您的订单已收到：龙井茶 × 2。');
    expect(mail.html).toContain('<b>王芳</b>：한국 김 × 1');
    expect(mail.envelope).toEqual({ from: 'orders@shop.local', to: ['minjun@example.kr'] });
    expect(mail.receivedAt).toBeInstanceOf(Date);
  });

  it('waits for a number of messages, and fails saying how many came', async () => {
    const arrived = sink.waitForMessages(2, 5_000);
    await mailer.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject: 'one', text: '1' });
    await mailer.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject: 'two', text: '2' });
    expect((await arrived).map((mail) => mail.subject)).toEqual(['one', 'two']);

    await expect(sink.waitForMessages(3, 200)).rejects.toThrow(/waiting for 3 email\(s\).*2 arrived.*"two"/);

    sink.clear();
    expect(sink.messages).toHaveLength(0);
    expect(sink.receivedCount).toBe(0);
  });

  it('keeps only the newest messages beyond its bound', async () => {
    const small = new SmtpSink({ maxMessages: 2 });
    await small.start();
    const smallMailer = nodemailer.createTransport({ host: '127.0.0.1', port: small.port });
    try {
      for (const subject of ['first', 'second', 'third']) {
        await smallMailer.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject, text: subject });
      }
      expect(small.messages.map((mail) => mail.subject)).toEqual(['second', 'third']);
      expect(small.receivedCount).toBe(3);
    } finally {
      smallMailer.close();
      await small.stop();
    }
  });

  it('keeps N+1 messages when configured for more than N, then drops exactly the oldest', async () => {
    // 5,000 was the catcher's old bound, too small for a 6,000-order sale: configured above it, all stay.
    const roomy = new SmtpSink({ maxMessages: 5_001, ignoreDuplicateMessageIds: true });
    await roomy.start();
    const sender = nodemailer.createTransport({
      host: '127.0.0.1',
      port: roomy.port,
      pool: true,
      maxConnections: 4,
    });
    const rawOf = (n: number) =>
      Buffer.from(
        `From: orders@shop.local\r\nTo: buyer-${n}@example.com\r\nSubject: order ${n}\r\n` +
          `Message-ID: <order-${n}@shop.local>\r\n\r\nthank you for order ${n}, 王芳 님\r\n`,
      );
    const send = (n: number) =>
      sender.sendMail({
        envelope: { from: 'orders@shop.local', to: [`buyer-${n}@example.com`] },
        raw: rawOf(n),
      });
    try {
      for (let first = 0; first < 5_001; first += 250) {
        await Promise.all(Array.from({ length: Math.min(250, 5_001 - first) }, (_, i) => send(first + i)));
      }
      expect(roomy.messages).toHaveLength(5_001);
      expect(new Set(roomy.messages.map((mail) => mail.messageId)).size).toBe(5_001);
      const oldest = roomy.messages[0];
      const n = Number(/order-(\d+)@/.exec(oldest.messageId!)![1]);
      // Kept deflated and handed back byte for byte; parsed again once many others were read since.
      expect(oldest.raw).toEqual(rawOf(n));
      expect(oldest.subject).toBe(`order ${n}`);
      for (const mail of roomy.messages.slice(-1_001)) await mail.load();
      expect(oldest.subject).toBe(`order ${n}`);
      expect(roomy.find(oldest.id)).toBe(oldest);

      await send(5_001);
      expect(roomy.messages).toHaveLength(5_001);
      expect(roomy.messages[0]).not.toBe(oldest);
      expect(roomy.messages.some((mail) => mail.messageId === oldest.messageId)).toBe(false);
      expect(roomy.find(oldest.id)).toBeUndefined();
      expect(roomy.messages[roomy.messages.length - 1].raw).toEqual(rawOf(5_001));
      expect(roomy.receivedCount).toBe(5_002);
      // A dropped Message-ID may come again: it is a new message to the mailbox.
      await send(n);
      expect(roomy.messages[roomy.messages.length - 1].messageId).toBe(oldest.messageId);
      expect(roomy.ignoredDuplicates).toBe(0);
    } finally {
      sender.close();
      await roomy.stop();
    }
  });

  it('hands back a message too big to deflate byte for byte', async () => {
    const noise = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919 + (i >> 8)) % 256));
    const body = noise.toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(
      'Subject: big\r\nContent-Type: application/octet-stream; name="noise.bin"\r\n' +
        `Content-Transfer-Encoding: base64\r\n\r\n${body}\r\n`,
    );
    await mailer.sendMail({ envelope: { from: 'a@shop.local', to: ['b@example.com'] }, raw });
    const [big] = sink.messages;
    expect(big.size).toBe(raw.length);
    expect(big.raw).toEqual(raw);
    expect(big.subject).toBe('big');
  });

  it('runs a fault hook after storing a message and before the 250 the sender waits for', async () => {
    const order: string[] = [];
    sink.setBehaviour({
      beforeAnswer: async (mail) => {
        order.push(`stored ${mail.subject}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    });
    await mailer.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject: 'hooked', text: 'x' });
    order.push('sender got 250');
    expect(order).toEqual(['stored hooked', 'sender got 250']);
  });

  it('drops a re-sent Message-ID when asked to, like Mailpit with MP_IGNORE_DUPLICATE_IDS', async () => {
    const mailbox = new SmtpSink({ ignoreDuplicateMessageIds: true });
    await mailbox.start();
    const sender = nodemailer.createTransport({ host: '127.0.0.1', port: mailbox.port });
    try {
      const send = (messageId: string, subject: string) =>
        sender.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject, text: subject, messageId });
      await send('<order-1@shop.local>', 'first copy');
      const again = await send('<order-1@shop.local>', 'second copy');
      await send('<order-2@shop.local>', 'other order');

      expect(again.response).toMatch(/^250/); // the sender is told it was delivered
      expect(mailbox.messages.map((mail) => mail.subject)).toEqual(['first copy', 'other order']);
      expect(mailbox.receivedCount).toBe(3);
      expect(mailbox.ignoredDuplicates).toBe(1);

      // Without the option every copy is kept: specs count what the sender really sent.
      for (const copy of ['one', 'two']) {
        await mailer.sendMail({
          from: 'a@shop.local',
          to: 'b@x.com',
          subject: copy,
          text: copy,
          messageId: '<m@x>',
        });
      }
      expect(sink.messages).toHaveLength(2);
      expect(sink.ignoredDuplicates).toBe(0);
    } finally {
      sender.close();
      await mailbox.stop();
    }
  });

  it('keeps the raw message and parses it on first read, once', async () => {
    await mailer.sendMail({
      from: 'a@shop.local',
      to: '"Émile" <emile@example.fr>',
      subject: 'lazy',
      text: 'body',
      attachments: [{ filename: 'note.txt', content: 'hello' }],
    });
    const [mail] = sink.messages;
    expect(mail.raw.toString('utf8')).toMatch(/^Subject: lazy$/m);
    expect(mail.size).toBe(mail.raw.length);
    expect(mail.to).toEqual([{ name: 'Émile', address: 'emile@example.fr' }]);
    expect(mail.to).toBe(mail.to); // parsed once, then kept
    expect(mail.attachments).toEqual([
      { filename: 'note.txt', contentType: 'text/plain', contentId: '', size: 5, inline: false },
    ]);
    expect(JSON.parse(JSON.stringify(mail))).toMatchObject({ subject: 'lazy', text: 'body' });

    await mailer.sendMail({ from: 'a@shop.local', to: 'b@example.com', subject: 'awaited', text: 'x' });
    const second = sink.messages[1];
    await second.load();
    expect(second.subject).toBe('awaited');
  });

  it('reads the Message-ID of the message itself, as mailparser does, for duplicates', async () => {
    const mailbox = new SmtpSink({ ignoreDuplicateMessageIds: true });
    await mailbox.start();
    const sender = nodemailer.createTransport({ host: '127.0.0.1', port: mailbox.port });
    const envelope = { from: 'a@shop.local', to: ['b@example.com'] };
    const forwarded = [
      'From: a@shop.local',
      'To: b@example.com',
      'Subject: forwarded',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: message/rfc822',
      '',
      'Message-ID: <inner@x>',
      'Subject: inner',
      '',
      'inner body',
      '--b--',
      '',
    ].join('\r\n');
    try {
      await sender.sendMail({ envelope, raw: 'Message-id:\r\n  plain@x\r\nSubject: folded\r\n\r\nbody\r\n' });
      await sender.sendMail({ envelope, raw: 'MESSAGE-ID: <plain@x>\r\nSubject: again\r\n\r\nbody\r\n' });
      await sender.sendMail({ envelope, raw: forwarded });
      await sender.sendMail({ envelope, raw: 'Subject: no id\n\nMessage-ID: <body@x>\n' });

      expect(mailbox.messages.map((mail) => [mail.messageId, mail.subject])).toEqual([
        ['<plain@x>', 'folded'],
        [undefined, 'forwarded'],
        [undefined, 'no id'],
      ]);
      expect(mailbox.ignoredDuplicates).toBe(1);
      for (const mail of mailbox.messages) {
        expect(mail.messageId).toBe((await simpleParser(mail.raw)).messageId);
      }
    } finally {
      sender.close();
      await mailbox.stop();
    }
  });

  it('refuses to start on a port that is taken', async () => {
    await expect(new SmtpSink().start(sink.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('createMailpitApiHandler', () => {
  let sink: SmtpSink;
  let mailer: Transporter;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    sink = new SmtpSink();
    await sink.start();
    mailer = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port });
    const handle = createMailpitApiHandler(sink);
    server = createServer((request, response) => {
      if (!handle(request, response)) response.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    mailer.close();
    await new Promise((resolve) => server.close(resolve));
    await sink.stop();
  });

  beforeEach(() => sink.clear());

  it('lists messages newest first in Mailpit’s shape, and serves one with Text and HTML', async () => {
    await mailer.sendMail({
      from: '"Shop" <orders@shop.local>',
      to: '"李娜" <li.na@example.cn>',
      subject: '订单 1',
      text: 'first',
    });
    await mailer.sendMail({
      from: '"Shop" <orders@shop.local>',
      to: '"박지민" <jimin@example.kr>',
      bcc: 'audit@shop.local',
      subject: '주문 2',
      text: 'second',
      html: '<p>second</p>',
    });

    const list = (await (await fetch(`${base}/api/v1/messages`)).json()) as MailpitMessagesResponse;
    expect(list).toMatchObject({ total: 2, count: 2, messages_count: 2, start: 0, unread: 2 });
    expect(list.messages.map((m) => m.Subject)).toEqual(['주문 2', '订单 1']);
    expect(list.messages[0]).toMatchObject({
      From: { Name: 'Shop', Address: 'orders@shop.local' },
      To: [{ Name: '박지민', Address: 'jimin@example.kr' }],
      Bcc: [{ Name: '', Address: 'audit@shop.local' }],
      Snippet: 'second',
    });
    expect(new Date(list.messages[0].Created).getTime()).not.toBeNaN();

    const paged = (await (
      await fetch(`${base}/api/v1/messages?limit=1&start=1`)
    ).json()) as MailpitMessagesResponse;
    expect(paged.messages.map((m) => m.Subject)).toEqual(['订单 1']);

    const one = (await (
      await fetch(`${base}/api/v1/message/${list.messages[0].ID}`)
    ).json()) as MailpitMessage;
    expect(one).toMatchObject({ Subject: '주문 2', HTML: '<p>second</p>', ReturnPath: 'orders@shop.local' });
    expect(one.Text.trim()).toBe('second');

    const found = (await (
      await fetch(`${base}/api/v1/search?query=${encodeURIComponent('to:li.na@example.cn')}`)
    ).json()) as MailpitMessagesResponse;
    expect(found).toMatchObject({ total: 2, messages_count: 1 });
    expect(found.messages[0].To[0].Name).toBe('李娜');

    expect((await fetch(`${base}/api/v1/message/no-such-id`)).status).toBe(404);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
  });

  it('reports stored messages and SMTP counters at /api/v1/info', async () => {
    for (const subject of ['a', 'b']) {
      await mailer.sendMail({ from: 'x@shop.local', to: 'y@example.com', subject, text: subject });
    }
    const info = (await (await fetch(`${base}/api/v1/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      Messages: 2,
      MaxMessages: 5_000,
      Unread: 2,
      RuntimeStats: { SMTPAccepted: 2, SMTPIgnored: 0, SMTPRejected: 0 },
    });
  });

  it('deletes all messages, or only the given IDs', async () => {
    for (const subject of ['a', 'b', 'c']) {
      await mailer.sendMail({ from: 'x@shop.local', to: 'y@example.com', subject, text: subject });
    }
    const keep = sink.messages[0].id;
    const doomed = sink.messages.slice(1).map((mail) => mail.id);
    const some = await fetch(`${base}/api/v1/messages`, {
      method: 'DELETE',
      body: JSON.stringify({ IDs: doomed }),
    });
    expect(some.status).toBe(200);
    expect(sink.messages.map((mail) => mail.id)).toEqual([keep]);

    expect((await fetch(`${base}/api/v1/messages`, { method: 'DELETE' })).status).toBe(200);
    const list = (await (await fetch(`${base}/api/v1/messages`)).json()) as MailpitMessagesResponse;
    expect(list).toMatchObject({ total: 0, messages: [] });
  });
});
