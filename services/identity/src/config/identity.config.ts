import {
  brokerVariables,
  httpServerVariables,
  loadConfig,
  ownDatabaseVariables,
  positiveIntVariable,
  retentionDaysVariable,
  secretVariable,
} from '@shop/config';

export const identityConfigShape = {
  ...httpServerVariables('identity'),
  ...ownDatabaseVariables('identity'),
  ...brokerVariables(),
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
