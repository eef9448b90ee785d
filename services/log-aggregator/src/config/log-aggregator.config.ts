import {
  booleanVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  SERVICE_PORTS,
} from '@shop/config';

export const logAggregatorConfigShape = {
  PORT: portVariable(SERVICE_PORTS['log-aggregator']),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  LOG_DIR: directoryVariable(LOCAL_DEFAULTS.logDir),
  /** Records per write + fsync at most (each consumer's prefetch is twice this). */
  LOG_BATCH_SIZE: positiveIntVariable(200, 5_000),
  /** How long the first record of a batch waits for more before the batch is written. */
  LOG_BATCH_WAIT_MS: positiveIntVariable(50, 10_000),
  /** Recent records kept in memory for GET /logs. */
  LOG_RECENT_RECORDS: positiveIntVariable(50_000, 1_000_000),
};

export type LogAggregatorConfig = ReturnType<typeof loadLogAggregatorConfig>;

export function loadLogAggregatorConfig(env?: Record<string, string | undefined>) {
  return loadConfig(logAggregatorConfigShape, env);
}
