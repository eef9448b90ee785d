/** How far the order in which orders were accepted strays from the order their requests arrived in. */
export interface Fairness {
  /** Accepted orders compared. */
  orders: number;
  /** n·(n−1)/2. */
  pairs: number;
  /** Pairs accepted in the opposite order of their arrival. */
  inversions: number;
  /** inversions ÷ pairs (0: first come, first served; NaN below two orders). */
  invertedShare: number;
  /** Kendall's tau = 1 − 2 · inversions ÷ pairs (1: same order, −1: reversed). */
  kendallTau: number;
}

/** One accepted order: when its request was sent, and when (then by what) it was accepted. */
export interface ArrivalAndAcceptance {
  arrivedAtMs: number;
  acceptedAtMs: number;
  /** Orders accepted at the same instant are ranked by this (queued: when the client saw `placed`). */
  acceptedTieBreak?: number;
}

/**
 * Pairs i < j with values[i] > values[j], by merge sort: O(n log n), so 20,000 orders cost
 * milliseconds where counting every pair would cost 200 million comparisons. Equal values are no
 * inversion.
 */
export function countInversions(values: readonly number[]): number {
  let from = [...values];
  let to = new Array<number>(from.length);
  let inversions = 0;
  for (let width = 1; width < from.length; width *= 2) {
    for (let start = 0; start < from.length; start += 2 * width) {
      const middle = Math.min(start + width, from.length);
      const end = Math.min(start + 2 * width, from.length);
      let [left, right, out] = [start, middle, start];
      while (left < middle && right < end) {
        if (from[right] < from[left]) {
          // Every value left in the left run is greater than this one and came before it.
          inversions += middle - left;
          to[out++] = from[right++];
        } else to[out++] = from[left++];
      }
      while (left < middle) to[out++] = from[left++];
      while (right < end) to[out++] = from[right++];
    }
    [from, to] = [to, from];
  }
  return inversions;
}

/** Arrival order against acceptance order among accepted orders: the share of inverted pairs and tau. */
export function fairnessOf(orders: readonly ArrivalAndAcceptance[]): Fairness {
  const accepted = [...orders].sort(
    (a, b) =>
      a.acceptedAtMs - b.acceptedAtMs ||
      (a.acceptedTieBreak ?? 0) - (b.acceptedTieBreak ?? 0) ||
      a.arrivedAtMs - b.arrivedAtMs,
  );
  const pairs = (orders.length * (orders.length - 1)) / 2;
  const inversions = countInversions(accepted.map((order) => order.arrivedAtMs));
  const invertedShare = pairs > 0 ? inversions / pairs : Number.NaN;
  return { orders: orders.length, pairs, inversions, invertedShare, kendallTau: 1 - 2 * invertedShare };
}
