// Prometheus metrics (dnsward_*). The query path only bumps plain numbers in the components
// that count them; at scrape time each metric reads the resolver's one stats() snapshot, so
// scraping costs the query path nothing and no module reads another's fields.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditWriterStats } from './audit/writer.ts';
import type { FleetStats } from './fleet/fleet.ts';
import type { ListRegistry } from './lists/registry.ts';
import type { SourceStatus } from './lists/sources.ts';
import type { ResolverStats } from './resolver/resolver.ts';
import type { BatchUdpStats } from './server/batch-udp-listener.ts';

export interface MetricsSources {
  resolver: { stats(): ResolverStats };
  /** Brings resolver.stats() up to date before a scrape reads it (DNS worker threads report on request). */
  refresh?: () => Promise<void>;
  lists: ListRegistry;
  /** The block log (absent when decisions go elsewhere, e.g. in tests). */
  audit?: { stats(): AuditWriterStats } | undefined;
  /** Subscribed sources by name. */
  sources?: () => Record<string, SourceStatus>;
  /** The fleet's shared state (absent: one replica on in-memory state). */
  fleet?: { stats(): FleetStats } | undefined;
  /** Batch counters of every UDP listener on the batched datagram path, DNS worker threads' included. */
  udp?: () => BatchUdpStats[];
}

