import {
  directoryVariable,
  httpServerVariables,
  loadConfig,
  LOCAL_DEFAULTS,
  positiveIntVariable,
  rabbitmqUrlVariable,
  secretVariable,
  SERVICE_PORTS,
} from '@shop/config';
import { DEFAULT_PAYMENT_WINDOW_MS, PAYMENT_WINDOW_LIMITS } from '@shop/contracts';
import { z } from 'zod';

/** One service instance the dashboard watches: its /health and /metrics are read every second. */
export interface ScrapeTarget {
  /** `order-api`, or `order-api-2` for a replica. */
  instance: string;
  service: string;
  url: string;
}

const WATCHED_SERVICES = [
  'order-api',
  'notify-worker',
  'report-worker',
  'log-aggregator',
  'identity',
  'payment',
] as const;

const DEFAULT_TARGETS = WATCHED_SERVICES.map(
  (service) => `${service}=http://127.0.0.1:${SERVICE_PORTS[service]}`,
).join(',');

/**
 * `DASHBOARD_TARGETS`: `instance=url` pairs separated by commas. An instance is named after its
 * service, with `-<n>` for a replica (`order-api-2=http://127.0.0.1:3200`).
 */
export const scrapeTargetsVariable = () =>
  z
    .string()
    .default(DEFAULT_TARGETS)
    .transform((value, context): ScrapeTarget[] => {
      const targets: ScrapeTarget[] = [];
      for (const pair of value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [instance, url] = pair.split(/=(.*)/s);
        const service = WATCHED_SERVICES.find((name) => instance === name || instance.startsWith(`${name}-`));
        if (!service || !isHttpUrl(url)) {
          context.addIssue({
            code: 'custom',
            message: `"${pair}" must be <instance>=<http url>, the instance named after one of ${WATCHED_SERVICES.join(', ')}`,
          });
          return z.NEVER;
        }
        targets.push({ instance, service, url: url.replace(/\/$/, '') });
      }
      if (targets.length === 0) context.addIssue({ code: 'custom', message: 'names no target' });
      return targets;
    });

function isHttpUrl(value: string | undefined): value is string {
  try {
    return value !== undefined && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const httpUrlVariable = (defaultUrl: string) =>
  z
    .string()
    .refine(isHttpUrl, 'must be an http:// or https:// URL')
    .transform((url) => url.replace(/\/$/, ''))
    .default(defaultUrl);

export const dashboardConfigShape = {
  ...httpServerVariables('dashboard'),
  /** The broker's nodes: queue depths and consumers by passive declares, each node's reachability. */
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** RabbitMQ's management API (`http://user:pass@host:15672`): queue rates and nodes from the broker itself. */
  RABBITMQ_MANAGEMENT_URL: z
    .string()
    .refine(isHttpUrl, 'must be an http:// or https:// URL')
    .transform((url) => url.replace(/\/$/, ''))
    .optional(),
  DASHBOARD_TARGETS: scrapeTargetsVariable(),
  /**
   * The payment window order-api runs with: over AMQP alone its delay queue is checked beside the default
   * window's (passive declares cannot list queues); the management API lists every window's.
   */
  PAYMENT_WINDOW_MS: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(PAYMENT_WINDOW_LIMITS.minMs, `must be at least ${PAYMENT_WINDOW_LIMITS.minMs}`)
    .max(PAYMENT_WINDOW_LIMITS.maxMs, `must be at most ${PAYMENT_WINDOW_LIMITS.maxMs}`)
    .default(DEFAULT_PAYMENT_WINDOW_MS),
  /**
   * The operators' token: signing in to the page, its event stream and sales need it, and the dashboard
   * sends it to the log-aggregator's GET /logs and to order-api.
   */
  OPS_TOKEN: secretVariable(),
  /** Pages streaming at once (GET /events); one more gets 429 TOO_MANY_STREAMS. */
  DASHBOARD_MAX_STREAMS: positiveIntVariable(20, 1_000),
  /** How often a snapshot is taken and sent to the pages. */
  DASHBOARD_INTERVAL_MS: positiveIntVariable(1_000, 60_000),
  /** Where a flash sale started from the page sends its orders (HAProxy's port on a cluster). */
  ORDER_API_URL: httpUrlVariable(`http://127.0.0.1:${SERVICE_PORTS['order-api']}`),
  /** identity, which signs a flash sale's customers in (the load test's --identity). */
  IDENTITY_URL: httpUrlVariable(`http://127.0.0.1:${SERVICE_PORTS.identity}`),
  /** The Mailpit-compatible API the flash sale counts emails with (Mailpit, or npm start's mail catcher). */
  MAIL_API_URL: httpUrlVariable('http://127.0.0.1:8025'),
  /**
   * Messages that mailbox keeps, when it does not report it itself: Mailpit's MP_MAX_MESSAGES (0: no
   * bound). Unset: what the mailbox reports (npm start's catcher), else Mailpit's default 500. A sale
   * that may send more emails is refused before it sends anything (the load test's --mailbox-capacity).
   */
  MAILBOX_CAPACITY: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be 0 (no bound) or more')
    .optional(),
  /**
   * The database a flash sale's audit reads (the load test's `--database`: the admin URL of the database
   * order-api and payment use). Unset: the load test's own default ($DATABASE_URL, else the local one).
   */
  SALES_DATABASE_URL: z
    .string()
    .refine((url) => /^postgres(ql)?:\/\//.test(url), 'must be a postgresql:// URL')
    .optional(),
  /** Each flash sale's results.json and report.html, in a folder per sale. */
  SALES_DIR: directoryVariable('./var/loadtest'),
  /**
   * The load test's built command line (`npm run build`), which a sale runs in its own process: the
   * dashboard talks to it over IPC (@shop/contracts' flash-sale messages) and imports none of its code.
   */
  LOADTEST_CLI: z.string().min(1).default('./libs/loadtest/dist/cli/flash-sale.cli.js'),
};

export type DashboardConfig = ReturnType<typeof loadDashboardConfig>;

export function loadDashboardConfig(env?: Record<string, string | undefined>) {
  return loadConfig(dashboardConfigShape, env);
}

export const DASHBOARD_CONFIG = Symbol('DASHBOARD_CONFIG');
