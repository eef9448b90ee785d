/**
 * Polls `probe` until it returns something other than undefined/false, or fails after `timeoutMs`
 * with the description and the last value seen. Tests, benches and drills use it instead of fixed
 * sleeps. With `failFast`, a probe that throws ends the wait at once (a crashed process fails the run
 * instead of waiting out the timeout).
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 10_000,
    intervalMs = 50,
    failFast = false,
  }: { timeoutMs?: number; intervalMs?: number; failFast?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (failFast) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