export function createMetrics(sources: MetricsSources): Registry {
  const registry = new Registry();
  // prom-client's default metrics are named process_* and nodejs_*: prefixed dnsward_.
  collectDefaultMetrics({ register: registry, prefix: 'dnsward_' });
  // One stats() call per scrape, however many metrics read it.
  let cached: { at: number; stats: ResolverStats } | undefined;
  const stats = (): ResolverStats => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) cached = { at: now, stats: sources.resolver.stats() };
    return cached.stats;
  };
  // Metrics are collected concurrently: the first one of a scrape asks the workers, the rest wait for the same answer.
  let refreshing: { at: number; done: Promise<void> } | undefined;
  const fresh = async (): Promise<void> => {
    const refresh = sources.refresh;
    if (refresh === undefined) return;
    const now = Date.now();
    if (refreshing === undefined || now - refreshing.at > 100) {
      refreshing = { at: now, done: refresh().then(() => void (cached = undefined)) };
    }
    await refreshing.done;
  };
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      async collect() {
        await fresh();
        this.reset();
        this.inc(read());
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        await fresh();
        this.set(read());
      },
    });
  };
  /** A counter with a `direction` label: what was received and what was sent. */
  const directionCounter = (name: string, help: string, received: () => number, sent: () => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['direction'],
      registers: [registry],
      async collect() {
        await fresh();
        this.reset();
        this.inc({ direction: 'received' }, received());
        this.inc({ direction: 'sent' }, sent());
      },
    });
  };

  new Counter({
    name: 'dnsward_queries_total',
    help: 'Client queries answered, by segment, outcome and transport.',
    labelNames: ['segment', 'outcome', 'transport'],
    registers: [registry],
    async collect() {
      await fresh();
      this.reset();
      for (const q of stats().queries) this.inc({ segment: q.segment, outcome: q.outcome, transport: q.transport }, q.count);
    },
  });
  counter('dnsward_queries_dropped_total', 'Datagrams dropped without an answer (too short to parse, or QR=1).', () => stats().dropped);
  counter('dnsward_ratelimited_total', 'UDP queries over their client rate limit (answered TC=1 or dropped, per dns.rate_limit.action).', () => stats().rateLimited);
  counter('dnsward_internal_errors_total', 'Exceptions caught on the query path (answered SERVFAIL); a bug if not 0.', () => stats().internalErrors);
  new Counter({
    name: 'dnsward_upstream_queries_total',
    help: 'Queries sent to upstreams, and their results (error: refused, reset, TLS or HTTP failure, wrong answer).',
    labelNames: ['upstream', 'result'],
    registers: [registry],
    async collect() {
      await fresh();
      this.reset();
      for (const u of stats().forwarder.upstreams) {
        this.inc({ upstream: u.label, result: 'sent' }, u.sent);
        this.inc({ upstream: u.label, result: 'answered' }, u.answered);
        this.inc({ upstream: u.label, result: 'timeout' }, u.timeouts);
        this.inc({ upstream: u.label, result: 'error' }, u.errors);
      }
    },
  });
  counter('dnsward_upstream_mismatched_total', 'Upstream replies dropped for a wrong source, ID, QR bit or question (RFC 5452).', () => stats().forwarder.mismatched);
  new Gauge({
    name: 'dnsward_upstream_up',
    help: '1 when the upstream is considered healthy.',
    labelNames: ['upstream'],
    registers: [registry],
    async collect() {
      await fresh();
      this.reset();
      for (const u of stats().forwarder.upstreams) this.set({ upstream: u.label }, u.up ? 1 : 0);
    },
  });
  directionCounter(
    'dnsward_upstream_udp_batches_total',
    'Batches of the UDP upstream sockets on the batched datagram path: recvmmsg batches of replies (received), sendmmsg calls (sent). 0 on node:dgram.',
    () => stats().forwarder.udp.receivedBatches,
    () => stats().forwarder.udp.sentBatches,
  );
  directionCounter(
    'dnsward_upstream_udp_datagrams_total',
    'Datagrams of the UDP upstream sockets on the batched datagram path: replies received, queries sent. 0 on node:dgram.',
    () => stats().forwarder.udp.received,
    () => stats().forwarder.udp.sent,
  );
  counter('dnsward_upstream_udp_send_failed_total', 'Queries the batched UDP upstream sockets could not send (the attempt then times out and goes to the next upstream).', () => stats().forwarder.udp.sendFailed);
  counter('dnsward_upstream_coalesced_total', 'Cache misses that joined an identical question already in flight.', () => stats().forwarder.coalesced);
  gauge('dnsward_upstream_inflight', 'Distinct questions waiting for an upstream answer.', () => stats().forwarder.inflight);
  gauge('dnsward_cache_entries', 'Answers currently cached.', () => stats().cache.entries);
  new Counter({
    name: 'dnsward_cache_lookups_total',
    help: 'Cache lookups by result.',
    labelNames: ['result'],
    registers: [registry],
    async collect() {
      await fresh();
      this.reset();
      const cache = stats().cache;
      this.inc({ result: 'hit' }, cache.hits);
      this.inc({ result: 'miss' }, cache.misses);
    },
  });
  const udp = sources.udp;
  if (udp !== undefined) {
    // One read of the listeners per scrape, like stats(), however many of the four metrics sum it.
    let read: { at: number; listeners: BatchUdpStats[] } | undefined;
    const sum = (field: keyof BatchUdpStats): number => {
      const now = Date.now();
      if (read === undefined || now - read.at > 100) read = { at: now, listeners: udp() };
      return read.listeners.reduce((total, listener) => total + listener[field], 0);
    };
    directionCounter('dnsward_udp_batches_total', 'Batches of the batched datagram path: recvmmsg batches handed to the resolver (received), sendmmsg calls (sent).', () => sum('batches'), () => sum('sendBatches'));
    directionCounter('dnsward_udp_datagrams_total', 'Datagrams through the batched datagram path: queries received, answers sent.', () => sum('datagrams'), () => sum('sent'));
    counter('dnsward_udp_send_failed_total', 'Answers the batched datagram path could not send (send buffer full, unreachable, too big): those clients got no answer.', () => sum('sendFailed'));
    counter('dnsward_udp_receive_dropped_total', 'Datagrams the batched datagram path dropped unread (truncated, or a sender it could not read).', () => sum('receiveDropped'));
  }
  gauge('dnsward_policy_generation', 'Generation of the policy snapshot in force (goes up on every list change or reload).', () => stats().policyGeneration);
  new Gauge({
    name: 'dnsward_list_entries',
    help: 'Domains in each loaded list (after de-duplication and parent pruning).',
    labelNames: ['list', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const list of sources.lists.all()) this.set({ list: list.name, version: list.version }, list.set?.size ?? list.domains.length);
    },
  });
  new Gauge({
    name: 'dnsward_list_guarded_entries',
    help: 'Entries of each list in force that are not enforced because they would block a never-block.txt name (shared infrastructure).',
    labelNames: ['list'],
    registers: [registry],
    collect() {
      this.reset();
      for (const list of sources.lists.all()) this.set({ list: list.name }, list.guarded?.length ?? 0);
    },
  });
  const audit = sources.audit;
  if (audit) {
    counter('dnsward_audit_events_written_total', 'Block-log events durably written.', () => audit.stats().written);
    counter('dnsward_audit_dropped_total', 'Block-log events dropped because the buffer was full (signed into the next checkpoint).', () => audit.stats().dropped);
    counter('dnsward_audit_write_errors_total', 'Failed block-log writes (disk full, permissions); events are kept and retried.', () => audit.stats().writeErrors);
    gauge('dnsward_audit_buffered_events', 'Block-log events accepted but not yet on disk; growing while writes fail.', () => audit.stats().buffered);
  }
  const fleet = sources.fleet;
  if (fleet) {
    gauge('dnsward_redis_up', '1 while Redis (the shared state) answers; 0 while the replica runs on its local state and spools.', () => (fleet.stats().redisUp ? 1 : 0));
    gauge('dnsward_audit_spooled_events', 'Block-log events on disk not yet in the fleet-wide stream (growing while Redis is away).', () => fleet.stats().spooled);
    counter('dnsward_audit_stream_shipped_total', 'Block-log events this process appended to the fleet-wide stream.', () => fleet.stats().shipped);
    new Counter({
      name: 'dnsward_audit_stream_spans_total',
      help: 'Spans (runs of whole block-log writes) appended to the fleet-wide stream: from="live" as the writer handed them over, from="files" read back from disk (after a start, a Redis outage, or when shipping fell behind).',
      labelNames: ['from'],
      registers: [registry],
      collect() {
        this.reset();
        const spans = fleet.stats().streamSpans;
        this.inc({ from: 'live' }, spans.live);
        this.inc({ from: 'files' }, spans.files);
      },
    });
    gauge('dnsward_fleet_replicas', 'Live replicas in the last heartbeat round (this one included).', () => fleet.stats().liveReplicas);
    gauge('dnsward_change_log_seq', 'Records of the admin change log applied here (equal on every replica once a change is in force).', () => fleet.stats().changesSeq);
    counter('dnsward_witness_records_total', "Other replicas' signed checkpoints this process recorded in its witness log.", () => fleet.stats().witnessRecords);
  }
  const listSources = sources.sources;
  if (listSources) {
    new Gauge({
      name: 'dnsward_list_source_stale',
      help: '1 when a subscribed list is not fresh: its last refresh failed, it runs on the copy kept on disk, or it never loaded.',
      labelNames: ['list'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, status] of Object.entries(listSources())) this.set({ list: name }, status.lastOutcome === 'loaded' || status.lastOutcome === 'unchanged' ? 0 : 1);
      },
    });
  }
  return registry;
}
