import type { SaleAdmission } from '@shop/contracts';
import type { Fairness } from './fairness';

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
  /**
   * The database server's admin URL (the database order-api and payment use): the audit reads the
   * run's orders and payments there. Written to the results without its password.
   */
  auditDatabaseUrl: string;
  /** Share of accepted orders whose customer pays with the card that succeeds, 0-1. */
  payShare: number;
  /** Share whose customer pays with the card that succeeds only after 10 s (late with a short window). */
  latePayShare: number;
  /** Share whose customer cancels: half before paying, half after the order shows paid. */
  cancelShare: number;
  /**
   * order-api's PAYMENT_WINDOW_MS as the caller believes it, for the report only: each order's own
   * `payBy` from its 201 is what the run goes by.
   */
  paymentWindowMs?: number;
  /**
   * Once units come back (orders expired or cancelled), place follow-up orders for them, up to as many
   * as the spike turned away, whose customers pay: the returned stock is sold again.
   */
  resell: boolean;
  /**
   * True: wait for unpaid orders to expire. False: an unpaid order counts as done once emailed and
   * reported, its reservation still running (a bench measuring orders nobody pays, with a long window).
   * Unset: true when the last reservation ends within a minute of the drain's start (a short
   * PAYMENT_WINDOW_MS), else false (npm start's 15 minutes).
   */
  awaitExpiry?: boolean;
  /**
   * The sale's admission, when the run puts its product on sale (PUT /sales/<run id>) with signed-in
   * customers, one unit each: `direct` (POST /orders answers 201 or a refusal) or `queued` (202 and a
   * ticket the client follows). Unset: a plain product ordered by guests (the bench's other scenarios).
   */
  admission?: SaleAdmission;
  /** identity's base URL: the sale's customers get their tokens from POST /ops/customers/tokens. */
  identityUrl?: string;
  /** Share of a sale's customers who order a second time with a new Idempotency-Key, 0-1 (default 0.02). */
  secondAttemptShare?: number;
  /**
   * How long after it is created the sale opens (default 1.5 s): the early requests go in between, none
   * when it opens sooner than that.
   */
  opensInMs?: number;
  /** Units one customer may hold of the sale's product (PUT /sales' limitPerCustomer, default 1). */
  limitPerCustomer?: number;
}

export type { SaleAdmission } from '@shop/contracts';

/** What a customer does with an accepted order once the spike is over. */
export type CustomerAction =
  'pay' | 'pay-late' | 'cancel-before-paying' | 'cancel-after-paying' | 'never-pay';

/** The lifecycle emails an order can get, besides the placement email. */
export const LIFECYCLE_EMAIL_KINDS = ['paid', 'expired', 'cancelled', 'refunded'] as const;
export type LifecycleEmailKind = (typeof LIFECYCLE_EMAIL_KINDS)[number];
export type EmailKind = 'placed' | LifecycleEmailKind;

/** order-api's order statuses (GET /orders/:id `status`). */
export type OrderStatus = 'placed' | 'paid' | 'completed' | 'cancelled' | 'expired' | 'refunded';

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
  /** The order's `payBy` from a 200/201 answer: when its reservation ends. */
  payBy?: string;
  latencyMs: number;
  /** When the answer arrived, counted from the start of firing. */
  finishedAtMs: number;
  /** When the request was sent, counted from the start of firing (negative: before it, an early request). */
  sentAtMs?: number;
  /** A sale's customer (their email): the limit per customer is counted by it. */
  customer?: string;
  /** The X-Forwarded-For it was sent with: follow-ups of a sale's customer come from the same client. */
  clientAddress?: string;
  /** 2: the customer's second try, with a new Idempotency-Key, once their first was answered. */
  attempt?: 1 | 2;
  /** Sent before the sale opened, on purpose: must be refused SALE_NOT_OPEN and take nothing. */
  early?: boolean;
  /** Queued admission: the ticket of a 202. */
  ticket?: string;
  /** Queued admission: where the ticket ended (`lost`: not placed or refused before the drain timeout). */
  ticketStatus?: 'placed' | 'refused' | 'lost';
  /** When the client saw the ticket end, counted from the start of firing. */
  ticketEndedAtMs?: number;
  /** When order-api decided it (its outcome row), counted from the start of firing, when the run can read it. */
  ticketDecidedAtMs?: number;
  /** The order's createdAt from a placed ticket: its place in the queue's order of acceptance. */
  createdAt?: string;
}

