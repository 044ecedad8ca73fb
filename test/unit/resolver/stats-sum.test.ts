import { describe, expect, it } from 'vitest';
import type { ResolverStats } from '../../../src/resolver/resolver.ts';
import { sumResolverStats } from '../../../src/resolver/stats-sum.ts';

function stats(n: number, up: boolean, generation: number): ResolverStats {
  return {
    queries: [
      { segment: 'service', outcome: 'blocked', transport: 'udp', count: n },
      { segment: `only${n}`, outcome: 'forwarded', transport: 'tcp', count: 1 },
    ],
    dropped: n,
    rateLimited: 2 * n,
    internalErrors: 0,
    cache: { hits: n, misses: 1, inserts: 1, evictions: 0, entries: 10 },
    forwarder: { coalesced: 1, inflight: n, mismatched: 0, upstreams: [{ label: 'u:53', transport: 'udp', up, sent: n, answered: n - 1, timeouts: 1, errors: n }], udp: { receivedBatches: n, received: 2 * n, sentBatches: n, sent: 3 * n, sendFailed: 0 } },
    policyGeneration: generation,
  };
}

describe('sumResolverStats', () => {
  it('adds every count over the threads, keeps the main thread generation, and marks an upstream down when any thread does', () => {
    const total = sumResolverStats([stats(3, true, 7), stats(5, false, 2), stats(1, true, 2)]);
    expect(total.queries).toEqual([
      { segment: 'service', outcome: 'blocked', transport: 'udp', count: 9 },
      { segment: 'only3', outcome: 'forwarded', transport: 'tcp', count: 1 },
      { segment: 'only5', outcome: 'forwarded', transport: 'tcp', count: 1 },
      { segment: 'only1', outcome: 'forwarded', transport: 'tcp', count: 1 },
    ]);
    expect([total.dropped, total.rateLimited, total.internalErrors]).toEqual([9, 18, 0]);
    expect(total.cache).toEqual({ hits: 9, misses: 3, inserts: 3, evictions: 0, entries: 30 });
    expect(total.forwarder).toEqual({ coalesced: 3, inflight: 9, mismatched: 0, upstreams: [{ label: 'u:53', transport: 'udp', up: false, sent: 9, answered: 6, timeouts: 3, errors: 9 }], udp: { receivedBatches: 9, received: 18, sentBatches: 9, sent: 27, sendFailed: 0 } });
    expect(total.policyGeneration).toBe(7);
  });

  it('leaves its inputs untouched, and returns one thread as it is', () => {
    const one = stats(2, true, 1);
    const copy = structuredClone(one);
    sumResolverStats([one, stats(4, true, 1)]);
    expect(one).toEqual(copy);
    expect(sumResolverStats([one])).toEqual(copy);
    expect(() => sumResolverStats([])).toThrow(RangeError);
  });
});
