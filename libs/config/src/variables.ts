import { isIP } from 'node:net';
import { z } from 'zod';

/** Reusable validators for the variables every service reads (the README's "Configuration", docs/operations.md). */

export const portVariable = (defaultPort: number) =>
  z.coerce
    .number({ message: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(defaultPort);

const urlWithScheme = (schemes: string[], what: string) =>
  z.string().refine((value) => {
    try {
      return schemes.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be ${what}`);

export const databaseUrlVariable = (defaultUrl: string) =>
  urlWithScheme(['postgresql:', 'postgres:'], 'a postgresql:// URL').default(defaultUrl);

/**
 * The nodes named by a RABBITMQ_URL: one amqp(s):// URL, or a cluster's nodes separated by commas
 * (`amqp://u:p@h:5681/shop,amqp://u:p@h:5682/shop`). Connections fail over from one to the next.
 */
export function rabbitmqNodesOf(rabbitmqUrl: string): string[] {
  return rabbitmqUrl
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node.length > 0);
}

/** The vhost of a RABBITMQ_URL (its first node's; "/" when the URL has no path). */
export function vhostOf(rabbitmqUrl: string): string {
  const path = new URL(rabbitmqNodesOf(rabbitmqUrl)[0]).pathname;
  return path && path !== '/' ? decodeURIComponent(path.slice(1)) : '/';
}

const isAmqpUrl = (value: string) => {
  try {
    return ['amqp:', 'amqps:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

export const rabbitmqUrlVariable = (defaultUrl: string) =>
  z
    .string()
    .refine(
      (value) => rabbitmqNodesOf(value).length > 0 && rabbitmqNodesOf(value).every(isAmqpUrl),
      'must be an amqp:// or amqps:// URL, or several separated by commas (the nodes of a cluster)',
    )
    .default(defaultUrl);

export const smtpUrlVariable = () => urlWithScheme(['smtp:', 'smtps:'], 'an smtp:// or smtps:// URL');

export const positiveIntVariable = (defaultValue: number, max = 1_000_000) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .default(defaultValue);

export const booleanVariable = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .transform((value) => ['true', '1', 'yes'].includes(value))
    .default(defaultValue);

export const directoryVariable = (defaultDir: string) => z.string().min(1).default(defaultDir);

export const emailVariable = (defaultEmail: string) =>
  z.email('must be an email address').default(defaultEmail);

/** The defaults that serve `npm start` on a developer machine (local RabbitMQ and PostgreSQL, trust auth). */
export const LOCAL_DEFAULTS = {
  /** The admin role, for tools (migrations, seed, load-test audit); each service logs in as its own role. */
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/orders',
  rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672',
  reportsDir: './var/reports',
  logDir: './var/logs',
  mailFrom: 'orders@shop.local',
} as const;

/** The HTTP port of each service (each exposes GET /health there). */
export const SERVICE_PORTS = {
  'order-api': 3000,
  'notify-worker': 3001,
  'report-worker': 3002,
  'log-aggregator': 3003,
  /** Reads the others; never read by them. */
  dashboard: 3004,
  /** Customers' passwordless sign-in; signs the JWTs order-api verifies through its JWKS. */
  identity: 3005,
  /** The other party of the payment saga: a payment provider integration with a sandbox provider. */
  payment: 3006,
} as const;

/**
 * The interface a service listens on: `127.0.0.1` under `npm start` (nothing outside the machine can
 * reach it), `0.0.0.0` inside a container, where the port mapping decides who reaches it.
 */
export const hostVariable = (defaultHost = '127.0.0.1') =>
  z
    .string()
    .regex(/^[0-9A-Za-z.:-]{1,253}$/, 'must be an IP address or a host name')
    .default(defaultHost);

/**
 * ALLOWED_HOSTS: the host names (any port) a service answers to, separated by commas; `*` for any.
 * Requests naming another host are refused, so a DNS-rebound web page cannot reach a local service.
 */
export const allowedHostsVariable = (defaultHosts = 'localhost,127.0.0.1,[::1]') =>
  commaListVariable(defaultHosts).refine(
    (hosts) =>
      hosts.length > 0 && hosts.every((host) => /^(\*|\[[0-9a-f:.]+\]|[0-9a-z._-]{1,253})$/.test(host)),
    'must be host names, IPv4 addresses or [IPv6] addresses separated by commas, or *',
  );

/**
 * TRUST_PROXY: the proxies whose X-Forwarded-For names the client (so rate limits count the client, not
 * the proxy), separated by commas: addresses, subnets (`10.0.0.0/8`), or `loopback`, `linklocal`,
 * `uniquelocal`. Default: loopback only, so another machine cannot pass itself off as someone else.
 */
export const trustProxyVariable = (defaultProxies = '127.0.0.1,::1') =>
  commaListVariable(defaultProxies).refine(
    (proxies) => proxies.length > 0 && proxies.every(isProxyAddress),
    'must be IP addresses, subnets (address/bits), loopback, linklocal or uniquelocal, separated by commas',
  );

/** Entries separated by commas, trimmed and lower-cased, empty ones dropped. */
const commaListVariable = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim().toLowerCase())
        .filter(Boolean),
    );

function isProxyAddress(entry: string): boolean {
  if (entry === 'loopback' || entry === 'linklocal' || entry === 'uniquelocal') return true;
  const [address, bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

/**
 * A shared secret (OPS_TOKEN, ORDER_TOKEN_SECRET): required, at least 32 characters, printable ASCII,
 * so a typo or a placeholder like "changeme" stops the service instead of guarding it weakly.
 */
export const secretVariable = () =>
  z
    .string({ message: 'is required (npm run secrets writes one into .env)' })
    .regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces')
    .min(32, 'must be at least 32 characters (npm run secrets writes a random one)');

/** How many days personal data (reports, archived logs, notification rows, parked messages) is kept. */
export const retentionDaysVariable = (defaultDays = 30) => positiveIntVariable(defaultDays, 3650);
