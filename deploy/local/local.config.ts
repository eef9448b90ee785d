import {
  databaseUrlVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  rabbitmqUrlVariable,
  smtpUrlVariable,
} from '@shop/config';

/** What `npm start` reads itself; every service still reads and validates its own variables. */
export const localConfigShape = {
  DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Unset: `npm start` runs its mail catcher and points the notify-worker at it. */
  SMTP_URL: smtpUrlVariable().optional(),
  REPORTS_DIR: directoryVariable(LOCAL_DEFAULTS.reportsDir),
  LOG_DIR: directoryVariable(LOCAL_DEFAULTS.logDir),
};

export type LocalConfig = ReturnType<typeof loadLocalConfig>;

export function loadLocalConfig(env?: Record<string, string | undefined>) {
  return loadConfig(localConfigShape, env);
}
