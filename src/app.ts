// Builds and starts one dnsward replica from a validated config: lists and their sources,
// the block log, the resolver with its policy, DNS listeners, and the two HTTP listeners
// (public feed, private API). reload() re-reads config and lists without a restart; stop()
// undoes everything in reverse order.
import { availableParallelism } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type AuditSink, createAuditReader, createAuditSink } from './audit/index.ts';
import type { DecisionSink } from './audit/types.ts';
import { checkSegmentLists } from './config/lists-check.ts';
import type { Config } from './config/schema.ts';
import { DEFAULT_PORTS } from './config/sections/http.ts';
import { resolveUpstreams } from './config/upstreams.ts';
import { Fleet } from './fleet/fleet.ts';
import { buildPrivateApp } from './http/app.ts';
import type { HttpDeps, ReloadResult } from './http/deps.ts';
import { type FeedThread, startFeed } from './http/feed-thread.ts';
import { readTls, swapTls, type TlsMaterial } from './http/listener.ts';
import { loadNeverBlock } from './lists/guard.ts';
import { loadListDir } from './lists/list-file.ts';
import { loadNetworkListDir } from './lists/network-list.ts';
import { NetworkListRegistry } from './lists/network-registry.ts';
import { ListRegistry } from './lists/registry.ts';
import { useSharedMemory } from './lists/set-memory.ts';
import type { ListSources, SourceShare } from './lists/sources.ts';
import { createMetrics } from './metrics.ts';
import { QueryCounters } from './pipeline/counters.ts';
import { buildPolicySnapshot, type PolicySnapshot, policyInputFromConfig } from './policy/snapshot.ts';
import { type BoundAddress, bindDnsListeners, type DnsListeners, formatAddress, listenError } from './replica/dns-listeners.ts';
import { bindEncryptedListeners, type EncryptedListeners } from './replica/encrypted-listeners.ts';
import { descriptorLimit, fitConnectionLimits } from './replica/fd-budget.ts';
import { HealthMonitor } from './replica/health.ts';
import { logPolicy, PolicyControl } from './replica/policy-control.ts';
import { Resolver, type ResolverStats } from './resolver/resolver.ts';
import { sumResolverStats } from './resolver/stats-sum.ts';
import { DnsWorkers } from './replica/dns-workers.ts';
import { type HostPort, parseHostPort } from './util/address.ts';
import { createSharedState } from './state/index.ts';
import type { SharedState } from './state/types.ts';
import { configureBackgroundNice, lowerBackgroundThreads } from './util/thread-priority.ts';
import { releaseMemory } from './util/release-memory.ts';
import { VERSION } from './version.ts';

export interface RunningDnsward {
  /** Bound DNS addresses ("127.0.0.1:1053"), UDP and TCP share each port. */
  readonly dns: readonly BoundAddress[];
  /** Bound DNS-over-HTTPS and DNS-over-TLS addresses (dns.doh_listen, dns.dot_listen). */
  readonly doh: readonly BoundAddress[];
  readonly dot: readonly BoundAddress[];
  /** Bound address of the public list feed, when enabled. */
  readonly http: BoundAddress | undefined;
  /** Bound address of the private API (health, metrics, auditor and admin API), when enabled. */
  readonly api: BoundAddress | undefined;
  /** The main thread's resolver (all of DNS with dns.workers 1; TCP, DoT and DoH otherwise). */
  readonly resolver: Resolver;
  /** The resolver's stats summed over the main thread and the DNS worker threads. */
  stats(): ResolverStats;
  /** The DNS worker threads (dns.workers > 1), once started. */
  workers(): DnsWorkers | undefined;
  readonly lists: ListRegistry;
  readonly health: HealthMonitor;
  /** This replica's part in the fleet (shared state, organisation entries, change log). */
  readonly fleet: Fleet;
  /** The config in force (changes with a successful reload). */
  readonly config: Config;
  /**
   * Builds (and validates) the policy `config` describes over the lists loaded now, without
   * installing it: `resolver.install()` does that, in one pointer write.
   */
  buildPolicy(config: Config): PolicySnapshot;
  /** Re-reads the config file (or takes `next`) and the lists, and installs them if valid; never throws. */
  reload(requestedBy: string, next?: Config): Promise<ReloadResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Replaces the default decision sink (the block log). */
  decisions?: DecisionSink;
  /** Reads and validates the config file again, for reloads (SIGHUP, POST /api/reload). */
  loadConfig?: () => Promise<Config>;
  /** Names the config in errors (its file), as `config check` does. */
  source?: string;
}

