import { createServer, type Server } from 'node:net';
import nodemailer from 'nodemailer';
import {
  MailSinkPortInUseError,
  startMailpitSink,
  startMailpitSinkProcess,
  type MailpitSink,
  type MailpitSinkProcess,
} from './mailpit-sink';

const send = (smtpUrl: string, subject: string, messageId?: string) =>
  nodemailer.createTransport({ url: smtpUrl }).sendMail({
    from: 'shop@example.com',
    to: 'buyer@example.com',
    subject,
    text: 'hello',
    ...(messageId ? { messageId } : {}),
  });

const info = async (apiUrl: string) =>
  (await (await fetch(`${apiUrl}/api/v1/info`)).json()) as {
    Messages: number;
    MaxMessages: number;
    RuntimeStats: { SMTPIgnored: number };
  };

describe('startMailpitSink', () => {
  let sink: MailpitSink | undefined;
  let holder: Server | undefined;

  afterEach(async () => {
    await sink?.stop();
    sink = undefined;
    await new Promise((resolve) => (holder ? holder.close(resolve) : resolve(undefined)));
    holder = undefined;
  });

  it('serves its page at / beside the Mailpit API, and nothing else', async () => {
    sink = await startMailpitSink({ page: '<!doctype html><title>mail</title>' });
    await send(sink.smtpUrl, 'first');

    const page = await fetch(`${sink.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toBe('<!doctype html><title>mail</title>');
    expect((await info(sink.apiUrl)).Messages).toBe(1);
    expect((await fetch(`${sink.apiUrl}/elsewhere`)).status).toBe(404);
  });

  it('has no page unless given one', async () => {
    sink = await startMailpitSink();
    expect((await fetch(`${sink.apiUrl}/`)).status).toBe(404);
    expect((await fetch(`${sink.apiUrl}/readyz`)).status).toBe(200);
  });

  it('names the taken port, and leaves the other one free', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder!.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as { port: number }).port;
    const free = await freePort();

    const refused = await startMailpitSink({ smtpPort: free, httpPort: taken }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(MailSinkPortInUseError);
    expect(refused).toMatchObject({ port: taken, role: 'HTTP' });
    await expect(startMailpitSink({ smtpPort: taken })).rejects.toMatchObject({ port: taken, role: 'SMTP' });
    // The SMTP port the refused sink had opened is closed again.
    sink = await startMailpitSink({ smtpPort: free });
    expect(sink.smtp.port).toBe(free);
  });
});

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    }),
  );
}

describe('startMailpitSinkProcess', () => {
  let child: MailpitSinkProcess | undefined;

  afterEach(async () => {
    await child?.stop();
    child = undefined;
  });

  it('runs the same sink in a process of its own, with the options given, until stopped', async () => {
    child = await startMailpitSinkProcess({ maxMessages: Infinity, ignoreDuplicateMessageIds: true });
    expect(child.pid).not.toBe(process.pid);
    expect(() => process.kill(child!.pid, 0)).not.toThrow();

    await send(child.smtpUrl, 'once', '<same@example.com>');
    await send(child.smtpUrl, 'again', '<same@example.com>');
    // No bound (Infinity crossed the process boundary), one copy per Message-ID.
    expect(await info(child.apiUrl)).toMatchObject({
      Messages: 1,
      MaxMessages: 0,
      RuntimeStats: { SMTPIgnored: 1 },
    });

    const { pid } = child;
    await child.stop();
    child = undefined;
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});
