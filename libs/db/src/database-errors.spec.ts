import { isDatabaseUnavailableError } from './database-errors';

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
