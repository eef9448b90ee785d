import {
  allowedHostsVariable,
  booleanVariable,
  databaseUrlVariable,
  emailVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  hostVariable,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  retentionDaysVariable,
  SERVICE_PORTS,
  serviceDatabaseUrl,
  smtpUrlVariable,
} from '@shop/config';

export const notifyWorkerConfigShape = {
  PORT: portVariable(SERVICE_PORTS['notify-worker']),
  /** The interface to listen on: 127.0.0.1 under npm start, 0.0.0.0 inside a container. */
  HOST: hostVariable(),
  /** Host names requests may name (any port); others get 421 HOST_NOT_ALLOWED. */
  ALLOWED_HOSTS: allowedHostsVariable(),
  // Its own role: rights on its own schema only.
  DATABASE_URL: databaseUrlVariable(serviceDatabaseUrl(LOCAL_DEFAULTS.databaseUrl, 'notify-worker')),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
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
