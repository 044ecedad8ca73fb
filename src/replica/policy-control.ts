// Keeps the policy in force in step with its inputs: installs a new snapshot when a list
// changes (a subscribed source refreshed, an entry added on another replica), and reloads the
// config and the lists on demand (SIGHUP, POST /api/reload). A reload validates everything
// first (the config, every list file, the whole policy) and changes nothing unless all of it
// holds: a refused reload leaves the policy in force untouched and says why. Queries never
// wait: the new policy is built beside the old one and installed with one pointer write.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { checkSegmentLists } from '../config/lists-check.ts';
import type { Config } from '../config/schema.ts';
import type { ReloadResult } from '../http/deps.ts';
import { loadNeverBlock, type NeverBlock } from '../lists/guard.ts';
import { loadListDir } from '../lists/list-file.ts';
import { loadNetworkListDir, type NetworkListSnapshot } from '../lists/network-list.ts';
import type { NetworkListRegistry } from '../lists/network-registry.ts';
import type { ListRegistry } from '../lists/registry.ts';
import type { ListSources } from '../lists/sources.ts';
import type { ListSnapshot } from '../lists/types.ts';
import type { QueryCounters } from '../pipeline/counters.ts';
import { buildPolicySnapshot, type PolicySnapshot, policyInputFromConfig } from '../policy/snapshot.ts';
import type { Resolver } from '../resolver/resolver.ts';

/**
 * Keys a reload applies at once; a change anywhere else is reported as needing a restart
 * (listeners, upstreams, cache and timeouts, the block log, Redis, the instance name).
 */
const LIVE_KEYS = ['segments', 'dns.allow', 'dns.rate_limit', 'dns.any', 'lists.dir', 'lists.sources', 'lists.cache_dir', 'lists.max_source_bytes', 'log.level'] as const;
const RESTART_KEYS = [
  ...['dns.listen', 'dns.doh_listen', 'dns.dot_listen', 'dns.doh_trusted_proxies', 'dns.datagram', 'dns.workers', 'dns.background_nice', 'dns.upstream_timeout_ms', 'dns.query_timeout_ms', 'dns.max_inflight_upstream', 'dns.upstream_0x20', 'dns.cache_size', 'dns.tcp_idle_timeout_ms', 'dns.tcp', 'dns.serve_stale', 'upstreams', 'upstream_tls'],
  ...['lists.feed', 'lists.homepage', 'lists.public_url', 'lists.expires', 'lists.cache_max_age_s', 'lists.signing_key_file'],
  ...['http', 'api', 'audit', 'auth', 'redis', 'instance'],
] as const;

export interface PolicyControlDeps {
  /** Where the policy is in force: the resolver, or an embedder's policy engine (src/plugin/engine.ts). */
  resolver: Pick<Resolver, 'currentPolicy' | 'install'>;
  lists: ListRegistry;
  counters: QueryCounters;
  logger: Logger;
  /** Reads the config file again and runs every check `config check` runs (absent: reload takes a Config object only). */
  loadConfig?: (() => Promise<Config>) | undefined;
  /** The network lists (`<name>.networks` in lists.dir) loaded at start; a reload re-reads them. */
  networkLists?: readonly NetworkListSnapshot[];
  /** Where the feed reads the network lists; a reload replaces them there too. */
  networks?: NetworkListRegistry | undefined;
  /** Starts the subscribed sources of a config (none configured: undefined). */
  startSources: (config: Config) => Promise<ListSources | undefined>;
}

export class PolicyControl {
  private active: Config;
  private sources: ListSources | undefined;
  private readonly deps: PolicyControlDeps;
  private readonly log: Logger;
  private readonly listsLog: Logger;
  private reloading = false;
  private networkLists: readonly NetworkListSnapshot[];
  private readonly unsubscribe: () => void;

  constructor(config: Config, sources: ListSources | undefined, deps: PolicyControlDeps) {
    this.active = config;
    this.sources = sources;
    this.deps = deps;
    this.networkLists = deps.networkLists ?? [];
    this.log = deps.logger.child({ component: 'policy' });
    this.listsLog = deps.logger.child({ component: 'lists' });
    // A list swapped by its source (or removed) rebuilds the policy from the config in force.
    this.unsubscribe = deps.lists.onChange(() => {
      if (!this.reloading) this.installFromLists();
    });
  }

  get config(): Config {
    return this.active;
  }

  get listSources(): ListSources | undefined {
    return this.sources;
  }

  /** Builds the policy of `config` over `lists` and network lists (validated, not installed). */
  build(config: Config, lists: readonly ListSnapshot[] = this.deps.lists.all(), networkLists: readonly NetworkListSnapshot[] = this.networkLists): PolicySnapshot {
    return buildPolicySnapshot(policyInputFromConfig(config, lists, networkLists), { countsFor: this.deps.counters.forSegment, previous: this.deps.resolver.currentPolicy });
  }

  /** Rebuilds the policy after a list change, with the config in force. */
  installFromLists(): void {
    const started = Date.now();
    try {
      const policy = this.build(this.active);
      this.deps.resolver.install(policy);
      logPolicy(this.listsLog, policy, Date.now() - started);
    } catch (error) {
      this.log.error({ err: error }, 'a list change could not be enforced; the policy in force stays');
    }
  }

