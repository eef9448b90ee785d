import type { PrometheusSample } from '@shop/service-kit';

/** Every instance's parsed /metrics at one moment (an instance whose scrape failed is absent). */
export interface ScrapeTick {
  atMs: number;
  byInstance: ReadonlyMap<string, readonly PrometheusSample[]>;
}

/** A label must equal the value, or be one of the values when a list is given. */
export type LabelFilter = Record<string, string | readonly string[]>;

function matches(sample: PrometheusSample, name: string, labels: LabelFilter): boolean {
  if (sample.name !== name) return false;
  for (const [label, wanted] of Object.entries(labels)) {
    const value = sample.labels[label];
    if (typeof wanted === 'string' ? value !== wanted : !wanted.includes(value)) return false;
  }
  return true;
}

/** The sum of the matching samples' values, or undefined when none matches. */
export function sumOf(
  samples: readonly PrometheusSample[],
  name: string,
  labels: LabelFilter = {},
): number | undefined {
  let total: number | undefined;
  for (const sample of samples) {
    if (matches(sample, name, labels) && !Number.isNaN(sample.value)) total = (total ?? 0) + sample.value;
  }
  return total;
}

/** The sum over the instances of the latest tick (a counter's total, a gauge's sum), or null. */
export function latestSum(
  ticks: readonly ScrapeTick[],
  name: string,
  labels: LabelFilter = {},
): number | null {
  return latestAcross(ticks, name, labels, (a, b) => a + b);
}

/**
 * The largest value any instance reports now: for a gauge every replica reads from the same database
 * (the outbox backlog, orders by status), which summing would count once per replica.
 */
export function latestMax(
  ticks: readonly ScrapeTick[],
  name: string,
  labels: LabelFilter = {},
): number | null {
  return latestAcross(ticks, name, labels, Math.max);
}

/** Each instance's value in the latest tick, combined; null when no instance reports the series. */
function latestAcross(
  ticks: readonly ScrapeTick[],
  name: string,
  labels: LabelFilter,
  combine: (a: number, b: number) => number,
): number | null {
  let result: number | null = null;
  for (const samples of ticks.at(-1)?.byInstance.values() ?? []) {
    const value = sumOf(samples, name, labels);
    if (value !== undefined) result = result === null ? value : combine(result, value);
  }
  return result;
}

/**
 * Per-second rate of a counter over the ticks: per instance from its first to its last reading in the
 * window, summed over the instances. A counter that went down restarted with its process, so its
 * current value is the increase since then (as Prometheus' rate() reads a reset). A labelled series
 * appears on its first increment, so an instance that was read but lacks it counts 0. Null when no
 * instance was read twice.
 */
export function counterRate(
  ticks: readonly ScrapeTick[],
  name: string,
  labels: LabelFilter = {},
): number | null {
  const latest = ticks.at(-1);
  if (!latest) return null;
  let rate: number | null = null;
  for (const [instance, samples] of latest.byInstance) {
    const first = ticks.find((tick) => tick.byInstance.has(instance));
    if (!first || first === latest) continue;
    const before = sumOf(first.byInstance.get(instance)!, name, labels) ?? 0;
    const now = sumOf(samples, name, labels) ?? 0;
    const increase = now >= before ? now - before : now;
    rate = (rate ?? 0) + (increase * 1000) / (latest.atMs - first.atMs);
  }
  return rate;
}

/** One cumulative bucket of a Prometheus histogram: observations ≤ `le`. */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of a histogram's cumulative buckets, interpolated linearly inside the bucket it falls
 * in, the way Prometheus' histogram_quantile() does: the +Inf bucket answers with the highest finite
 * bound. Null when the histogram holds no observation.
 */
export function histogramQuantile(q: number, buckets: readonly CumulativeBucket[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/**
 * The q-quantile of what a histogram observed during the ticks (`name` without `_bucket`): each
 * instance's bucket counts at the window's end minus its start, added up over the instances.
 */
export function windowQuantile(
  ticks: readonly ScrapeTick[],
  name: string,
  labels: LabelFilter,
  q: number,
): number | null {
  const latest = ticks.at(-1);
  if (!latest) return null;
  const increase = new Map<number, number>();
  for (const [instance, samples] of latest.byInstance) {
    const first = ticks.find((tick) => tick.byInstance.has(instance));
    if (!first || first === latest) continue;
    const now = bucketsOf(samples, `${name}_bucket`, labels);
    const before = bucketsOf(first.byInstance.get(instance)!, `${name}_bucket`, labels);
    const restarted = [...now].some(([le, count]) => count < (before.get(le) ?? 0));
    for (const [le, count] of now) {
      increase.set(le, (increase.get(le) ?? 0) + count - (restarted ? 0 : (before.get(le) ?? 0)));
    }
  }
  return histogramQuantile(
    q,
    [...increase].map(([le, count]) => ({ le, count })),
  );
}

/** Cumulative count per bucket bound, summed over the matching series (several routes, outcomes). */
function bucketsOf(
  samples: readonly PrometheusSample[],
  bucketName: string,
  labels: LabelFilter,
): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const sample of samples) {
    if (!matches(sample, bucketName, labels)) continue;
    const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
  }
  return buckets;
}
