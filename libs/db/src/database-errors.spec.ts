import { DatabaseError } from 'pg';
import { isDatabaseUnavailableError, isStatementError } from './database-errors';

describe('isDatabaseUnavailableError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }],
    [{ code: '08006' }],
    [new Error('timeout exceeded when trying to connect')],
    [{ message: 'wrapped', cause: { code: 'ECONNRESET' } }],
    [{ code: 'P1001' }],
    // A raw query while the server refuses connections, as Prisma 7 with @prisma/adapter-pg reports it.
    [
      {
        code: 'P2010',
        message: "Raw query failed. Code: `N/A`. Message: `Can't reach database server at 127.0.0.1:5432`",
        meta: { driverAdapterError: { cause: { kind: 'DatabaseNotReachable', host: '127.0.0.1' } } },
      },
    ],
    [{ code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } } }],
  ])('treats %j as unavailable', (error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it.each([
    [{ code: '23505' }],
    [{ code: '23514' }],
    [{ code: 'P2010', meta: { driverAdapterError: { cause: { kind: 'UniqueConstraintViolation' } } } }],
    [new Error('syntax error at or near')],
    [undefined],
  ])('treats %j as a query problem', (error) => {
    expect(isDatabaseUnavailableError(error)).toBe(false);
  });
});

describe('isStatementError', () => {
  const raised = (code: string, message = 'refused') =>
    Object.assign(new DatabaseError(message, 0, 'error'), { code });

  it.each([
    ['a unique violation', raised('23505')],
    ['a check violation', raised('23514')],
    ['a RAISE in a function', raised('P0001')],
    ['a statement_timeout', raised('57014', 'canceling statement due to statement timeout')],
  ])('is true for %s: rolled back, the session still usable', (_, error) => {
    expect(isStatementError(error)).toBe(true);
  });

  it.each([
    ['the backend terminated', raised('57P01', 'terminating connection due to administrator command')],
    ['a connection exception', raised('08006')],
    ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a client-side query timeout (the statement may still commit)', new Error('Query read timeout')],
    ['an error of our own code after the statement', new Error('place_orders answered 1 rows for 2 orders')],
    ['nothing', undefined],
  ])('is false for %s', (_, error) => {
    expect(isStatementError(error)).toBe(false);
  });
});
