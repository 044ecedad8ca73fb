import { describe, expect, it } from 'vitest';
import { ListRegistry } from '../../src/lists/registry.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { ResolverStats } from '../../src/resolver/resolver.ts';

const STATS: ResolverStats = {
  queries: [
    { segment: 'service', outcome: 'blocked', transport: 'udp', count: 3 },
    { segment: 'personal', outcome: 'logged', transport: 'tcp', count: 2 },
  ],
  dropped: 4,
  rateLimited: 5,
  internalErrors: 0,
  cache: { hits: 6, misses: 7, inserts: 1, evictions: 0, entries: 8 },
  forwarder: { coalesced: 9, inflight: 1, mismatched: 2, upstreams: [{ label: '192.0.2.53:53', transport: 'udp', up: false, sent: 10, answered: 8, timeouts: 2, errors: 1 }], udp: { receivedBatches: 3, received: 13, sentBatches: 4, sent: 14, sendFailed: 1 } },
  policyGeneration: 12,
};

describe('createMetrics', () => {
  it('exposes the resolver stats as dnsward_* metrics, read at scrape time', async () => {
    let calls = 0;
    const lists = new ListRegistry();
    lists.set({ name: 'tiktok', title: 't', description: '', version: 'abc', lastModified: new Date(0), domains: ['tiktok.com', 'tiktokv.com'] });
    const registry = createMetrics({ resolver: { stats: () => (calls++, STATS) }, lists });
    expect(calls).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain('dnsward_queries_total{segment="service",outcome="blocked",transport="udp"} 3');
    expect(text).toContain('dnsward_queries_total{segment="personal",outcome="logged",transport="tcp"} 2');
    expect(text).toContain('dnsward_queries_dropped_total 4');
    expect(text).toContain('dnsward_ratelimited_total 5');
    expect(text).toContain('dnsward_upstream_queries_total{upstream="192.0.2.53:53",result="timeout"} 2');
    expect(text).toContain('dnsward_upstream_queries_total{upstream="192.0.2.53:53",result="error"} 1');
    expect(text).toContain('dnsward_upstream_up{upstream="192.0.2.53:53"} 0');
    expect(text).toContain('dnsward_upstream_udp_batches_total{direction="received"} 3');
    expect(text).toContain('dnsward_upstream_udp_batches_total{direction="sent"} 4');
    expect(text).toContain('dnsward_upstream_udp_datagrams_total{direction="received"} 13');
    expect(text).toContain('dnsward_upstream_udp_datagrams_total{direction="sent"} 14');
    expect(text).toContain('dnsward_upstream_udp_send_failed_total 1');
    expect(text).toContain('dnsward_cache_entries 8');
    expect(text).toContain('dnsward_cache_lookups_total{result="hit"} 6');
    expect(text).toContain('dnsward_policy_generation 12');
    expect(text).toContain('dnsward_list_entries{list="tiktok",version="abc"} 2');
    // One stats() per scrape, not one per metric.
    expect(calls).toBe(1);
  });

  it('brings the stats up to date once per scrape before reading them (DNS worker threads report on request)', async () => {
    let refreshed = 0;
    let current = STATS;
    const registry = createMetrics({
      resolver: { stats: () => current },
      refresh: async () => {
        refreshed++;
        await new Promise((r) => setImmediate(r));
        current = { ...STATS, dropped: 40 + refreshed };
      },
      lists: new ListRegistry(),
    });
    const text = await registry.metrics();
    expect(refreshed).toBe(1);
    expect(text).toContain('dnsward_queries_dropped_total 41');
  });

  it('exposes the block log and subscribed sources when given', async () => {
    const text = await createMetrics({
      resolver: { stats: () => STATS },
      lists: new ListRegistry(),
      audit: { stats: () => ({ recorded: 10, written: 7, dropped: 1, buffered: 3, writeErrors: 2, checkpoints: 1, seq: 7 }) },
      sources: () => ({
        partner: { version: 'v', entries: 5, lastOutcome: 'failed', lastError: 'HTTP 500', lastCheck: undefined },
        fresh: { version: 'w', entries: 5, lastOutcome: 'unchanged', lastError: undefined, lastCheck: undefined },
      }),
    }).metrics();
    expect(text).toContain('dnsward_audit_events_written_total 7');
    expect(text).toContain('dnsward_audit_dropped_total 1');
    expect(text).toContain('dnsward_audit_write_errors_total 2');
    expect(text).toContain('dnsward_audit_buffered_events 3');
    expect(text).toContain('dnsward_list_source_stale{list="partner"} 1');
    expect(text).toContain('dnsward_list_source_stale{list="fresh"} 0');
  });

  it('sums the batched datagram counters of every UDP listener, and has none without the source', async () => {
    const listener = (n: number) => ({ batches: n, datagrams: 10 * n, sendBatches: 2 * n, sent: 9 * n, sendFailed: n, receiveDropped: 3 * n });
    const text = await createMetrics({ resolver: { stats: () => STATS }, lists: new ListRegistry(), udp: () => [listener(1), listener(2)] }).metrics();
    expect(text).toContain('dnsward_udp_batches_total{direction="received"} 3');
    expect(text).toContain('dnsward_udp_batches_total{direction="sent"} 6');
    expect(text).toContain('dnsward_udp_datagrams_total{direction="received"} 30');
    expect(text).toContain('dnsward_udp_datagrams_total{direction="sent"} 27');
    expect(text).toContain('dnsward_udp_send_failed_total 3');
    expect(text).toContain('dnsward_udp_receive_dropped_total 9');
    const without = await createMetrics({ resolver: { stats: () => STATS }, lists: new ListRegistry() }).metrics();
    expect(without).not.toContain('dnsward_udp_');
  });

  it('prefixes Node and process metrics once: dnsward_process_*, never dnsward_process_process_*', async () => {
    const text = await createMetrics({ resolver: { stats: () => STATS }, lists: new ListRegistry() }).metrics();
    expect(text).toMatch(/^dnsward_process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^dnsward_nodejs_heap_size_total_bytes /m);
    expect(text).not.toContain('process_process_');
    for (const line of text.split('\n')) if (line && !line.startsWith('#')) expect(line.startsWith('dnsward_')).toBe(true);
  });
});
