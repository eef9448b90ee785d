/**
 * The flash-sale load test's bounds and the progress it reports while it runs. A contract between two
 * processes: `npm run loadtest:flash-sale -- --ipc` sends these messages over Node's IPC channel to the
 * process that forked it (the dashboard), which may send `{ kind: 'stop' }` back to stop firing.
 */

/**
 * The bounds of each option, the same for the command line and the dashboard's form: a sale big enough
 * to load the system, never one that runs for hours or asks the machine for more sockets than it has.
 */
export const FLASH_SALE_LIMITS = {
  stock: { min: 0, max: 1_000_000, default: 500 },
  requests: { min: 1, max: 10_000_000, default: 20_000 },
  connections: { min: 1, max: 10_000, default: 200 },
  retryShare: { min: 0, max: 1, default: 0.05 },
  requestTimeoutMs: { min: 100, max: 600_000, default: 10_000 },
  drainTimeoutMs: { min: 1_000, max: 3_600_000, default: 120_000 },
} as const;

/**
 * notify-worker's placement email: one per order. The lifecycle adds one per transition (paid, expired,
 * cancelled, refunded: up to two more per order), which the load test adds on top when it sizes the
 * mailbox a sale needs (libs/loadtest, mailbox-capacity.ts).
 */
export const EMAILS_PER_ORDER = 1;

/**
 * The most placement emails a sale can cause: an order takes at least one unit of stock and one request
 * (a re-send carries its order's key and adds none), so there are at most min(stock, requests) orders.
 */
export function mostEmailsOfSale(sale: { stock: number; requests: number }): number {
  return Math.min(sale.stock, sale.requests) * EMAILS_PER_ORDER;
}

/** The most emails any sale within FLASH_SALE_LIMITS can cause: what a mailbox must keep for every sale. */
export const FLASH_SALE_MOST_EMAILS = mostEmailsOfSale({
  stock: FLASH_SALE_LIMITS.stock.max,
  requests: FLASH_SALE_LIMITS.requests.max,
});

export type FlashSalePhase = 'firing' | 'draining' | 'verifying';

/** Live counters while firing (a progress bar, the dashboard's charts). */
export interface FiringProgress {
  done: number;
  total: number;
  accepted: number;
  soldOut: number;
  errors: number;
  /** Answers per second over the last tick. */
  currentRate: number;
  /** 201s per second over the last tick. */
  acceptedRate: number;
  /** Latency percentiles of the answers in the last tick (ms); NaN when none came. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  /**
   * Every POST /orders answer so far by status and code, as results.json's statusCounts keys them
   * (`201`, `202`, `409 OUT_OF_STOCK`, `429 RATE_LIMITED`, ...). Optional: older load tests lack it.
   */
  answersByCode?: Record<string, number>;
  /**
   * Time from sending to the final outcome of the attempts that ended in the last tick (ms): the answer,
   * or for a queued sale's ticket when the client saw it placed or refused; NaN when none ended.
   */
  outcomeP50Ms?: number;
  outcomeP99Ms?: number;
}

/** Live figures while the pipeline drains. */
export interface DrainProgress {
  accepted: number;
  emails: number;
  pdfs: number;
  queueDepths: Record<string, number>;
  elapsedMs: number;
}

/** How a finished sale went: the verdict, the summary table's rows, where results.json and report.html are. */
export interface FlashSaleOutcome {
  outDir: string;
  finishedAt: string;
  violations: { code: string; message: string }[];
  summary: [label: string, value: string][];
}

export type FlashSaleProgressMessage =
  | { kind: 'step'; message: string }
  | { kind: 'phase'; phase: FlashSalePhase }
  | { kind: 'firing'; progress: FiringProgress }
  | { kind: 'draining'; progress: DrainProgress }
  | { kind: 'error'; message: string }
  | { kind: 'finished'; outcome: FlashSaleOutcome };
