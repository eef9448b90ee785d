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
}

export const LOGS_OPTIONS = Symbol('LOGS_OPTIONS');
