// Paired differences of interleaved runs and the sign test's interval for their median.
import { describe, expect, it } from 'vitest';
import { pairedDifference, signTestRank, verdict } from '../../../bench/lib/paired.ts';

describe('signTestRank', () => {
  it('has no 95% interval below 6 pairs: even the extremes cover only 1 - 2/2^n', () => {
    expect(signTestRank(5)).toBeUndefined();
    expect(signTestRank(6)).toEqual({ k: 1, coverage: 1 - 2 / 64 });
  });

  it('picks the widest rank whose coverage stays at or above the level (tables: n 15 -> 4, n 20 -> 6)', () => {
    // n = 15: P(X <= 3) = (1 + 15 + 105 + 455) / 2^15, coverage 96.5%; with P(X <= 4) (adding 1365) the coverage falls to 88.2%.
    expect(signTestRank(15)).toEqual({ k: 4, coverage: 1 - (2 * 576) / 32768 });
    expect(signTestRank(20)?.k).toBe(6);
    expect(signTestRank(20, 0.99)?.k).toBe(4);
  });
});

describe('pairedDifference', () => {
  it('pairs run i with run i, not sorted values with sorted values', () => {
    // Sorted separately the two series are equal (a median difference of 0); paired, a is 0.1 above b in five
    // runs and 0.5 below it in one.
    const a = [0.3, 0.4, 0.5, 0.6, 0.7, 0.2];
    const b = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    const d = pairedDifference(a, b);
    expect(d?.n).toBe(6);
    expect(d?.median).toBeCloseTo(0.1, 12);
    expect(d?.interval?.low).toBeCloseTo(-0.5, 12);
    expect(d?.interval?.high).toBeCloseTo(0.1, 12);
    expect(d?.aNoHigher).toBe(1);
    expect(d && verdict(d)).toBe('not told apart');
    const shifted = pairedDifference(b.map((x) => x + 0.1), b);
    expect(shifted && verdict(shifted)).toBe('higher');
    const swapped = shifted && pairedDifference(b, b.map((x) => x + 0.1));
    expect(swapped && verdict(swapped)).toBe('lower');
    expect(swapped?.aNoHigher).toBe(6);
  });

  it('takes the order statistics d(k) and d(n-k+1) as the interval, and the middle two for an even median', () => {
    const diffs = [-0.3, 0.05, -0.1, 0.2, 0.0, 0.4, -0.05, 0.1, 0.15, -0.2, 0.3, 0.25, 0.02, -0.02, 0.5];
    const d = pairedDifference(diffs, diffs.map(() => 0));
    // Sorted: -0.3 -0.2 -0.1 -0.05 -0.02 0 0.02 0.05 0.1 0.15 0.2 0.25 0.3 0.4 0.5; k = 4.
    expect(d?.median).toBe(0.05);
    expect(d?.interval).toMatchObject({ low: -0.05, high: 0.25 });
    expect(d?.aNoHigher).toBe(6);
    expect(d && verdict(d)).toBe('not told apart');
    expect(pairedDifference([1, 2, 3, 4], [0, 0, 0, 0])?.median).toBe(2.5);
  });

  it('refuses series of different lengths: a missing run would pair every later run with the wrong one', () => {
    expect(pairedDifference([1, 1, 1], [0, 0, 0, 0, 0])).toBeUndefined();
    expect(pairedDifference([], [1])).toBeUndefined();
    expect(pairedDifference([], [])).toBeUndefined();
  });

  it('leaves out pairs without two finite values (a run with no answers has a NaN p99), and reads too few as not told apart', () => {
    const d = pairedDifference([1, Number.NaN, 1, 1], [0, 0, Number.POSITIVE_INFINITY, 0]);
    expect(d).toMatchObject({ n: 2, skipped: 2, median: 1, aNoHigher: 0 });
    expect(d?.interval).toBeUndefined();
    expect(d && verdict(d)).toBe('not told apart');
    expect(pairedDifference([Number.NaN], [0])).toBeUndefined();
  });
});
