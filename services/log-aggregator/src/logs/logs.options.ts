export interface LogsOptions {
  /** Root of the archive: `<logDir>/<yyyy-mm-dd>/{all,errors,rejected}.jsonl`. */
  logDir: string;
  /** Lines per write + fsync at most... */
  batchSize: number;
  /** ...and how long the first line of a batch waits for others. */
  batchWaitMs: number;
  /** The operator token GET /logs and /logs/stats check (OperatorGuard). */
  opsToken: string;
  /** How many recent records GET /logs searches. */
  recentRecords: number;
  /** Pause before a record whose write failed goes back to its queue (so a full disk is not a busy loop). */
  writeRetryDelayMs: number;
  /**
   * Declare the consumed queues (with the contract's arguments) before consuming, as a service that
   * declares the topology does; otherwise only check they exist (they come from a definitions file).
   */
  declareQueues: boolean;
}

export const LOGS_OPTIONS = Symbol('LOGS_OPTIONS');
