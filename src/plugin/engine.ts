// dnsward's policy for other Node servers: built from the same config sections as the
// standalone resolver (segments, lists, allowlists, audit), it answers "what happens to this
// query (or name) from this client" with a typed verdict, records to the same block log, and
// keeps its policy snapshot in step with reloads and list changes exactly as a replica does
// (src/replica/policy-control.ts). Sockets, caching and upstreams stay the host's.
import type { Logger } from 'pino';
import { type AuditSink, createAuditSink } from '../audit/index.ts';
import type { DecisionSink, DecisionTransport } from '../audit/types.ts';
import { checkSegmentLists } from '../config/lists-check.ts';
import type { Config } from '../config/schema.ts';
import { CLASS_IN, FLAG, TYPE } from '../dns/constants.ts';
import { normalizeDomain } from '../dns/domain-name.ts';
import { encodeName } from '../dns/names.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { ReloadResult } from '../http/deps.ts';
import { loadListDir } from '../lists/list-file.ts';
import { loadNetworkListDir, type NetworkListSnapshot } from '../lists/network-list.ts';
import { NetworkListRegistry } from '../lists/network-registry.ts';
import { ListRegistry } from '../lists/registry.ts';
import type { ListSources } from '../lists/sources.ts';
import { createLogger } from '../logger.ts';
import { type QueryCount, QueryCounters } from '../pipeline/counters.ts';
import { buildPolicySnapshot, type PolicySnapshot, policyInputFromConfig } from '../policy/snapshot.ts';
import { PolicyControl } from '../replica/policy-control.ts';
import { type ConfigSections, type ConfigSource, configFromSections, loadEmbeddedConfig } from './config.ts';
import { type AnswerVerdict, createDecider, type Decider, type PolicyVerdict } from './decider.ts';

export interface PolicyEngineOptions extends ConfigSource {
  /** A pino logger; default: JSON lines on stdout at the config's log.level. */
  logger?: Logger | undefined;
  /** Where decisions go instead of the block log that the config's audit: section describes. */
  decisions?: DecisionSink | undefined;
  /** The environment the config's token_env and secret variables are read from (default: process.env). */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface CheckOptions {
  /** Query type, as a number (1 = A) or a mnemonic ("AAAA"); default A. */
  qtype?: number | string;
  /** How the query came in, for the block log; absent: not said. */
  transport?: DecisionTransport;
}

export class PolicyEngine {
  /** The lists in force (the fastify feed plugin serves these). */
  readonly lists: ListRegistry;
  /** The network lists in force (lists.dir's `<name>.networks`; a reload re-reads them): the feed plugin serves them. */
  readonly networks = new NetworkListRegistry();
  readonly logger: Logger;
  private policyInForce: PolicySnapshot;
  private readonly decider: Decider;
  private readonly counters: QueryCounters;
  private readonly decisions: DecisionSink;
  private readonly control: PolicyControl;
  private readonly baseDir: string | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private closed = false;

  /** Use createPolicyEngine(). */
  constructor(parts: { config: Config; lists: ListRegistry; networkLists: readonly NetworkListSnapshot[]; sources: ListSources | undefined; decisions: DecisionSink; logger: Logger; loadConfig: (() => Promise<Config>) | undefined; baseDir: string | undefined; env: NodeJS.ProcessEnv }) {
    this.lists = parts.lists;
    this.logger = parts.logger;
    this.decisions = parts.decisions;
    this.baseDir = parts.baseDir;
    this.env = parts.env;
    this.counters = new QueryCounters();
    this.networks.replace(parts.networkLists);
    this.decider = createDecider({ decisions: parts.decisions, logger: parts.logger.child({ component: 'engine' }) });
    this.policyInForce = buildPolicySnapshot(policyInputFromConfig(parts.config, parts.lists.all(), parts.networkLists), { countsFor: this.counters.forSegment });
    this.control = new PolicyControl(parts.config, parts.sources, {
      resolver: this,
      lists: parts.lists,
      counters: this.counters,
      logger: parts.logger,
      loadConfig: parts.loadConfig,
      networkLists: parts.networkLists,
      networks: this.networks,
      startSources: (next) => startSources(next, parts.lists, parts.logger),
    });
  }

  /** The config in force (changes with a successful reload). */
  get config(): Config {
    return this.control.config;
  }

  /** The policy snapshot in force. */
  get currentPolicy(): PolicySnapshot {
    return this.policyInForce;
  }

  /** Installs a policy snapshot (one pointer write): decisions from now on use it. */
  install(policy: PolicySnapshot): void {
    this.policyInForce = policy;
  }

  /** Builds and validates the policy `config` describes over the lists loaded now, without installing it. */
  buildPolicy(config: Config = this.config): PolicySnapshot {
    return this.control.build(config);
  }

  /**
   * Re-reads the config file and the lists (or takes `next`, the config as an object) and
   * installs the new policy when all of it is valid; never throws. A list changed by its
   * source is installed without a reload.
   */
  async reload(next?: ConfigSections, requestedBy = 'embedder'): Promise<ReloadResult> {
    if (next === undefined) return this.control.reload(requestedBy);
    let config: Config;
    try {
      const checked = configFromSections(next, 'config', this.baseDir, this.env);
      for (const warning of checked.warnings) this.logger.warn({ component: 'engine' }, warning);
      config = checked.config;
    } catch (error) {
      return { ok: false, message: `the new config is refused: ${(error as Error).message}`, restartNeeded: [], policyGeneration: this.policyInForce.generation };
    }
    return this.control.reload(requestedBy, config);
  }

