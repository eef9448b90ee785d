import { isDatabaseUnavailableError } from './database-errors';

export interface RetryWhileUnavailableOptions {
  /** Give up (rethrow the last error) once this much time has passed since the first attempt. */
  giveUpAfterMs: number;
  /** First pause between attempts; doubles up to `maxDelayMs` (defaults 100 ms and 2 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Told about each failed attempt that will be retried. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `statement` again while it fails because PostgreSQL cannot be reached (connection refused or
 * terminated, server restarting), with exponential backoff, until `giveUpAfterMs`. Any other error is
 * rethrown at once. For writes that record something which already happened outside the database
 * (an email the SMTP server accepted): redoing the outside effect would cost more than waiting.
 */
export async function retryWhileDatabaseUnavailable<T>(
  statement: () => Promise<T>,
  options: RetryWhileUnavailableOptions,
): Promise<T> {
  const started = Date.now();
  let delayMs = options.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      const timeLeft = options.giveUpAfterMs - (Date.now() - started);
      if (!isDatabaseUnavailableError(error) || timeLeft <= 0) throw error;
      const pause = Math.min(delayMs, timeLeft);
      options.onRetry?.(error, attempt, pause);
      await new Promise((resolve) => setTimeout(resolve, pause));
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 2_000);
    }
  }
}