export async function startDnsward(configured: Config, options: StartOptions): Promise<RunningDnsward> {
  const logger = options.logger;
  const fitted = fitConnectionLimits(configured, descriptorLimit(), dnsWorkerCount(configured));
  if (fitted.scaled) {
    logger.warn({ component: 'app', ...fitted.scaled }, 'connection caps scaled down to leave the resolver its file descriptors (raise the descriptor limit, e.g. LimitNOFILE, or lower the caps)');
  }
  const config = fitted.config;
  configureBackgroundNice(config.dns.background_nice);
  // DNS worker threads read the lists where the main thread loads them: in shared memory from the first one.
  if (dnsWorkerCount(config) > 1) useSharedMemory();
  const { targets: upstreams, ca: upstreamCa } = await resolveUpstreams(config.upstreams, config.upstream_tls?.ca_file);

  const lists = new ListRegistry();
  // The collateral guard first: every list installed from here on (shipped, subscribed, the organisation's) passes it.
  lists.setNeverBlock(await loadNeverBlock(config.lists.dir), logger.child({ component: 'lists' }));
  for (const snapshot of await loadListDir(config.lists.dir)) lists.set(snapshot);
  const networkLists = await loadNetworkListDir(config.lists.dir);
  // The feed publishes the network lists too; PolicyControl replaces them on reload.
  const networks = new NetworkListRegistry();
  networks.replace(networkLists);
  checkSegmentLists(config, new Set([...lists.names(), ...networkLists.map((l) => l.name), ...config.lists.sources.map((s) => s.name)]), options.source);
  // Shared state (Redis, or memory for one replica); never waited for: the organisation's
  // entries come from this replica's copy of the change log until Redis answers.
  const state = await createSharedState(config, logger);
  let fleet: Fleet;
  let audit: AuditSink | undefined;
  let sources: ListSources | undefined;
  const share = await sourceShare(config, state, logger);
  try {
    // The block log first: it creates (and announces) the signing key the fleet's logs share.
    audit = options.decisions ? undefined : await createAuditSink(config, logger);
    fleet = await Fleet.open(config, logger, state, lists);
    sources = await startSources(config, lists, logger, share);
  } catch (error) {
    await sources?.stop();
    await audit?.close();
    await state.close();
    throw error;
  }
  const decisions: DecisionSink = options.decisions ?? (audit as AuditSink);

  // The policy in force is one snapshot, rebuilt and swapped whole when a list or the config changes.
  const counters = new QueryCounters();
  const resolverOptions = {
      queryTimeoutMs: config.dns.query_timeout_ms,
      upstreamTimeoutMs: config.dns.upstream_timeout_ms,
      upstreamSockets: 16,
      maxInflight: config.dns.max_inflight_upstream,
      use0x20: config.dns.upstream_0x20,
      serveStale: config.dns.serve_stale.enabled,
      staleAfterMs: config.dns.serve_stale.client_timeout_ms,
      maxStaleSeconds: config.dns.serve_stale.max_stale_s,
      cacheSize: config.dns.cache_size,
      upstreamCa,
      datagram: config.dns.datagram,
  };
  const resolver = new Resolver(
    { upstreams, decisions, logger: logger.child({ component: 'resolver' }), counters },
    resolverOptions,
    buildPolicySnapshot(policyInputFromConfig(config, lists.all(), networkLists), { countsFor: counters.forSegment }),
  );
  logPolicy(logger.child({ component: 'lists' }), resolver.currentPolicy, 0);
  // With dns.workers > 1 the worker threads answer UDP; every policy installed here goes to them too.
  const workerCount = dnsWorkerCount(config);
  let workers: DnsWorkers | undefined;
  const enforcer = {
    get currentPolicy(): PolicySnapshot {
      return resolver.currentPolicy;
    },
    install(policy: PolicySnapshot): void {
      resolver.install(policy);
      workers?.install(policy);
    },
  };
  // Stats of the whole process: the main thread's resolver (TCP) and every worker's (UDP).
  const allStats = { stats: (): ResolverStats => sumResolverStats([resolver.stats(), ...(workers?.stats().map((w) => w.resolver) ?? [])]) };
  const control = new PolicyControl(config, sources, {
    resolver: enforcer,
    lists,
    counters,
    logger,
    loadConfig: options.loadConfig,
    networkLists,
    networks,
    startSources: (next) => startSources(next, lists, logger, share),
  });
  await resolver.start();

  let ready = false;
  const health = new HealthMonitor({
    instance: config.instance,
    version: VERSION,
    ready: () => ready,
    resolver: allStats,
    audit,
    sources: () => control.listSources?.status() ?? {},
    ...(state.kind === 'redis' ? { redis: () => ({ ...state.status(), spooled: fleet.stats().spooled }) } : {}),
    fleet: () => fleet.degradations(),
    lists: () => lists.all().map((l) => ({ name: l.name, version: l.version, entries: l.set?.size ?? l.domains.length })),
  });
  // Bound further down; declared here because /metrics reads the UDP listeners' counters.
  let dns: DnsListeners | undefined;
  const metrics = createMetrics({
    resolver: allStats,
    refresh: () => workers?.refresh() ?? Promise.resolve(),
    lists,
    audit,
    sources: () => control.listSources?.status() ?? {},
    fleet: config.redis ? fleet : undefined,
    udp: () => [...(dns?.udpStats() ?? []), ...(workers?.stats().flatMap((w) => w.udp) ?? [])],
  });
  fleet.start({
    version: VERSION,
    audit,
    policyGeneration: () => resolver.currentPolicy.generation,
    health: () => health.report(),
    refreshSource: (name) => void control.listSources?.refresh(name),
  });
  let feed: FeedThread | undefined;
  let privateApp: FastifyInstance | undefined;
  const reload = async (requestedBy: string, next?: Config): Promise<ReloadResult> => {
    const result = await control.reload(requestedBy, next);
    // Answered once every worker enforces what was installed.
    await workers?.settled();
    if (result.ok) await reloadTls(control.config, feed, privateApp, encrypted, logger);
    return result;
  };
  const httpDeps: HttpDeps = {
    config,
    logger,
    metrics,
    lists,
    networks,
    health,
    reload: (by) => reload(by),
    audit: fleet.reader(createAuditReader(config)),
    fleet: { change: (request) => fleet.changes.change(request), changes: () => fleet.changeLog.records(), view: () => fleet.view() },
  };

  let encrypted: EncryptedListeners | undefined;
  // Stop taking queries first, then let in-flight ones finish or fail, then flush the block log.
  const stop = async (): Promise<void> => {
    ready = false;
    await control.stop();
    await dns?.close();
    await encrypted?.close();
    // Their last decisions reach the block log before it closes.
    await workers?.stop();
    await resolver.stop();
    await decisions.close();
    // After the block log: its last events still go into the fleet-wide stream.
    await fleet.stop();
    await Promise.allSettled([feed?.close(), privateApp?.close()]);
  };

  let httpAddress: BoundAddress | undefined;
  let apiAddress: BoundAddress | undefined;
  // The start's garbage (lists parsed, a download read) goes back to the system while no query
  // can wait behind the pause: DNS is not bound yet. Only in a process started with --expose-gc,
  // which bin/dnsward is (release-memory.ts); the package's plugin never starts a replica.
  const released = releaseMemory();
  if (released) logger.info({ component: 'app', ms: released.ms, rss_before_mb: released.rssBeforeMB, rss_after_mb: released.rssAfterMB }, 'start-up garbage released');
  try {
    dns = await bindDnsListeners(config.dns, resolver, logger, { reusePort: workerCount > 1 });
    encrypted = await bindEncryptedListeners(config.dns, resolver, logger);
    if (workerCount > 1) {
      const initial = resolver.currentPolicy;
      workers = await DnsWorkers.start({
        count: workerCount,
        listen: config.dns.listen.map((text, i) => ({ ...(parseHostPort(text, 53) as HostPort), port: dns?.bound[i]?.port ?? 0 })),
        datagram: config.dns.datagram,
        upstreams,
        resolver: resolverOptions,
        policy: initial,
        decisions,
        logger,
      });
      // A list that changed while they started was installed here only.
      if (resolver.currentPolicy !== initial) workers.install(resolver.currentPolicy);
      // The workers' sockets hold the addresses now; the main thread keeps TCP.
      await dns.closeUdp();
    }
    if (config.http.enabled) {
      // The public feed, by default in its own thread: HTTP work never holds the DNS event loop.
      feed = await startFeed(config, lists, await readTls(config.http.tls, 'http'), logger, networks);
      httpAddress = { host: (parseHostPort(config.http.listen, DEFAULT_PORTS.http) as HostPort).host, port: feed.port };
    }
    if (config.api.enabled) {
      privateApp = buildPrivateApp(httpDeps, await readTls(config.api.tls, 'api'));
      apiAddress = await listen(privateApp, config.api.listen, 'api.listen', DEFAULT_PORTS.api);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  // Every background thread exists by now (V8's helpers, libuv's pool, the feed); render
  // threads started later are lowered as they come online (render-thread.ts).
  const priority = lowerBackgroundThreads();
  if (priority.problem) logger.warn({ component: 'app', problem: priority.problem }, 'dns.background_nice: could not lower the priority of every background thread; DNS answers may wait behind them under load');
  ready = true;
  logger.info(
    {
      component: 'app',
      version: VERSION,
      dns: dns.bound.map(formatAddress),
      workers: workerCount,
      ...(encrypted ? { doh: encrypted.doh.map(formatAddress), dot: encrypted.dot.map(formatAddress) } : {}),
      http: httpAddress && formatAddress(httpAddress),
      api: apiAddress && formatAddress(apiAddress),
      upstreams: upstreams.map((u) => u.label),
      segments: config.segments.map((s) => `${s.name}:${s.action}`),
    },
    'dnsward ready',
  );
  return {
    dns: dns.bound,
    doh: encrypted?.doh ?? [],
    dot: encrypted?.dot ?? [],
    http: httpAddress,
    api: apiAddress,
    resolver,
    stats: () => allStats.stats(),
    workers: () => workers,
    lists,
    health,
    fleet,
    get config() {
      return control.config;
    },
    buildPolicy: (from) => control.build(from),
    reload,
    stop,
  };
}

/** dns.workers as a number of threads (auto: the CPUs this process may use). */
export function dnsWorkerCount(config: Config): number {
  return config.dns.workers === 'auto' ? availableParallelism() : config.dns.workers;
}

async function startSources(config: Config, lists: ListRegistry, logger: Logger, share: SourceShare | undefined): Promise<ListSources | undefined> {
  // Subscribed sources (and undici, ~30 MB resident) are loaded only when configured.
  if (config.lists.sources.length === 0) return undefined;
  return (await import('./lists/sources.ts')).startListSources(config.lists, lists, logger, share ? { share } : {});
}

/** With Redis, one replica downloads each subscribed source and the others take its copy. */
async function sourceShare(config: Config, state: SharedState, logger: Logger): Promise<SourceShare | undefined> {
  if (state.kind !== 'redis') return undefined;
  const { FleetSourceShare } = await import('./fleet/source-share.ts');
  return new FleetSourceShare({ state, instance: config.instance, logger });
}

async function listen(app: FastifyInstance, text: string, key: string, defaultPort: number): Promise<BoundAddress> {
  const address = parseHostPort(text, defaultPort) as HostPort;
  await app.listen({ host: address.host, port: address.port }).catch((error: Error) => listenError(key, text, error));
  const info = app.server.address();
  return { host: address.host, port: typeof info === 'object' && info !== null ? info.port : address.port };
}

/** New certificates take effect on reload; a listener that gained or lost TLS needs a restart. */
async function reloadTls(config: Config, feed: FeedThread | undefined, privateApp: FastifyInstance | undefined, encrypted: EncryptedListeners | undefined, logger: Logger): Promise<void> {
  const targets: [((tls: TlsMaterial) => void | Promise<void>) | undefined, Config['http']['tls'], string][] = [
    [feed && ((material) => feed.swapTls(material)), config.http.tls, 'http'],
    [privateApp && 'setSecureContext' in privateApp.server ? (material) => swapTls(privateApp, material) : undefined, config.api.tls, 'api'],
    [encrypted && ((material) => encrypted.swapTls(material)), config.dns.tls, 'dns'],
  ];
  for (const [swap, tls, section] of targets) {
    if (swap === undefined || tls === undefined) continue;
    try {
      const material = await readTls(tls, section);
      if (material) await swap(material);
      logger.info({ component: 'app', listener: section }, 'reload: TLS certificate re-read');
    } catch (error) {
      logger.error({ component: 'app', err: error, listener: section }, 'reload: TLS certificate could not be read; the previous one stays');
    }
  }
}
