import {
  brokerVariables,
  emailVariable,
  httpServerVariables,
  loadConfig,
  LOCAL_DEFAULTS,
  ownDatabaseVariables,
  positiveIntVariable,
  retentionDaysVariable,
  smtpUrlVariable,
} from '@shop/config';

export const notifyWorkerConfigShape = {
  ...httpServerVariables('notify-worker'),
  ...ownDatabaseVariables('notify-worker'),
  ...brokerVariables(),
  /** Where mail goes; `npm start` points it at its local mail catcher when unset. */
  SMTP_URL: smtpUrlVariable().default('smtp://127.0.0.1:1025'),
  MAIL_FROM: emailVariable(LOCAL_DEFAULTS.mailFrom),
  /** Unacked messages this worker holds at once (chosen by measurement: docs/measured.md). */
  PREFETCH: positiveIntVariable(10, 1_000),
  /** Open SMTP connections in nodemailer's pool. */
  SMTP_POOL_SIZE: positiveIntVariable(5, 100),
  /** Notification rows and parked notify messages older than this many days are removed daily. */
  RETENTION_DAYS: retentionDaysVariable(),
};

export type NotifyWorkerConfig = ReturnType<typeof loadNotifyWorkerConfig>;

export function loadNotifyWorkerConfig(env?: Record<string, string | undefined>) {
  return loadConfig(notifyWorkerConfigShape, env);
}
