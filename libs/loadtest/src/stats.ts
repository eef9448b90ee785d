import type { HistogramBucket, LatencySummary } from './flash-sale.results';

/** The p-th percentile (0-100) of ascending `sorted` values, nearest-rank method; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarise(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** Latency buckets that read well from 1 ms to 10 s; the last one is open-ended. */
export const LATENCY_BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];

export function histogram(values: readonly number[], bounds = LATENCY_BUCKET_BOUNDS_MS): HistogramBucket[] {
  const buckets: HistogramBucket[] = [
    ...bounds.map((upToMs) => ({ upToMs, count: 0 })),
    { upToMs: null, count: 0 },
  ];
  for (const value of values) {
    const index = bounds.findIndex((bound) => value <= bound);
    buckets[index === -1 ? bounds.length : index].count++;
  }
  return buckets;
}
