import {
  booleanVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  portVariable,
  rabbitmqUrlVariable,
  SERVICE_PORTS,
} from '@shop/config';

export const logAggregatorConfigShape = {
  PORT: portVariable(SERVICE_PORTS['log-aggregator']),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  LOG_DIR: directoryVariable(LOCAL_DEFAULTS.logDir),
};

export type LogAggregatorConfig = ReturnType<typeof loadLogAggregatorConfig>;

export function loadLogAggregatorConfig(env?: Record<string, string | undefined>) {
  return loadConfig(logAggregatorConfigShape, env);
}
