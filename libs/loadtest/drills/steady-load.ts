import { randomUUID } from 'node:crypto';
import { customerFor } from '../src/customers';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SteadyLoadOptions {
  apiUrl: () => string;
  sku: string;
  orders: number;
  ratePerSecond: number;
  /** Give up on one order after this long of 5xx and connection errors. */
  orderDeadlineMs: number;
  /** Updated as answers arrive, so a drill can see the API keep accepting during a fault. */
  live?: LiveLoad;
  /** Every answer (or failure) as it arrives, with the time: a drill's view of the fault window. */
  onAnswer?: (label: string, at: number) => void;
}

export interface LiveLoad {
  accepted: number;
  /** Requests sent and not answered yet. */
  inFlight?: number;
  /** Every order accepted so far, with the access token and payBy of its answer: its customer may act. */
  orders?: { orderId: string; accessToken: string; payBy?: string }[];
}

/** Every answer the load got, failures included: what a drill reports on. */
export interface SteadyLoadResult {
  /** Order id per Idempotency-Key, for every order that was finally accepted. */
  accepted: Map<string, string>;
  /** Keys that never got an order before their deadline (each retried with the same key). */
  gaveUp: string[];
  /** `status code` → count over every attempt, e.g. `503 DATABASE_UNAVAILABLE`, `0 NETWORK_ERROR`. */
  attempts: Record<string, number>;
  durationMs: number;
}

/**
 * Places `orders` orders at a steady rate, each with its own Idempotency-Key and retried with that
 * same key on a 5xx or a dropped connection, as a well-behaved client does while a fault is going on.
 * So "accepted" means the client was told yes, and a drill's "lost" means told yes but never delivered.
 */
export async function runSteadyLoad(options: SteadyLoadOptions): Promise<SteadyLoadResult> {
  const runId = `drill${Date.now().toString(36)}`;
  const accepted = new Map<string, string>();
  const gaveUp: string[] = [];
  const attempts: Record<string, number> = {};
  const count = (label: string) => {
    attempts[label] = (attempts[label] ?? 0) + 1;
    options.onAnswer?.(label, Date.now());
  };
  const live = options.live;
  if (live) live.inFlight = 0;
  const started = performance.now();

  const placeOne = async (n: number) => {
    const key = `${runId}-${n}-${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({
      customer: customerFor(runId, n),
      items: [{ sku: options.sku, quantity: 1 }],
    });
    const deadline = performance.now() + options.orderDeadlineMs;
    while (performance.now() < deadline) {
      if (live) live.inFlight! += 1;
      try {
        const response = await fetch(`${options.apiUrl()}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        const answer = (await response.json().catch(() => ({}))) as {
          id?: string;
          code?: string;
          accessToken?: string;
          payBy?: string;
        };
        count(
          response.status === 200 || response.status === 201
            ? String(response.status)
            : `${response.status} ${answer.code ?? ''}`.trim(),
        );
        if ((response.status === 200 || response.status === 201) && answer.id) {
          accepted.set(key, answer.id);
          if (options.live) {
            options.live.accepted++;
            options.live.orders?.push({
              orderId: answer.id,
              accessToken: answer.accessToken ?? '',
              payBy: answer.payBy,
            });
          }
          return;
        }
        if (response.status < 500) return; // a refusal is an answer: not retried
      } catch (error) {
        count(`0 ${(error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK_ERROR'}`);
      } finally {
        if (live) live.inFlight! -= 1;
      }
      await sleep(200);
    }
    gaveUp.push(key);
  };

  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < options.orders; n++) {
    const due = started + (n * 1000) / options.ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(placeOne(n));
  }
  await Promise.all(inFlight);
  return { accepted, gaveUp, attempts, durationMs: performance.now() - started };
}
