import type { Pool } from 'pg';

/** Rows one DELETE removes: a large clean-up runs as many short statements, never one long lock. */
export const ROWS_PER_DELETE = 5_000;

/** Which rows of a table are old: `timeColumn` before the cutoff, removed by their `key`. */
export interface AgedRows {
  table: string;
  key: string;
  timeColumn: string;
}

/**
 * Deletes the rows of `rows.table` whose `timeColumn` is before `cutoff`, ROWS_PER_DELETE at a time,
 * and answers how many went. The names come from the caller's code, never from input.
 */
export async function deleteRowsOlderThan(
  pool: Pick<Pool, 'query'>,
  { table, key, timeColumn }: AgedRows,
  cutoff: Date,
): Promise<number> {
  let removed = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM ${table} WHERE ${key} IN
         (SELECT ${key} FROM ${table} WHERE ${timeColumn} < $1 LIMIT ${ROWS_PER_DELETE})`,
      [cutoff],
    );
    removed += rowCount ?? 0;
    if ((rowCount ?? 0) < ROWS_PER_DELETE) return removed;
  }
}