  /** The verdict on one DNS query message (wire bytes) from `client` (an IP address). Never throws. */
  decide(query: Buffer, client: string, transport?: DecisionTransport): PolicyVerdict {
    return this.decider.decide(this.policyInForce, query, client, transport);
  }

  /**
   * The verdict on the answer to an allowed query (CNAME chain into a listed domain, an
   * address inside a listed network), for `query` as decide() saw it. Never throws.
   */
  inspect(query: Buffer, answer: Buffer, client: string, transport?: DecisionTransport): AnswerVerdict {
    return this.decider.inspect(this.policyInForce, query, answer, client, transport);
  }

  /**
   * What happens to `name` asked by `client`: decide() on a query for it (type A unless said).
   * Decisions are recorded as for a real query. Throws DnswardError when `name` is not a domain name.
   */
  check(name: string, client: string, options: CheckOptions = {}): PolicyVerdict {
    const normalized = normalizeDomain(name) ?? (name === '.' || name === '' ? '' : undefined);
    if (normalized === undefined) throw new DnswardError(ErrorCodes.USAGE, `"${name}" is not a domain name; give letters, digits and hyphens in dot-separated labels, e.g. "www.tiktok.com"`);
    return this.decide(queryFor(normalized, qtypeOf(options.qtype)), client, options.transport);
  }

  /** Query counts per segment: answers the engine made (blocked, refused, ...) and logged decisions. */
  stats(): QueryCount[] {
    return this.counters.stats();
  }

  /** Writes out the block log's buffered decisions. */
  flush(): Promise<void> {
    return this.decisions.flush();
  }

  /** Stops list sources and closes the block log (flushing it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.control.stop();
    await this.decisions.close();
  }
}

/**
 * Builds an engine: reads and checks the config (as `dnsward config check` does), loads the
 * lists and subscribed sources, opens the block log, builds the policy. Throws DnswardError
 * naming what to fix.
 */
export async function createPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const env = options.env ?? process.env;
  const { config, warnings, source } = await loadEmbeddedConfig(options, env);
  const logger = options.logger ?? createLogger(config.log.level, config.instance);
  for (const warning of warnings) logger.warn({ component: 'engine' }, warning);
  const lists = new ListRegistry();
  for (const snapshot of await loadListDir(config.lists.dir)) lists.set(snapshot);
  const networkLists = await loadNetworkListDir(config.lists.dir);
  checkSegmentLists(config, new Set([...lists.names(), ...networkLists.map((l) => l.name), ...config.lists.sources.map((s) => s.name)]), source);
  const sources = await startSources(config, lists, logger);
  let decisions: DecisionSink;
  try {
    decisions = options.decisions ?? ((await createAuditSink(config, logger)) as AuditSink);
  } catch (error) {
    await sources?.stop();
    throw error;
  }
  const configFile = options.configFile;
  const loadConfig = configFile === undefined ? undefined : async (): Promise<Config> => (await loadEmbeddedConfig({ configFile }, env)).config;
  try {
    return new PolicyEngine({ config, lists, networkLists, sources, decisions, logger, loadConfig, baseDir: options.baseDir, env });
  } catch (error) {
    await Promise.allSettled([sources?.stop(), decisions.close()]);
    throw error;
  }
}

async function startSources(config: Config, lists: ListRegistry, logger: Logger): Promise<ListSources | undefined> {
  // Subscribed sources (and undici) are loaded only when configured, as in the replica.
  if (config.lists.sources.length === 0) return undefined;
  return (await import('../lists/sources.ts')).startListSources(config.lists, lists, logger);
}

function qtypeOf(qtype: number | string | undefined): number {
  if (qtype === undefined) return TYPE.A;
  if (typeof qtype === 'number' && Number.isInteger(qtype) && qtype >= 0 && qtype <= 0xffff) return qtype;
  if (typeof qtype === 'string') {
    const upper = qtype.toUpperCase();
    const known = (TYPE as Record<string, number>)[upper];
    if (known !== undefined) return known;
    const generic = /^TYPE(\d{1,5})$/.exec(upper);
    if (generic && Number(generic[1]) <= 0xffff) return Number(generic[1]);
  }
  throw new DnswardError(ErrorCodes.USAGE, `qtype ${JSON.stringify(qtype)} is not a query type; give a number 0-65535 or a mnemonic such as "A", "AAAA", "HTTPS"`);
}

/** A query message for `name` (ID 0, RD set), as a stub resolver would send it. */
function queryFor(name: string, qtype: number): Buffer {
  const qname = encodeName(name);
  const out = Buffer.alloc(12 + qname.length + 4);
  out.writeUInt16BE(FLAG.RD, 2);
  out.writeUInt16BE(1, 4);
  qname.copy(out, 12);
  out.writeUInt16BE(qtype, 12 + qname.length);
  out.writeUInt16BE(CLASS_IN, 14 + qname.length);
  return out;
}