/** An accepted order as the API reports it after draining. */
export interface AcceptedOrder {
  orderId: string;
  /** A sale's customer (their email). */
  customer?: string;
  idempotencyKey: string;
  quantity: number;
  createdAt: string;
  notifiedAt?: string;
  reportedAt?: string;
  /** Placement emails at the mail catcher whose Message-ID names this order. */
  emailCount: number;
  /** Lifecycle emails at the mail catcher for this order, by kind (a kind never sent is left out). */
  lifecycleEmails?: Partial<Record<LifecycleEmailKind, number>>;
  /** Where the order ended (GET /orders/:id). */
  status?: OrderStatus;
  payBy?: string;
  paidAt?: string;
  expiredAt?: string;
  cancelledAt?: string;
  refundedAt?: string;
  completedAt?: string;
  /** Spike, or a follow-up order for returned units. */
  wave?: 'spike' | 'resale';
  /** What its customer did, and order-api's answers (`202`, `409 ORDER_NOT_PAYABLE`, ...). */
  action?: CustomerAction;
  actionAnswers?: string[];
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
    /** Time to the HTTP answer (a 202's too). */
    latency: LatencySummary;
    /**
     * Time to the final outcome: the answer, or for a ticket until order-api decided it (what a client
     * following it over server-sent events hears), else until the polling client saw it.
     */
    finalOutcome?: LatencySummary;
    /** Every attempt's final refusal by code (`OUT_OF_STOCK`, `SALE_NOT_OPEN`, ...; re-sends left out). */
    refusalsByCode?: Record<string, number>;
    /** Arrival order (sending) against acceptance order among the accepted orders. */
    fairness?: Fairness;
    /** Queued admission: tickets issued (distinct) and where they ended. */
    tickets?: { issued: number; placed: number; refused: number; lost: number };
    histogram: HistogramBucket[];
    timeline: FiringSample[];
  };
  /** The sale the run created for its product, when it ran one. */
  sale?: SaleFigures;
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
  /** The customers' side after the spike, and the returned stock sold again. */
  lifecycle?: LifecycleFigures;
  violations: Violation[];
}

export interface SaleFigures {
  id: string;
  admission: SaleAdmission;
  opensAt: string;
  closesAt: string;
  limitPerCustomer: number;
  paymentWindowMs: number;
  customers: number;
  /** Requests sent before opening (each must be refused SALE_NOT_OPEN), and their customers' later tries. */
  earlyRequests: number;
  secondAttempts: number;
  /** The product's stock read after the early requests, before opening: the initial stock if they took nothing. */
  stockBeforeOpen: number | null;
}

export interface LifecycleFigures {
  /** Orders per final status. */
  statuses: Partial<Record<OrderStatus, number>>;
  /** Orders per customer action. */
  actions: Partial<Record<CustomerAction, number>>;
  /** Charges refunded because they succeeded after the order had expired or was cancelled. */
  latePaymentsRefunded: number;
  /** Units given back to stock (expired, cancelled, refunded orders). */
  unitsReturned: number;
  /** Follow-up orders accepted for returned units. */
  resaleOrders: number;
  /** Orders accepted after the first order expired: units that came back mid-sale sold again. */
  ordersAcceptedAfterFirstExpiry: number;
  /** Emails at the mail catcher by kind. */
  emails: Partial<Record<EmailKind, number>>;
}
