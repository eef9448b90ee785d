import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    await expect(
      waitFor('third call', () => (++calls >= 3 ? calls : undefined), { intervalMs: 1 }),
    ).resolves.toBe(3);
  });

  it('fails with the description and the last error', async () => {
    await expect(
      waitFor(
        'never',
        () => {
          throw new Error('still broken');
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toThrow(/waiting for never \(last error: still broken\)/);
  });
});

describe('waitFor with failFast', () => {
  it('rethrows the first error at once', async () => {
    const started = Date.now();
    await expect(
      waitFor(
        'a process that crashed',
        () => {
          throw new Error('exited with code 1');
        },
        { timeoutMs: 5_000, intervalMs: 5, failFast: true },
      ),
    ).rejects.toThrow('exited with code 1');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