  /**
   * Re-reads the config (or takes `next`) and the lists, and installs the new policy when all
   * of it is valid. Never throws: a refusal comes back as { ok: false, message }.
   */
  async reload(requestedBy: string, next?: Config): Promise<ReloadResult> {
    if (this.reloading) return this.refuse(requestedBy, 'a reload is already running; try again when it is done');
    this.reloading = true;
    try {
      let config: Config;
      try {
        if (next !== undefined) config = next;
        else if (this.deps.loadConfig) config = await this.deps.loadConfig();
        else return this.refuse(requestedBy, 'this replica was started without a config file; nothing to re-read');
      } catch (error) {
        return this.refuse(requestedBy, `the new config is refused: ${(error as Error).message}`);
      }
      // Every maintained list must load, and every list a segment names must exist.
      let maintained: ListSnapshot[];
      let networkLists: NetworkListSnapshot[];
      let neverBlock: NeverBlock;
      try {
        maintained = await loadListDir(config.lists.dir);
        networkLists = await loadNetworkListDir(config.lists.dir);
        neverBlock = await loadNeverBlock(config.lists.dir);
        const sourceNames = config.lists.sources.map((s) => s.name);
        checkSegmentLists(config, new Set([...maintained.map((l) => l.name), ...networkLists.map((l) => l.name), ...sourceNames]));
      } catch (error) {
        return this.refuse(requestedBy, `the lists are refused: ${(error as Error).message}`);
      }
      const sourcesChanged = !isDeepStrictEqual(config.lists.sources, this.active.lists.sources) || config.lists.cache_dir !== this.active.lists.cache_dir;
      const keptSubscribed = this.deps.lists.all().filter((l) => l.origin === 'subscribed' && config.lists.sources.some((s) => s.name === l.name));
      // Validated and built as enforced: with the organisation's entries on top of each base.
      const bases = [...maintained, ...keptSubscribed.map((l) => this.deps.lists.base(l.name) ?? l)];
      const candidate = bases.map((l) => this.deps.lists.withOverlay(l, neverBlock)).sort((a, b) => a.name.localeCompare(b.name));
      let policy: PolicySnapshot;
      try {
        policy = this.build(config, candidate, networkLists);
      } catch (error) {
        return this.refuse(requestedBy, `the new policy is refused: ${(error as Error).message}`);
      }

      // Valid: commit. The lists first (no rebuild per list while reloading), then the policy.
      const names = new Set(candidate.map((l) => l.name));
      for (const l of this.deps.lists.all()) if (!names.has(l.name)) this.deps.lists.remove(l.name);
      // never-block.txt as re-read guards every list, the kept sources' too.
      this.deps.lists.setNeverBlock(neverBlock);
      this.deps.lists.reapply();
      for (const l of maintained) this.deps.lists.set(l);
      const restartNeeded = changedKeys(this.active, config, RESTART_KEYS);
      const applied = changedKeys(this.active, config, LIVE_KEYS);
      if (config.log.level !== this.active.log.level) this.deps.logger.level = config.log.level;
      this.active = config;
      this.networkLists = networkLists;
      this.deps.networks?.replace(networkLists);
      this.deps.resolver.install(policy);
      if (sourcesChanged) {
        await this.sources?.stop();
        this.sources = undefined;
        this.sources = await this.deps.startSources(config);
      }
      // Sources may have installed lists while `reloading` held rebuilds back: enforce the registry as it is now.
      this.installFromLists();
      const generation = this.deps.resolver.currentPolicy.generation;
      if (restartNeeded.length > 0) {
        this.log.warn({ keys: restartNeeded }, 'reload: these changed keys take effect only after a restart; the rest is in force');
      }
      this.log.info({ requestedBy, applied, generation, lists: this.deps.resolver.currentPolicy.lists }, 'reload: new config and lists in force');
      return { ok: true, message: applied.length > 0 ? `in force: ${applied.join(', ')} changed` : 'in force: config and lists re-read, no policy change', restartNeeded, policyGeneration: generation };
    } finally {
      this.reloading = false;
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await this.sources?.stop();
  }

  private refuse(requestedBy: string, message: string): ReloadResult {
    this.log.error({ requestedBy }, `reload refused, the policy in force stays: ${message}`);
    return { ok: false, message, restartNeeded: [], policyGeneration: this.deps.resolver.currentPolicy.generation };
  }
}

/** The keys among `keys` (dotted paths) whose values differ between two configs. */
function changedKeys(a: Config, b: Config, keys: readonly string[]): string[] {
  const at = (config: Config, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], config);
  return keys.filter((key) => !isDeepStrictEqual(at(a, key), at(b, key)));
}

/** `logger` carries { component: 'lists' }. */
export function logPolicy(logger: Logger, policy: PolicySnapshot, ms: number): void {
  logger.info(
    { generation: policy.generation, lists: policy.lists, domains: policy.matcher.size, bytes: policy.matcher.byteSize, ms },
    'lists loaded',
  );
}
