// The resolver's stats summed over threads: the main thread's resolver (TCP, DoT, DoH) and
// each DNS worker's (UDP), so /metrics, health and the dashboard count the whole process.
import type { QueryCount } from '../pipeline/counters.ts';
import type { UpstreamState } from './forwarder.ts';
import type { ResolverStats } from './resolver.ts';
import { noDatagramCounts } from './upstream-socket.ts';

/** `parts[0]` is the main thread's: its policy generation is the one reported. */
export function sumResolverStats(parts: readonly ResolverStats[]): ResolverStats {
  const [first, ...rest] = parts;
  if (first === undefined) throw new RangeError('sumResolverStats needs at least one part');
  const queries = new Map<string, QueryCount>();
  const upstreams = new Map<string, UpstreamState>();
  const total: ResolverStats = {
    queries: [],
    dropped: 0,
    rateLimited: 0,
    internalErrors: 0,
    cache: { hits: 0, misses: 0, inserts: 0, evictions: 0, entries: 0 },
    forwarder: { coalesced: 0, inflight: 0, mismatched: 0, upstreams: [], udp: noDatagramCounts() },
    policyGeneration: first.policyGeneration,
  };
  for (const part of [first, ...rest]) {
    for (const q of part.queries) {
      const key = `${q.segment}\n${q.outcome}\n${q.transport}`;
      const seen = queries.get(key);
      if (seen) seen.count += q.count;
      else queries.set(key, { ...q });
    }
    total.dropped += part.dropped;
    total.rateLimited += part.rateLimited;
    total.internalErrors += part.internalErrors;
    for (const k of ['hits', 'misses', 'inserts', 'evictions', 'entries'] as const) total.cache[k] += part.cache[k];
    for (const k of ['coalesced', 'inflight', 'mismatched'] as const) total.forwarder[k] += part.forwarder[k];
    for (const k of ['receivedBatches', 'received', 'sentBatches', 'sent', 'sendFailed'] as const) total.forwarder.udp[k] += part.forwarder.udp[k];
    for (const u of part.forwarder.upstreams) {
      const seen = upstreams.get(u.label);
      if (seen === undefined) upstreams.set(u.label, { ...u });
      else {
        seen.sent += u.sent;
        seen.answered += u.answered;
        seen.timeouts += u.timeouts;
        seen.errors += u.errors;
        // Down when any thread finds it down (each judges from its own sockets; an idle one always says up).
        seen.up &&= u.up;
      }
    }
  }
  total.queries = [...queries.values()];
  total.forwarder.upstreams = [...upstreams.values()];
  return total;
}
