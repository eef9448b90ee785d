/**
 * A local stand-in for Mailpit: an SMTP server that keeps the newest MAIL_CATCHER_MAX_MESSAGES messages
 * in memory, a web page listing them, and the Mailpit-shaped JSON API (@shop/mail-sink), so tools that
 * count emails work against either. `npm start` runs it when SMTP_URL is unset; `npm run mail:catcher`
 * runs it alone.
 */
import { createServer, type Server } from 'node:http';
import { createMailpitApiHandler, SmtpSink } from '@shop/mail-sink';
import { loadMailCatcherConfig } from './local.config';
import { MAIL_CATCHER_PAGE } from './mail-catcher.page';

export const MAIL_CATCHER_PORTS = { smtp: 1025, http: 8025 } as const;

export interface MailCatcherOptions {
  smtpPort: number;
  httpPort: number;
  /** Interface for both ports (default 127.0.0.1: nothing outside this machine can read the mail). */
  host?: string;
  /** Messages kept in memory, oldest dropped first (MAIL_CATCHER_MAX_MESSAGES), reported at /api/v1/info. */
  maxMessages: number;
}

export interface MailCatcher {
  sink: SmtpSink;
  smtpUrl: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** A port of the catcher is taken; the message says which and what to do. */
export class MailCatcherPortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly role: 'SMTP' | 'web UI',
  ) {
    super(
      `port ${port} (mail catcher ${role}) is already in use, probably by Mailpit, MailHog or another \`npm start\`. ` +
        `Stop that process, or keep it and send mail there with SMTP_URL=smtp://127.0.0.1:${MAIL_CATCHER_PORTS.smtp}.`,
    );
    this.name = 'MailCatcherPortInUseError';
  }
}

export async function startMailCatcher(options: MailCatcherOptions): Promise<MailCatcher> {
  const host = options.host ?? '127.0.0.1';
  // Like Mailpit in compose (MP_IGNORE_DUPLICATE_IDS): one copy per Message-ID, re-sends counted.
  const sink = new SmtpSink({
    host,
    maxMessages: options.maxMessages,
    ignoreDuplicateMessageIds: true,
  });
  try {
    await sink.start(options.smtpPort);
  } catch (error) {
    throw portError(error, options.smtpPort, 'SMTP');
  }

  const api = createMailpitApiHandler(sink);
  const server = createServer((request, response) => {
    if (api(request, response)) return;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if ((request.method === 'GET' || request.method === 'HEAD') && (path === '/' || path === '/index.html')) {
      const page = Buffer.from(MAIL_CATCHER_PAGE, 'utf8');
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': page.length,
        'cache-control': 'no-store',
        // The page's own inline script and style only; message HTML renders in a sandboxed frame.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self' about:; img-src * data:",
      });
      response.end(page);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
  });
  try {
    await listen(server, options.httpPort, host);
  } catch (error) {
    await sink.stop();
    throw portError(error, options.httpPort, 'web UI');
  }

  return {
    sink,
    smtpUrl: `smtp://${host}:${sink.port}`,
    uiUrl: `http://localhost:${(server.address() as { port: number }).port}`,
    async stop() {
      server.closeAllConnections();
      await Promise.all([new Promise((resolve) => server.close(resolve)), sink.stop()]);
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function portError(error: unknown, port: number, role: 'SMTP' | 'web UI'): Error {
  return (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    ? new MailCatcherPortInUseError(port, role)
    : (error as Error);
}

async function main(): Promise<void> {
  const config = loadMailCatcherConfig();
  const catcher = await startMailCatcher({
    smtpPort: MAIL_CATCHER_PORTS.smtp,
    httpPort: MAIL_CATCHER_PORTS.http,
    maxMessages: config.MAIL_CATCHER_MAX_MESSAGES,
  });
  console.log(
    `[mail-catcher] SMTP on ${catcher.smtpUrl}, web UI and API on ${catcher.uiUrl}, keeps the newest ` +
      `${config.MAIL_CATCHER_MAX_MESSAGES.toLocaleString('en-US')} messages (Ctrl-C stops it)`,
  );
  const stop = () => {
    void catcher.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`[mail-catcher] ${error.message}`);
    process.exit(1);
  });
}
