export interface OutboxRelayOptions {
  /** The relay has its own two connections, so marking rows never queues behind request traffic. */
  databaseUrl: string;
  /** Shown in pg_stat_activity next to the service's own connections. */
  applicationName: string;
  /** How often the sweep looks for unpublished rows; 0 turns the sweep off (tests drive it by hand). */
  sweepIntervalMs: number;
  /** Rows per sweep transaction. */
  sweepBatchSize: number;
  /** Rows younger than this belong to the fast path; the sweep leaves them alone. */
  fastPathGraceMs: number;
  /** Most unconfirmed fast-path publishes at once; beyond it rows wait for the sweep. */
  maxInFlight: number;
  /** Confirmed ids are marked published in one UPDATE per this many milliseconds. */
  markBatchDelayMs: number;
  /** Published rows older than this are deleted (at most once a minute) so the table stays small. */
  retentionHours: number;
}

export const DEFAULT_OUTBOX_RELAY_OPTIONS: Omit<OutboxRelayOptions, 'databaseUrl' | 'applicationName'> = {
  sweepIntervalMs: 1_000,
  sweepBatchSize: 200,
  fastPathGraceMs: 5_000,
  maxInFlight: 2_000,
  markBatchDelayMs: 5,
  retentionHours: 168,
};

export const OUTBOX_RELAY_OPTIONS = Symbol('OUTBOX_RELAY_OPTIONS');
export const OUTBOX_RELAY_POOL = Symbol('OUTBOX_RELAY_POOL');
