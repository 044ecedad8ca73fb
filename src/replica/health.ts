// What /healthz and /readyz report: whether this replica can answer and is ready, and every
// degradation an operator should see without reading the process log: upstreams down, Redis
// away, list sources stale, a block log that cannot write.
//
// Readiness does not depend on the upstreams. When every upstream is down, each replica
// still answers blocked names, cached names and (RFC 8767) stale ones; were readiness to
// fail then, Kubernetes would take every replica out of service at once and clients would get
// nothing at all. Upstream trouble is reported as a degradation instead (docs/OPERATIONS.md).
import type { AuditWriterStats } from '../audit/writer.ts';
import type { SourceStatus } from '../lists/sources.ts';
import type { ResolverStats } from '../resolver/resolver.ts';

export interface HealthSources {
  instance: string;
  version: string;
  /** Listeners bound and lists loaded. */
  ready(): boolean;
  resolver: { stats(): ResolverStats };
  audit?: { stats(): AuditWriterStats } | undefined;
  /** Subscribed sources by name (absent when none are configured). */
  sources?: () => Record<string, SourceStatus>;
  /** Shared state (absent: one replica on in-memory state); spooled: block-log events waiting for the stream. */
  redis?: () => { state: 'up' | 'down' | 'connecting'; error?: string | undefined; spooled?: number };
  /** The fleet's own degradations (a change log that cannot be followed, a contradicted peer, ...). */
  fleet?: () => string[];
  lists(): { name: string; version: string; entries: number }[];
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  ready: boolean;
  instance: string;
  version: string;
  /** One sentence per degradation, empty when all is well. */
  degraded: string[];
  upstreams: { upstream: string; up: boolean }[];
  lists: { name: string; version: string; entries: number; source?: SourceStatus }[];
  audit: { written: number; buffered: number; dropped: number; writeErrors: number; failing: boolean } | undefined;
  redis: { state: 'up' | 'down' | 'connecting'; error?: string | undefined; spooled?: number } | undefined;
  policyGeneration: number;
}

/** Builds health reports; keeps the little state needed to tell a failing block log from a busy one. */
export class HealthMonitor {
  private readonly sources: HealthSources;
  /** Block-log write errors counted when nothing was held back: errors beyond it, with events held, mean failing. */
  private writeErrorsWhenClear = 0;

  constructor(sources: HealthSources) {
    this.sources = sources;
  }

  report(): HealthReport {
    const s = this.sources;
    const degraded: string[] = [];
    const stats = s.resolver.stats();
    const upstreams = stats.forwarder.upstreams.map((u) => ({ upstream: u.label, up: u.up }));
    const down = upstreams.filter((u) => !u.up);
    if (down.length === upstreams.length && upstreams.length > 0) degraded.push('every upstream is down: only blocked, cached and stale answers are given');
    else if (down.length > 0) degraded.push(`upstream ${down.map((u) => u.upstream).join(', ')} down`);

    const sourceStatus = s.sources?.() ?? {};
    const lists = s.lists().map((l) => {
      const source = sourceStatus[l.name];
      return source ? { ...l, source } : l;
    });
    for (const [name, status] of Object.entries(sourceStatus)) {
      if (status.lastOutcome === 'failed') degraded.push(`list ${name} is stale: its last refresh failed (${status.lastError ?? 'unknown error'})`);
      else if (status.lastOutcome === 'cached') degraded.push(`list ${name} is stale: serving the copy kept on disk until a fetch succeeds`);
      else if (status.lastOutcome === 'pending') degraded.push(`list ${name} is not loaded yet`);
    }

    let audit: HealthReport['audit'];
    if (s.audit) {
      const a = s.audit.stats();
      if (a.buffered === 0) this.writeErrorsWhenClear = a.writeErrors;
      const failing = a.buffered > 0 && a.writeErrors > this.writeErrorsWhenClear;
      if (failing) degraded.push(`the block log cannot write: ${a.buffered} events held in memory (check disk space and audit.dir)`);
      if (a.dropped > 0) degraded.push(`the block log dropped ${a.dropped} events (buffer full)`);
      audit = { written: a.written, buffered: a.buffered, dropped: a.dropped, writeErrors: a.writeErrors, failing };
    }

    const redis = s.redis?.();
    if (redis && redis.state !== 'up') {
      const spooled = redis.spooled ? ` (${redis.spooled} waiting)` : '';
      degraded.push(`redis is ${redis.state === 'down' ? 'unreachable' : 'connecting'}: answering from the local policy, spooling block-log events${spooled}, refusing list changes`);
    }
    degraded.push(...(s.fleet?.() ?? []));

    return {
      status: degraded.length === 0 ? 'ok' : 'degraded',
      ready: s.ready(),
      instance: s.instance,
      version: s.version,
      degraded,
      upstreams,
      lists,
      audit,
      redis,
      policyGeneration: stats.policyGeneration,
    };
  }
}
