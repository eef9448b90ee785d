import {
  booleanVariable,
  databaseUrlVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  SERVICE_PORTS,
} from '@shop/config';

export const orderApiConfigShape = {
  PORT: portVariable(SERVICE_PORTS['order-api']),
  DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  REPORTS_DIR: directoryVariable(LOCAL_DEFAULTS.reportsDir),
  /** Connections to PostgreSQL; more does not help a hot row, it only queues on its lock. */
  DATABASE_POOL_SIZE: positiveIntVariable(16, 200),
  /** How often the outbox sweep runs, in milliseconds. */
  OUTBOX_SWEEP_INTERVAL_MS: positiveIntVariable(1_000, 3_600_000),
};

export type OrderApiConfig = ReturnType<typeof loadOrderApiConfig>;

export const ORDER_API_CONFIG = Symbol('ORDER_API_CONFIG');

/** Reads the environment once, at start-up; a bad value stops the service with a message naming it. */
export function loadOrderApiConfig(env?: Record<string, string | undefined>) {
  return loadConfig(orderApiConfigShape, env);
}
