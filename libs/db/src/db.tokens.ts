/** Injection token of the shared `pg.Pool`. */
export const PG_POOL = Symbol('PG_POOL');
