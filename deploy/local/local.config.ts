import {
  databaseUrlVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  positiveIntVariable,
  rabbitmqUrlVariable,
  smtpUrlVariable,
} from '@shop/config';
import { FLASH_SALE_MOST_EMAILS } from '@shop/contracts';

/** What the mail catcher reads (`npm start` runs it, `npm run mail:catcher` runs it alone). */
export const mailCatcherConfigShape = {
  /**
   * Messages the catcher keeps before it drops the oldest. By default as many emails as the biggest
   * flash sale the load test allows can send, so that its check finds every one; at most 5,000,000,
   * beyond what Node's default heap holds (the cost per message: README, "Measured").
   */
  MAIL_CATCHER_MAX_MESSAGES: positiveIntVariable(FLASH_SALE_MOST_EMAILS, 5_000_000),
};

export function loadMailCatcherConfig(env?: Record<string, string | undefined>) {
  return loadConfig(mailCatcherConfigShape, env);
}

/** What `npm start` reads itself; every service still reads and validates its own variables. */
export const localConfigShape = {
  DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Unset: `npm start` runs its mail catcher and points the notify-worker at it. */
  SMTP_URL: smtpUrlVariable().optional(),
  REPORTS_DIR: directoryVariable(LOCAL_DEFAULTS.reportsDir),
  LOG_DIR: directoryVariable(LOCAL_DEFAULTS.logDir),
  ...mailCatcherConfigShape,
};

export type LocalConfig = ReturnType<typeof loadLocalConfig>;

export function loadLocalConfig(env?: Record<string, string | undefined>) {
  return loadConfig(localConfigShape, env);
}
