import { DatabaseError } from 'pg';

/**
 * True when an error means "the database cannot be reached or dropped us" rather than "the query was
 * wrong": connection refused or timed out, the server shutting down, our backend being terminated.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      kind?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    const code = typeof candidate.code === 'string' ? candidate.code : '';
    const message = typeof candidate.message === 'string' ? candidate.message : '';
    if (NETWORK_ERROR_CODES.has(code)) return true;
    // @prisma/adapter-pg's classification, on the DriverAdapterError's cause (raw queries: P2010's meta).
    if (typeof candidate.kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(candidate.kind)) return true;
    // SQLSTATE class 08 (connection exception) and 57P01-57P03 (admin shutdown, crash, cannot connect now).
    if (/^08/.test(code) || /^57P0[1-3]$/.test(code)) return true;
    // Prisma's own codes for "can't reach database server" and "timed out fetching a connection".
    if (code === 'P1001' || code === 'P1002' || code === 'P1017' || code === 'P2024') return true;
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    current = candidate.meta?.driverAdapterError ?? candidate.cause;
  }
  return false;
}

/**
 * True when PostgreSQL itself refused the statement (a constraint, a value out of range, a RAISE):
 * the statement and its transaction were rolled back, nothing of it is written, and the session is still
 * usable. Work refused this way may run again in parts; any other failure may or may not have committed.
 */
export function isStatementError(error: unknown): boolean {
  return error instanceof DatabaseError && !isDatabaseUnavailableError(error);
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);

const UNAVAILABLE_MESSAGES = [
  /Can't reach database server/i,
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /terminating connection/i,
  /Client has encountered a connection error/i,
  /the database system is (starting up|shutting down)/i,
];
