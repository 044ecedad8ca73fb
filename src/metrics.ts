// Prometheus metrics (dnsward_*). The query path only bumps plain numbers in the
// resolver; prom-client reads them at scrape time (collect), so scraping costs the
// hot path nothing.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ListRegistry } from './lists/registry.ts';
import { OUTCOMES } from './pipeline/context.ts';
import type { ResolverCore } from './resolver/core.ts';

export function createMetrics(core: ResolverCore, lists: ListRegistry): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dnsward_process_' });

  new Counter({
    name: 'dnsward_queries_total',
    help: 'Client queries answered, by segment, outcome and transport.',
    labelNames: ['segment', 'outcome', 'transport'],
    registers: [registry],
    collect() {
      this.reset();
      core.segments.forEach((segment) => {
        OUTCOMES.forEach((outcome, o) => {
          for (const [t, transport] of ['udp', 'tcp'].entries()) {
            const value = core.counters[(segment.index * OUTCOMES.length + o) * 2 + t] ?? 0;
            if (value > 0) this.inc({ segment: segment.name, outcome, transport }, value);
          }
        });
      });
    },
  });
  new Counter({
    name: 'dnsward_queries_dropped_total',
    help: 'Datagrams dropped without an answer (too short to parse, or QR=1).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.dropped);
    },
  });
  new Counter({
    name: 'dnsward_upstream_queries_total',
    help: 'Queries sent to upstreams, and their results.',
    labelNames: ['upstream', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of core.forwarder.pool.upstreams) {
        this.inc({ upstream: u.label, result: 'sent' }, u.sent);
        this.inc({ upstream: u.label, result: 'answered' }, u.answered);
        this.inc({ upstream: u.label, result: 'timeout' }, u.timeouts);
      }
    },
  });
  new Counter({
    name: 'dnsward_upstream_mismatched_total',
    help: 'Upstream replies dropped for a wrong source, ID, QR bit or question (RFC 5452).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.forwarder.pool.stats.mismatched);
    },
  });
  new Gauge({
    name: 'dnsward_upstream_up',
    help: '1 when the upstream is considered healthy.',
    labelNames: ['upstream'],
    registers: [registry],
    collect() {
      const now = Date.now();
      for (const u of core.forwarder.pool.upstreams) this.set({ upstream: u.label }, u.downUntil <= now ? 1 : 0);
    },
  });
  new Counter({
    name: 'dnsward_ratelimited_total',
    help: 'UDP queries over their client rate limit (answered TC=1 or dropped, per dns.rate_limit.action).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.rateLimiter.limited);
    },
  });
  new Counter({
    name: 'dnsward_upstream_coalesced_total',
    help: 'Cache misses that joined an identical question already in flight.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(core.forwarder.coalesced);
    },
  });
  new Gauge({
    name: 'dnsward_upstream_inflight',
    help: 'Distinct questions waiting for an upstream answer.',
    registers: [registry],
    collect() {
      this.set(core.forwarder.inflightCount);
    },
  });
  new Gauge({
    name: 'dnsward_cache_entries',
    help: 'Answers currently cached.',
    registers: [registry],
    collect() {
      this.set(core.cache.size);
    },
  });
  new Counter({
    name: 'dnsward_cache_lookups_total',
    help: 'Cache lookups by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, core.cache.stats.hits);
      this.inc({ result: 'miss' }, core.cache.stats.misses);
    },
  });
  new Gauge({
    name: 'dnsward_list_entries',
    help: 'Domains in each loaded list (after de-duplication and parent pruning).',
    labelNames: ['list', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const list of lists.all()) this.set({ list: list.name, version: list.version }, list.set?.size ?? list.domains.length);
    },
  });
  return registry;
}
