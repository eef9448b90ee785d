import {
  brokerVariables,
  directoryVariable,
  httpServerVariables,
  loadConfig,
  LOCAL_DEFAULTS,
  positiveIntVariable,
  retentionDaysVariable,
  secretVariable,
} from '@shop/config';

export const logAggregatorConfigShape = {
  ...httpServerVariables('log-aggregator'),
  ...brokerVariables(),
  LOG_DIR: directoryVariable(LOCAL_DEFAULTS.logDir),
  /** Records per write + fsync at most (each consumer's prefetch is twice this). */
  LOG_BATCH_SIZE: positiveIntVariable(200, 5_000),
  /** How long the first record of a batch waits for more before the batch is written. */
  LOG_BATCH_WAIT_MS: positiveIntVariable(50, 10_000),
  /** The operators' token: GET /logs and /logs/stats need it (they name orders); /health and /metrics do not. */
  OPS_TOKEN: secretVariable(),
  /** Recent records kept in memory for GET /logs. */
  LOG_RECENT_RECORDS: positiveIntVariable(50_000, 1_000_000),
  /** Archived log files older than this many days are removed (at start and every 24 h). */
  RETENTION_DAYS: retentionDaysVariable(),
};

export type LogAggregatorConfig = ReturnType<typeof loadLogAggregatorConfig>;

export function loadLogAggregatorConfig(env?: Record<string, string | undefined>) {
  return loadConfig(logAggregatorConfigShape, env);
}
