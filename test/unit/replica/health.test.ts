import { describe, expect, it } from 'vitest';
import type { AuditWriterStats } from '../../../src/audit/writer.ts';
import type { SourceStatus } from '../../../src/lists/sources.ts';
import { HealthMonitor, type HealthSources } from '../../../src/replica/health.ts';
import type { ResolverStats } from '../../../src/resolver/resolver.ts';

function resolverStats(upstreams: { label: string; up: boolean }[]): ResolverStats {
  return {
    queries: [],
    dropped: 0,
    rateLimited: 0,
    internalErrors: 0,
    cache: { hits: 0, misses: 0, inserts: 0, evictions: 0, entries: 0 },
    forwarder: { coalesced: 0, inflight: 0, mismatched: 0, upstreams: upstreams.map((u) => ({ ...u, transport: 'udp' as const, sent: 0, answered: 0, timeouts: 0, errors: 0 })), udp: { receivedBatches: 0, received: 0, sentBatches: 0, sent: 0, sendFailed: 0 } },
    policyGeneration: 3,
  };
}

const auditStats = (a: Partial<AuditWriterStats>): AuditWriterStats => ({ recorded: 0, written: 0, dropped: 0, buffered: 0, writeErrors: 0, checkpoints: 0, seq: 0, ...a });

function monitor(over: Partial<HealthSources> & { upstreams?: { label: string; up: boolean }[] } = {}) {
  let ready = true;
  const sources: HealthSources = {
    instance: 'a',
    version: '1.2.3',
    ready: () => ready,
    resolver: { stats: () => resolverStats(over.upstreams ?? [{ label: 'u1', up: true }]) },
    lists: () => [{ name: 'tiktok', version: 'v', entries: 3 }],
    ...over,
  };
  return { m: new HealthMonitor(sources), setReady: (r: boolean) => (ready = r) };
}

describe('HealthMonitor', () => {
  it('reports ok with instance, version, upstreams, lists and the policy generation', () => {
    const { m } = monitor();
    expect(m.report()).toEqual({
      status: 'ok',
      ready: true,
      instance: 'a',
      version: '1.2.3',
      degraded: [],
      upstreams: [{ upstream: 'u1', up: true }],
      lists: [{ name: 'tiktok', version: 'v', entries: 3 }],
      audit: undefined,
      redis: undefined,
      policyGeneration: 3,
    });
  });

  it('names upstreams down, and says when every one is', () => {
    expect(monitor({ upstreams: [{ label: 'u1', up: false }, { label: 'u2', up: true }] }).m.report().degraded).toEqual(['upstream u1 down']);
    expect(monitor({ upstreams: [{ label: 'u1', up: false }] }).m.report().degraded).toEqual(['every upstream is down: only blocked, cached and stale answers are given']);
  });

  it('tells a failing block log (write errors with events held) from a busy one', () => {
    let stats = auditStats({ buffered: 10, writeErrors: 0 });
    const { m } = monitor({ audit: { stats: () => stats } });
    expect(m.report().audit?.failing).toBe(false); // busy: events waiting, no error
    stats = auditStats({ buffered: 0, writeErrors: 2 }); // an old error, since cleared
    expect(m.report().status).toBe('ok');
    stats = auditStats({ buffered: 50, writeErrors: 3 });
    const report = m.report();
    expect(report.audit?.failing).toBe(true);
    expect(report.degraded).toEqual(['the block log cannot write: 50 events held in memory (check disk space and audit.dir)']);
    stats = auditStats({ buffered: 0, writeErrors: 3, dropped: 4 });
    expect(m.report().degraded).toEqual(['the block log dropped 4 events (buffer full)']);
  });

  it('reports stale and pending list sources, and Redis away', () => {
    const status = (lastOutcome: SourceStatus['lastOutcome'], lastError?: string): SourceStatus => ({ version: 'v', entries: 1, lastOutcome, lastError, lastCheck: undefined });
    const { m } = monitor({
      sources: () => ({ a: status('failed', 'HTTP 503'), b: status('cached'), c: status('pending'), d: status('unchanged') }),
      redis: () => ({ state: 'down', error: 'ECONNREFUSED' }),
    });
    expect(m.report().degraded).toEqual([
      'list a is stale: its last refresh failed (HTTP 503)',
      'list b is stale: serving the copy kept on disk until a fetch succeeds',
      'list c is not loaded yet',
      'redis is unreachable: answering from the local policy, spooling block-log events, refusing list changes',
    ]);
  });

  it('reports readiness as the replica says', () => {
    const { m, setReady } = monitor();
    setReady(false);
    expect(m.report()).toMatchObject({ ready: false, status: 'ok' });
  });
});
