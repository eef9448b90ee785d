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
