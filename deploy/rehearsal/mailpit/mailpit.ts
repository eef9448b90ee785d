/**
 * The program of the mailpit look-alike (deploy/rehearsal/mailpit/Dockerfile): `npm start`'s mail catcher
 * on every interface, SMTP on 1025 and its page with Mailpit's API on 8025, with the Mailpit settings it
 * can honour. look-alikes.ts bundles it with esbuild into the image.
 */
import { booleanVariable, loadConfig } from '@shop/config';
import { z } from 'zod';
import { loadMailCatcherConfig } from '../../local/local.config';
import { MAIL_CATCHER_PORTS, startMailCatcher } from '../../local/mail-catcher';

const mailpitShape = {
  /** Mailpit's default is 500; its 0 (no limit) becomes the catcher's default, since it keeps messages in memory. */
  MP_MAX_MESSAGES: z.coerce.number({ message: 'must be a number' }).int().min(0).default(500),
  MP_IGNORE_DUPLICATE_IDS: booleanVariable(false),
};

async function main(): Promise<void> {
  const mailpit = loadConfig(mailpitShape);
  if (!mailpit.MP_IGNORE_DUPLICATE_IDS) {
    throw new Error(
      'MP_IGNORE_DUPLICATE_IDS must be true: this look-alike always keeps one copy per Message-ID, as npm start’s mail catcher does',
    );
  }
  const { MAIL_CATCHER_MAX_MESSAGES } = loadMailCatcherConfig(
    mailpit.MP_MAX_MESSAGES === 0 ? {} : { MAIL_CATCHER_MAX_MESSAGES: String(mailpit.MP_MAX_MESSAGES) },
  );
  const catcher = await startMailCatcher({
    smtpPort: MAIL_CATCHER_PORTS.smtp,
    httpPort: MAIL_CATCHER_PORTS.http,
    host: '0.0.0.0',
    maxMessages: MAIL_CATCHER_MAX_MESSAGES,
  });
  console.warn(
    `[mailpit look-alike] SMTP on :${MAIL_CATCHER_PORTS.smtp}, web UI and API on :${MAIL_CATCHER_PORTS.http}, ` +
      `keeps the newest ${MAIL_CATCHER_MAX_MESSAGES} messages, one per Message-ID`,
  );
  const stop = () => void catcher.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: Error) => {
  console.error(`[mailpit look-alike] ${error.message}`);
  process.exit(1);
});
