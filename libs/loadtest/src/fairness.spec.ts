import fc from 'fast-check';
import { countInversions, fairnessOf } from './fairness';

/** Every pair compared: the O(n²) count the merge sort must agree with. */
const inversionsByPairs = (values: readonly number[]): number => {
  let count = 0;
  for (let i = 0; i < values.length; i++)
    for (let j = i + 1; j < values.length; j++) if (values[i] > values[j]) count++;
  return count;
};

describe('countInversions', () => {
  it('agrees with counting every pair, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 300 }), (values) => {
        expect(countInversions(values)).toBe(inversionsByPairs(values));
      }),
      { numRuns: 300 },
    );
  });

  it('is 0 for sorted values and n(n−1)/2 for reversed ones, and leaves its input alone', () => {
    const values = Array.from({ length: 1_001 }, (_, i) => i);
    expect(countInversions(values)).toBe(0);
    const reversed = [...values].reverse();
    expect(countInversions(reversed)).toBe((1_001 * 1_000) / 2);
    expect(reversed[0]).toBe(1_000);
    expect(countInversions([])).toBe(0);
  });
});

describe('fairnessOf', () => {
  it('first come, first served is tau 1; accepted in reverse is tau −1', () => {
    const inOrder = [1, 2, 3, 4].map((t) => ({ arrivedAtMs: t, acceptedAtMs: t * 10 }));
    expect(fairnessOf(inOrder)).toEqual({
      orders: 4,
      pairs: 6,
      inversions: 0,
      invertedShare: 0,
      kendallTau: 1,
    });
    const reversed = [1, 2, 3, 4].map((t) => ({ arrivedAtMs: t, acceptedAtMs: 100 - t }));
    expect(fairnessOf(reversed)).toMatchObject({ inversions: 6, invertedShare: 1, kendallTau: -1 });
  });

  it('ranks orders accepted at the same instant by the tie-break', () => {
    const tied = [
      { arrivedAtMs: 1, acceptedAtMs: 5, acceptedTieBreak: 9 },
      { arrivedAtMs: 2, acceptedAtMs: 5, acceptedTieBreak: 3 },
    ];
    expect(fairnessOf(tied).inversions).toBe(1);
  });

  it('has no share below two orders', () => {
    expect(fairnessOf([{ arrivedAtMs: 1, acceptedAtMs: 1 }]).invertedShare).toBeNaN();
  });

  it('agrees with the pairwise count in any order of acceptance', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ arrivedAtMs: fc.integer({ min: 0, max: 1000 }), acceptedAtMs: fc.integer() }), {
          maxLength: 200,
        }),
        (orders) => {
          const sorted = [...orders].sort(
            (a, b) => a.acceptedAtMs - b.acceptedAtMs || a.arrivedAtMs - b.arrivedAtMs,
          );
          expect(fairnessOf(orders).inversions).toBe(inversionsByPairs(sorted.map((o) => o.arrivedAtMs)));
        },
      ),
    );
  });
});
