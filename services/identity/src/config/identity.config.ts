import {
  allowedHostsVariable,
  booleanVariable,
  databaseUrlVariable,
  hostVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  retentionDaysVariable,
  secretVariable,
  SERVICE_PORTS,
  serviceDatabaseUrl,
} from '@shop/config';

export const identityConfigShape = {
  PORT: portVariable(SERVICE_PORTS.identity),
  /** The interface to listen on: 127.0.0.1 under npm start, 0.0.0.0 inside a container. */
  HOST: hostVariable(),
  /** Host names requests may name (any port); others get 421 HOST_NOT_ALLOWED. */
  ALLOWED_HOSTS: allowedHostsVariable(),
  // Its own role: rights on its own schema only.
  DATABASE_URL: databaseUrlVariable(serviceDatabaseUrl(LOCAL_DEFAULTS.databaseUrl, 'identity')),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  /** The operators' token: POST /ops/customers/tokens mints customer tokens in bulk with it. */
  OPS_TOKEN: secretVariable(),
  /** How long a customer token is valid (default 24 h). */
  CUSTOMER_TOKEN_TTL_SECONDS: positiveIntVariable(86_400, 30 * 86_400),
  /** POST /customers/sign-in requests one client (IP address) may make per CLIENT_RATE_WINDOW_SECONDS. */
  SIGN_IN_PER_CLIENT_LIMIT: positiveIntVariable(20, 1_000_000),
  /** POST /customers/token requests one client (IP address) may make per CLIENT_RATE_WINDOW_SECONDS. */
  TOKEN_PER_CLIENT_LIMIT: positiveIntVariable(30, 1_000_000),
  CLIENT_RATE_WINDOW_SECONDS: positiveIntVariable(60, 86_400),
  /** Sign-in codes one email may be sent per SIGN_IN_PER_EMAIL_WINDOW_SECONDS (counted in the database). */
  SIGN_IN_PER_EMAIL_LIMIT: positiveIntVariable(3, 1_000),
  SIGN_IN_PER_EMAIL_WINDOW_SECONDS: positiveIntVariable(900, 86_400),
  /** Days an expired sign-in code's row (it names an email address) is kept before the daily job removes it. */
  RETENTION_DAYS: retentionDaysVariable(),
};

export type IdentityConfig = ReturnType<typeof loadIdentityConfig>;

export const IDENTITY_CONFIG = Symbol('IDENTITY_CONFIG');

/** Reads the environment once, at start-up; a bad value stops the service with a message naming it. */
export function loadIdentityConfig(env?: Record<string, string | undefined>) {
  return loadConfig(identityConfigShape, env);
}
