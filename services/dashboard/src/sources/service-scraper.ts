import { parsePrometheusText } from '@shop/service-kit';
import type { ScrapeTarget } from '../config/dashboard.config';
import type { TargetReading } from '../snapshot/snapshot-builder';

/** Under the snapshot interval: a service that cannot answer this fast counts as down for this second. */
const READ_TIMEOUT_MS = 800;

/** Reads every target's GET /health and GET /metrics, all at once. */
export async function readTargets(targets: readonly ScrapeTarget[]): Promise<TargetReading[]> {
  return Promise.all(targets.map(readTarget));
}

async function readTarget(target: ScrapeTarget): Promise<TargetReading> {
  const [health, samples] = await Promise.all([readHealth(target.url), readMetrics(target.url)]);
  return { instance: target.instance, service: target.service, ...health, ...(samples ? { samples } : {}) };
}

async function readHealth(url: string): Promise<Pick<TargetReading, 'health' | 'detail'>> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
    if (response.status === 200) {
      await response.body?.cancel();
      return { health: 'up' };
    }
    return { health: 'degraded', detail: describeUnhealthy(response.status, await response.text()) };
  } catch (error) {
    return { health: 'down', detail: reasonOf(error) };
  }
}

async function readMetrics(url: string) {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    return parsePrometheusText(await response.text());
  } catch {
    return undefined;
  }
}

/** `database: connection refused` from /health's `{ checks: { database: { status, error } } }`. */
function describeUnhealthy(status: number, body: string): string {
  try {
    const { checks } = JSON.parse(body) as { checks?: Record<string, { status: string; error?: string }> };
    const down = Object.entries(checks ?? {}).filter(([, check]) => check.status !== 'up');
    if (down.length > 0)
      return down.map(([name, check]) => `${name}: ${check.error ?? check.status}`).join('; ');
  } catch {
    // not the health shape: say what status came back
  }
  return `GET /health answered ${status}`;
}

function reasonOf(error: unknown): string {
  const { name, message, cause } = error as Error & { cause?: { code?: string } };
  if (name === 'TimeoutError') return `no answer within ${READ_TIMEOUT_MS} ms`;
  return cause?.code ?? message;
}
