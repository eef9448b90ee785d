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

export const reportWorkerConfigShape = {
  PORT: portVariable(SERVICE_PORTS['report-worker']),
  DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  REPORTS_DIR: directoryVariable(LOCAL_DEFAULTS.reportsDir),
  PREFETCH: positiveIntVariable(10, 1_000),
};

export type ReportWorkerConfig = ReturnType<typeof loadReportWorkerConfig>;

export function loadReportWorkerConfig(env?: Record<string, string | undefined>) {
  return loadConfig(reportWorkerConfigShape, env);
}
