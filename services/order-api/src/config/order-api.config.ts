import {
  booleanVariable,
  brokerVariables,
  httpServerVariables,
  loadConfig,
  ownDatabaseVariables,
  positiveIntVariable,
  retentionDaysVariable,
  secretVariable,
  SERVICE_PORTS,
  trustProxyVariable,
} from '@shop/config';
import { CUSTOMER_TOKEN, DEFAULT_PAYMENT_WINDOW_MS, PAYMENT_WINDOW_LIMITS } from '@shop/contracts';
import { z } from 'zod';

const isHttpUrl = (value: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

export const orderApiConfigShape = {
  ...httpServerVariables('order-api'),
  /** Proxies whose X-Forwarded-For names the client (HAProxy, the load test); others count as the client. */
  TRUST_PROXY: trustProxyVariable(),
  /**
   * Rate limits, per client (address) and per signed-in customer (their JWT's `sub`), each per
   * RATE_LIMIT_WINDOW_SECONDS and per instance: over one, 429 RATE_LIMITED with Retry-After.
   */
  ORDER_RATE_LIMIT_PER_CLIENT: positiveIntVariable(300, 1_000_000),
  ORDER_RATE_LIMIT_PER_CUSTOMER: positiveIntVariable(10, 1_000_000),
  PAYMENT_RATE_LIMIT_PER_CLIENT: positiveIntVariable(60, 1_000_000),
  PAYMENT_RATE_LIMIT_PER_CUSTOMER: positiveIntVariable(10, 1_000_000),
  RATE_LIMIT_WINDOW_SECONDS: positiveIntVariable(10, 86_400),
  ...ownDatabaseVariables('order-api'),
  ...brokerVariables(),
  /** How long GET /orders/:id/report waits for report-worker's reply before answering 504. */
  REPORT_RPC_TIMEOUT_MS: positiveIntVariable(5_000, 120_000),
  /** Connections to PostgreSQL; more does not help a hot row, it only queues on its lock. */
  DATABASE_POOL_SIZE: positiveIntVariable(16, 200),
  /**
   * Remember products known to be (nearly) sold out and refuse orders for them without asking the
   * database; kept correct by the database's stock-replenished notifications (see SoldOutMarkers).
   */
  SOLD_OUT_MARKERS: booleanVariable(true),
  /** How long a sold-out marker is trusted without hearing from the database again. */
  SOLD_OUT_MARKER_TTL_MS: positiveIntVariable(2_000, 60_000),
  /** Group commit: most orders one batch places (the orders that arrived while the last batch ran). */
  ORDER_BATCH_MAX_ORDERS: positiveIntVariable(100, 1_000),
  /** Group commit: most order lines in one batch, so one batch of large orders stays quick. */
  ORDER_BATCH_MAX_LINES: positiveIntVariable(500, 10_000),
  /** Orders waiting for a batch beyond which new ones get 503 TOO_MANY_ORDERS_WAITING at once. */
  ORDER_BATCH_MAX_WAITING: positiveIntVariable(5_000, 100_000),
  /** How often the outbox sweep runs, in milliseconds. */
  OUTBOX_SWEEP_INTERVAL_MS: positiveIntVariable(1_000, 3_600_000),
  /**
   * How long a placed order keeps its stock unpaid: its deadline waits this long in the delay queue
   * `order_payment_due.<window>`, then the order expires if it is still unpaid.
   */
  PAYMENT_WINDOW_MS: z.coerce
    .number({ message: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(PAYMENT_WINDOW_LIMITS.minMs, `must be at least ${PAYMENT_WINDOW_LIMITS.minMs} (1 s)`)
    .max(PAYMENT_WINDOW_LIMITS.maxMs, `must be at most ${PAYMENT_WINDOW_LIMITS.maxMs} (7 days)`)
    .default(DEFAULT_PAYMENT_WINDOW_MS),
  /**
   * Whether this instance places the waiting room's requests (order_requests). Off, it only admits them
   * at the door: front instances can take a spike while others place at the database's pace.
   */
  WAITING_ROOM_CONSUMER: booleanVariable(true),
  /** Days the outcomes of waiting-room tickets are kept (order_request_outcomes). */
  RETENTION_DAYS: retentionDaysVariable(),
  /** The operators' bearer token: product writes, every order. */
  OPS_TOKEN: secretVariable(),
  /** Signs each order's access token (an HMAC of its id): stateless, so a replay answers the same token. */
  ORDER_TOKEN_SECRET: secretVariable(),
  /** identity's public keys, which customer JWTs are checked against (fetched when first needed, cached). */
  IDENTITY_JWKS_URL: z
    .string()
    .refine(isHttpUrl, 'must be an http:// or https:// URL')
    .default(`http://127.0.0.1:${SERVICE_PORTS.identity}${CUSTOMER_TOKEN.jwksPath}`),
};

export type OrderApiConfig = ReturnType<typeof loadOrderApiConfig>;

export const ORDER_API_CONFIG = Symbol('ORDER_API_CONFIG');

/** Reads the environment once, at start-up; a bad value stops the service with a message naming it. */
export function loadOrderApiConfig(env?: Record<string, string | undefined>) {
  return loadConfig(orderApiConfigShape, env);
}
