// Paired comparison of two resolvers' latency runs. `npm run bench` interleaves the runs (each
// repeat runs every resolver once, in rotated order), so run i of one and run i of the other
// met nearly the same machine; their difference is steadier than the difference of two medians,
// whose spread on a 2-CPU host (one run's p99 0.16 ms, the next one's 1.38) hid gaps of 0.1 ms.

export interface PairedDifference {
  /** Pairs compared: those in which both values are finite (a run with no answers has a NaN p99). */
  n: number;
  /** Pairs left out because a value was not finite. */
  skipped: number;
  /** Median of a[i] - b[i]. */
  median: number;
  /**
   * A distribution-free confidence interval for that median (the sign test's: order statistics of
   * the sorted differences), with its exact coverage; undefined below 6 pairs, where no interval of
   * INTERVAL_LEVEL (95%) exists.
   */
  interval: { low: number; high: number; coverage: number } | undefined;
  /** Pairs in which a was no higher than b. */
  aNoHigher: number;
}

/** The coverage asked of every interval (the report's lines name it). */
export const INTERVAL_LEVEL = 0.95;

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // P(X = 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * The widest order-statistic rank k (1-based) whose interval [d(k), d(n-k+1)] covers the median with
 * at least `level`: coverage = 1 - 2 P(X <= k-1). Undefined when even [d(1), d(n)] falls short.
 */
export function signTestRank(n: number, level = INTERVAL_LEVEL): { k: number; coverage: number } | undefined {
  let best: { k: number; coverage: number } | undefined;
  for (let k = 1; k <= Math.floor(n / 2); k++) {
    const coverage = 1 - 2 * binomialHalfCdf(n, k - 1);
    if (coverage < level) break;
    best = { k, coverage };
  }
  return best;
}

function medianOfSorted(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * a[i] - b[i] for every i. Undefined when the series differ in length (a run missing in one of them
 * would pair every later run with the wrong one) or when no pair has two finite values.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference | undefined {
  if (a.length !== b.length) return undefined;
  const diffs: number[] = [];
  let aNoHigher = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (!Number.isFinite(d)) continue;
    diffs.push(d);
    if (d <= 0) aNoHigher++;
  }
  const n = diffs.length;
  if (n === 0) return undefined;
  diffs.sort((x, y) => x - y);
  const rank = signTestRank(n);
  const interval = rank === undefined ? undefined : { low: diffs[rank.k - 1] as number, high: diffs[n - rank.k] as number, coverage: rank.coverage };
  return { n, skipped: a.length - n, median: medianOfSorted(diffs), interval, aNoHigher };
}

/** How the interval reads against zero: above it, below it, or across it. */
export function verdict(d: PairedDifference): 'higher' | 'lower' | 'not told apart' {
  if (d.interval === undefined) return 'not told apart';
  if (d.interval.low > 0) return 'higher';
  if (d.interval.high < 0) return 'lower';
  return 'not told apart';
}
