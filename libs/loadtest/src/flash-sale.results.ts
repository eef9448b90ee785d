/**
 * What one flash-sale run produced: written to results.json, drawn into report.html and checked by
 * the invariant checker. Times are milliseconds; `atMs` values count from the moment firing started.
 */

export interface FlashSaleOptions {
  /** Units of the flash-sale product. */
  stock: number;
  /** New orders to fire (re-sends come on top). */
  requests: number;
  /** Requests in flight at once, from the first instant (a spike, not a ramp). */
  connections: number;
  /** Share of requests re-sent with the same Idempotency-Key and body, 0-1. */
  retryShare: number;
  /** order-api base URL. */
  apiUrl: string;
  /** Mailpit-compatible API base URL (Mailpit under compose, the mail catcher under `npm start`). */
  mailApiUrl: string;
  /**
   * Messages the mailbox keeps (0: no bound), for one that does not report it at /api/v1/info: Mailpit
   * (its MP_MAX_MESSAGES). Unset there, Mailpit's default 500 is assumed. A sale that may send more
   * emails than the mailbox keeps is refused before anything is sent.
   */
  mailboxCapacity?: number;
  /** AMQP URL used only to read queue depths (passive declares). */
  amqpUrl: string;
  /** Per-request timeout. */
  requestTimeoutMs: number;
  /** How long to wait for emails and PDFs after firing before calling them missing. */
  drainTimeoutMs: number;
  /** The operator token (OPS_TOKEN): the sale creates its product. Never written to the results. */
  opsToken: string;
}

/** Latency summary in milliseconds (nearest-rank percentiles). */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface HistogramBucket {
  /** Inclusive upper bound of the bucket in ms; the last bucket is open (Infinity, written as null). */
  upToMs: number | null;
  count: number;
}

/** One slice of the firing phase (typically 250 ms): what finished in it. */
export interface FiringSample {
  atMs: number;
  /** Answers received in this slice (any status). */
  completed: number;
  /** 201 Created in this slice. */
  accepted: number;
  /** 409 OUT_OF_STOCK in this slice. */
  soldOut: number;
  /** Anything else (5xx, timeouts, network errors, unexpected codes) in this slice. */
  errors: number;
}

/** One poll of the pipeline while it drains (and during firing). */
export interface PipelineSample {
  atMs: number;
  /** Emails for this run's orders seen at the mail catcher so far. */
  emails: number;
  /** PDFs written for this run's orders so far. */
  pdfs: number;
  /** Ready + unacknowledged messages per queue name, when the broker could be read. */
  queueDepths: Record<string, number>;
}

/** The request that was sent and what came back; one per HTTP exchange, re-sends included. */
export interface RequestOutcome {
  /** Idempotency-Key of the request (a re-send repeats its original's key). */
  idempotencyKey: string;
  resend: boolean;
  quantity: number;
  /** HTTP status, or 0 for a timeout or network error. */
  status: number;
  /** The error `code` of a 4xx/5xx body, 'TIMEOUT' or 'NETWORK_ERROR' when status is 0. */
  code?: string;
  /** The order id of a 200/201 answer. */
  orderId?: string;
  /** The order's access token from a 200/201 answer: the checks read the order with it. */
  accessToken?: string;
  latencyMs: number;
  /** When the answer arrived, counted from the start of firing. */
  finishedAtMs: number;
}

/** An accepted order as the API reports it after draining. */
export interface AcceptedOrder {
  orderId: string;
  idempotencyKey: string;
  quantity: number;
  createdAt: string;
  notifiedAt?: string;
  reportedAt?: string;
  /** Emails at the mail catcher whose Message-ID names this order. */
  emailCount: number;
  /** PDFs found for this order (0 or 1: the report is named after the order and written atomically). */
  pdfCount: number;
}

export interface Violation {
  /** Machine-readable, e.g. OVERSOLD, DUPLICATE_ORDER, MISSING_EMAIL. */
  code: string;
  message: string;
}

export interface FlashSaleResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  options: Omit<FlashSaleOptions, 'opsToken'>;
  product: { sku: string; initialStock: number; finalStock: number; priceCents: number };
  /** What the API says was sold for the product: orders and units, counted by the database. */
  serverSales: { orders: number; units: number };
  firing: {
    durationMs: number;
    /** Stopped before every order was sent (Stop on the dashboard, Ctrl-C on the command line). */
    stoppedEarly: boolean;
    /** Every HTTP exchange, re-sends included. */
    requestsSent: number;
    resendsSent: number;
    requestsPerSecond: number;
    /** Accepted orders per second between the first and the last acceptance. */
    acceptedPerSecond: number;
    firstAcceptanceAtMs: number | null;
    lastAcceptanceAtMs: number | null;
    /** Keyed by `201`, `200`, `409 OUT_OF_STOCK`, `503 DATABASE_UNAVAILABLE`, `0 TIMEOUT`, ... */
    statusCounts: Record<string, number>;
    latency: LatencySummary;
    histogram: HistogramBucket[];
    timeline: FiringSample[];
  };
  drain: {
    /** From the last acceptance until every email and PDF was there (or the drain timed out). */
    durationMs: number;
    completed: boolean;
    emails: number;
    pdfs: number;
    /** This run's messages in the dead-letter queues (their order is one of this run's), by queue name. */
    deadLettered: Record<string, number>;
    /** Other messages parked there (earlier runs, poison messages): shown, not this sale's failure. */
    otherDeadLetters: Record<string, number>;
    samples: PipelineSample[];
  };
  endToEnd: {
    /** From order created to email accepted by the mail server. */
    email: LatencySummary;
    /** From order created to PDF written. */
    pdf: LatencySummary;
  };
  acceptedOrders: AcceptedOrder[];
  violations: Violation[];
}
