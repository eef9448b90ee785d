/**
 * A local stand-in for Mailpit: an SMTP server that keeps the newest MAIL_CATCHER_MAX_MESSAGES messages
 * in memory, a web page listing them, and the Mailpit-shaped JSON API (@shop/mail-sink), so tools that
 * count emails work against either. `npm start` runs it when SMTP_URL is unset; `npm run mail:catcher`
 * runs it alone.
 */
import { MailSinkPortInUseError, type MailpitSink, startMailpitSink } from '@shop/mail-sink';
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

export interface MailCatcher extends MailpitSink {
  /** The web page (and the API under /api/v1), as a browser on this machine opens it. */
  uiUrl: string;
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

/** The shared mail sink on the catcher's ports, with its page, behaving as a mailbox. */
export async function startMailCatcher(options: MailCatcherOptions): Promise<MailCatcher> {
  const sink = await startMailpitSink({
    host: options.host,
    smtpPort: options.smtpPort,
    httpPort: options.httpPort,
    maxMessages: options.maxMessages,
    // Like Mailpit in compose (MP_IGNORE_DUPLICATE_IDS): one copy per Message-ID, re-sends counted.
    ignoreDuplicateMessageIds: true,
    page: MAIL_CATCHER_PAGE,
  }).catch((error: Error) => {
    if (!(error instanceof MailSinkPortInUseError)) throw error;
    throw new MailCatcherPortInUseError(error.port, error.role === 'SMTP' ? 'SMTP' : 'web UI');
  });
  return { ...sink, uiUrl: `http://localhost:${new URL(sink.apiUrl).port}` };
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
