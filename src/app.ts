// Builds and starts one dnsward replica from a validated config: lists, resolver,
// DNS listeners (UDP and TCP per address), HTTP. stop() undoes it in reverse order.
import type { Logger } from 'pino';
import { createAuditReader, createAuditSink } from './audit/index.ts';
import type { DecisionSink } from './audit/types.ts';
import { checkSegmentLists } from './config/lists-check.ts';
import type { Config } from './config/schema.ts';
import { DnswardError, ErrorCodes } from './errors.ts';
import { buildHttpApp } from './http/app.ts';
import { loadListDir } from './lists/list-file.ts';
import { ListRegistry } from './lists/registry.ts';
import { createMetrics } from './metrics.ts';
import { DomainMatcher } from './policy/domain-matcher.ts';
import { RateLimiter } from './policy/rate-limiter.ts';
import { ClientClassifier, implicitDefaultSegment, makeSegment } from './policy/segments.ts';
import { ResolverCore } from './resolver/core.ts';
import { TcpListener } from './server/tcp-listener.ts';
import { UdpListener } from './server/udp-listener.ts';
import { type HostPort, parseHostPort } from './util/address.ts';
import { systemResolvers } from './util/resolv-conf.ts';

export interface RunningDnsward {
  /** Bound DNS addresses ("127.0.0.1:1053"), UDP and TCP share each port. */
  readonly dns: readonly { host: string; port: number }[];
  /** Bound HTTP address, when enabled. */
  readonly http: { host: string; port: number } | undefined;
  readonly core: ResolverCore;
  readonly lists: ListRegistry;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Replaces the default decision sink (the block log). */
  decisions?: DecisionSink;
  /** Names the config in errors (its file), as `config check` does. */
  source?: string;
}

