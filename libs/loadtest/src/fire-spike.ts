import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { customerFor } from './customers';
import type { RequestOutcome } from './flash-sale.results';

export interface SpikeOptions {
  apiUrl: string;
  sku: string;
  runId: string;
  requests: number;
  connections: number;
  retryShare: number;
  requestTimeoutMs: number;
  /** Called after every answer, cheap: the caller throttles its own rendering. */
  onOutcome?: (outcome: RequestOutcome) => void;
}

export interface SpikeResult {
  startedAt: number;
  durationMs: number;
  outcomes: RequestOutcome[];
}

/**
 * Fires `requests` new orders from `connections` clients that all start at once (a spike, not a
 * ramp). Each order is for 1-2 units with its own Idempotency-Key; a `retryShare` of them is sent a
 * second time with the same key and body while the first is still in flight, as an impatient
 * client would. Never throws for an HTTP failure: every exchange ends as a RequestOutcome.
 */
export async function fireSpike(options: SpikeOptions): Promise<SpikeResult> {
  const api = new URL(options.apiUrl);
  // One keep-alive connection per client, plus room for the re-sends that overlap their originals.
  const pool = new Pool(api.origin, {
    connections: options.connections + Math.ceil(options.connections * options.retryShare) + 1,
    pipelining: 1,
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
  });
  const path = `${api.pathname.replace(/\/$/, '')}/orders`;
  const outcomes: RequestOutcome[] = [];
  const startedAt = performance.now();
  let next = 0;

  const send = async (idempotencyKey: string, body: string, quantity: number, resend: boolean) => {
    const sentAt = performance.now();
    const outcome: RequestOutcome = {
      idempotencyKey,
      resend,
      quantity,
      status: 0,
      latencyMs: 0,
      finishedAtMs: 0,
    };
    try {
      const response = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      outcome.status = response.statusCode;
      const answer = (await response.body.json().catch(() => ({}))) as { id?: string; code?: string };
      if (response.statusCode === 200 || response.statusCode === 201) outcome.orderId = answer.id;
      else if (answer.code) outcome.code = answer.code;
    } catch (error) {
      outcome.code = isTimeout(error) ? 'TIMEOUT' : 'NETWORK_ERROR';
    }
    const finishedAt = performance.now();
    outcome.latencyMs = finishedAt - sentAt;
    outcome.finishedAtMs = finishedAt - startedAt;
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  };

  const client = async () => {
    while (next < options.requests) {
      const n = next++;
      const quantity = Math.random() < 0.5 ? 1 : 2;
      const body = JSON.stringify({
        customer: customerFor(options.runId, n),
        items: [{ sku: options.sku, quantity }],
      });
      const idempotencyKey = `${options.runId}-${n}-${randomUUID().slice(0, 8)}`;
      const first = send(idempotencyKey, body, quantity, false);
      if (Math.random() < options.retryShare) {
        // Impatient: the same request again a few milliseconds later, before the first answer.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
        await Promise.all([first, send(idempotencyKey, body, quantity, true)]);
      } else {
        await first;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.connections }, client));
  } finally {
    await pool.close();
  }
  return { startedAt, durationMs: performance.now() - startedAt, outcomes };
}

function isTimeout(error: unknown): boolean {
  const { name, code } = error as { name?: string; code?: string };
  return (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}
