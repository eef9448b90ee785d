import { Pool } from 'pg';

export interface PgPoolOptions {
  databaseUrl: string;
  /** Connections in the pool; the flash-sale hot path is bound by row locks, not connections. */
  maxConnections?: number;
  applicationName: string;
  /** Called for errors on idle connections (server restart, pg_terminate_backend); without a listener they crash the process. */
  onIdleError?: (error: Error) => void;
}

/**
 * A pool tuned to fail fast: when PostgreSQL is unreachable a request gets an error within
 * about two seconds (and the API answers 503) instead of hanging.
 */
export function createPgPool(options: PgPoolOptions): Pool {
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    query_timeout: 12_000,
    application_name: options.applicationName,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}
