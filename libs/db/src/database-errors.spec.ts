import { isDatabaseUnavailableError } from './database-errors';

describe('isDatabaseUnavailableError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }],
    [{ code: '08006' }],
    [new Error('timeout exceeded when trying to connect')],
    [{ message: 'wrapped', cause: { code: 'ECONNRESET' } }],
    [{ code: 'P1001' }],
  ])('treats %j as unavailable', (error) => {
    expect(isDatabaseUnavailableError(error)).toBe(true);
  });

  it.each([[{ code: '23505' }], [{ code: '23514' }], [new Error('syntax error at or near')], [undefined]])(
    'treats %j as a query problem',
    (error) => {
      expect(isDatabaseUnavailableError(error)).toBe(false);
    },
  );
});
