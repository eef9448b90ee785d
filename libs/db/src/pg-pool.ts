import { Pool, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { isStatementError } from './database-errors';

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
  // pg-pool listens for a client's errors only while it is idle. A client whose backend is terminated
  // while checked out (pg_terminate_backend, a server restart mid-query) emits 'error' with nobody
  // listening, which crashes the process. Its query is rejected anyway and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * `pool.query`, except that an error raised by the statement itself keeps the connection. pg's
 * `pool.query` closes the connection on ANY error, so every statement error (a refusal raised in SQL,
 * a constraint) would cost a fresh connection.
 */
export async function queryKeepingConnection<Row extends QueryResultRow>(
  pool: Pool,
  query: QueryConfig,
): Promise<QueryResult<Row>> {
  const client = await pool.connect();
  try {
    const result = await client.query<Row>(query);
    client.release();
    return result;
  } catch (error) {
    // Anything but a refused statement (socket closed, query timeout, backend terminated) removes the
    // connection from the pool.
    client.release(isStatementError(error) ? undefined : (error as Error));
    throw error;
  }
}

/**
 * Runs `work` between BEGIN and COMMIT on one connection of the pool, and rolls back when it throws.
 * A connection whose session broke (socket closed, backend terminated, so ROLLBACK fails too) leaves
 * the pool instead of going back to it.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    const rolledBack = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    client.release(rolledBack ? undefined : (error as Error));
    throw error;
  }
}