export async function startDnsward(config: Config, options: StartOptions): Promise<RunningDnsward> {
  const logger = options.logger;
  const upstreams = await resolveUpstreams(config);

  const lists = new ListRegistry();
  for (const snapshot of await loadListDir(config.lists.dir)) lists.set(snapshot);
  const sourceNames = config.lists.sources.map((s) => s.name);
  checkSegmentLists(config, new Set([...lists.names(), ...sourceNames]), options.source);
  // Subscribed sources (and undici, ~30 MB resident) are loaded only when configured.
  const sources =
    config.lists.sources.length > 0
      ? await (await import('./lists/sources.ts')).startListSources(config.lists, lists, logger)
      : undefined;

  const segmentPairs = config.segments.map((segmentConfig, index) => ({ config: segmentConfig, segment: makeSegment(segmentConfig, index) }));
  const fallback = implicitDefaultSegment(segmentPairs.length);
  const segments = [...segmentPairs.map((p) => p.segment), fallback];
  const rateLimiter = new RateLimiter(config.dns.rate_limit);
  const classifier = new ClientClassifier(config.dns.allow, segmentPairs, fallback, rateLimiter);
  const decisions = options.decisions ?? (await createAuditSink(config, logger));

  const core = new ResolverCore(
    { classifier, segments, rateLimiter, upstreams, decisions, logger: logger.child({ component: 'resolver' }) },
    {
      queryTimeoutMs: config.dns.query_timeout_ms,
      upstreamTimeoutMs: config.dns.upstream_timeout_ms,
      upstreamSockets: 16,
      maxInflight: config.dns.max_inflight_upstream,
      use0x20: config.dns.upstream_0x20,
      serveStale: config.dns.serve_stale.enabled,
      staleAfterMs: config.dns.serve_stale.client_timeout_ms,
      maxStaleSeconds: config.dns.serve_stale.max_stale_s,
      cacheSize: config.dns.cache_size,
      anyPolicy: config.dns.any,
    },
  );
  // A new matcher reuses every list's compact set, so swapping is cheap; the set of a big
  // list is built while it loads (in slices), never here.
  const rebuildMatcher = (): void => {
    const started = Date.now();
    const matcher = DomainMatcher.build(lists.all());
    core.setMatcher(matcher);
    logger.info(
      { component: 'lists', lists: lists.all().map((l) => ({ name: l.name, version: l.version })), domains: matcher.size, bytes: matcher.byteSize, ms: Date.now() - started },
      'lists loaded',
    );
  };
  rebuildMatcher();
  const unsubscribe = lists.onChange(rebuildMatcher);
  await core.start();

  const listeners: { close(): Promise<void> }[] = [];
  const bound: { host: string; port: number }[] = [];
  let ready = false;
  const metrics = createMetrics(core, lists);
  const http = config.http.enabled ? buildHttpApp({ config, logger, metrics, lists, ready: () => ready, audit: createAuditReader(config) }) : undefined;
  let httpAddress: { host: string; port: number } | undefined;

  // Stop taking queries first, then let in-flight ones finish or fail, then flush the block log.
  const stop = async (): Promise<void> => {
    ready = false;
    unsubscribe();
    await sources?.stop();
    await Promise.allSettled(listeners.map((l) => l.close()));
    await core.stop();
    await decisions.close();
    if (http) await http.close();
  };

  try {
    const tcpLimits = {
      idleTimeoutMs: config.dns.tcp_idle_timeout_ms,
      messageDeadlineMs: config.dns.tcp.message_deadline_ms,
      maxConnections: config.dns.tcp.max_connections,
      maxConnectionsPerClient: config.dns.tcp.max_connections_per_client,
      maxInFlightPerConnection: config.dns.tcp.max_inflight_per_connection,
    };
    for (const text of config.dns.listen) {
      const address = parseHostPort(text, 53) as HostPort;
      // UDP and TCP share the port. With port 0 the kernel picks the UDP port, and that
      // number can already be taken for TCP: then try again with another one.
      for (let attempt = 1; ; attempt++) {
        const udp = new UdpListener(address, core, logger.child({ component: 'udp' }));
        const port = await udp.start().catch((error: Error) => listenError('dns.listen', text, error));
        const tcp = new TcpListener(address, core, logger.child({ component: 'tcp' }), tcpLimits);
        const tcpError = await tcp.start(port).then(
          () => undefined,
          (error: Error) => error,
        );
        if (tcpError === undefined) {
          listeners.push(udp, tcp);
          bound.push({ host: address.host, port });
          break;
        }
        await udp.close();
        const retry = address.port === 0 && (tcpError as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10;
        if (!retry) listenError('dns.listen', text, tcpError);
      }
    }
    if (http) {
      const address = parseHostPort(config.http.listen, 8053) as HostPort;
      await http.listen({ host: address.host, port: address.port }).catch((error: Error) => listenError('http.listen', config.http.listen, error));
      const info = http.server.address();
      httpAddress = { host: address.host, port: typeof info === 'object' && info !== null ? info.port : address.port };
    }
  } catch (error) {
    await stop();
    throw error;
  }
  ready = true;
  logger.info(
    { component: 'app', dns: bound.map(formatAddress), http: httpAddress && formatAddress(httpAddress), upstreams: upstreams.map(formatAddress), segments: config.segments.map((s) => `${s.name}:${s.action}`) },
    'dnsward ready',
  );
  return { dns: bound, http: httpAddress, core, lists, stop };
}

async function resolveUpstreams(config: Config): Promise<HostPort[]> {
  if (config.upstreams) return config.upstreams.map((u) => parseHostPort(u, 53) as HostPort);
  const system = await systemResolvers();
  if (system.length === 0) {
    throw new DnswardError(ErrorCodes.CONFIG, 'upstreams: none configured and /etc/resolv.conf has no nameserver; add e.g. upstreams: ["192.0.2.53:53"]');
  }
  return system;
}

function listenError(key: string, value: string, error: Error): never {
  const code = (error as NodeJS.ErrnoException).code;
  const hint = code === 'EADDRINUSE' ? 'another process uses that port; pick a free one' : code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE' : code === 'EADDRNOTAVAIL' ? 'that address is not configured on this host' : error.message;
  throw new DnswardError(ErrorCodes.LISTEN, `${key}: cannot listen on "${value}": ${code ?? error.message}; ${hint}`, { cause: error });
}

function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
