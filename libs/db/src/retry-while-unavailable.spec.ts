import { retryWhileDatabaseUnavailable } from './retry-while-unavailable';

const terminated = () =>
  Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });

describe('retryWhileDatabaseUnavailable', () => {
  it('runs the statement again until the database answers, backing off between attempts', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const result = await retryWhileDatabaseUnavailable(
      async () => {
        calls += 1;
        if (calls < 4) throw terminated();
        return 'recorded';
      },
      { giveUpAfterMs: 5_000, initialDelayMs: 1, maxDelayMs: 4, onRetry: (_e, _n, ms) => pauses.push(ms) },
    );
    expect(result).toBe('recorded');
    expect(calls).toBe(4);
    expect(pauses).toEqual([1, 2, 4]);
  });

  it('rethrows a query error at once: waiting would not fix it', async () => {
    let calls = 0;
    const duplicate = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(
      retryWhileDatabaseUnavailable(
        async () => {
          calls += 1;
          throw duplicate;
        },
        { giveUpAfterMs: 5_000, initialDelayMs: 1 },
      ),
    ).rejects.toBe(duplicate);
    expect(calls).toBe(1);
  });

  it('gives up with the last error once the time is spent', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      retryWhileDatabaseUnavailable(
        async () => {
          calls += 1;
          throw terminated();
        },
        { giveUpAfterMs: 60, initialDelayMs: 10, maxDelayMs: 10 },
      ),
    ).rejects.toMatchObject({ code: '57P01' });
    expect(calls).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
