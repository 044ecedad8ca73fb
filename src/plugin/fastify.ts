// dnsward's HTTP side as fastify plugins for a host's own app. dnswardFeed serves the list
// feed with the routes of `dnsward serve`'s public listener (src/http/routes/lists.ts): the
// page, the JSON index, every format with the same headers, ETags, 304s, gzip and brotli
// bodies, the signed manifests and the public key. dnswardAudit serves the auditor API of
// the private listener (events, summary, timeline) behind the same bearer tokens. The host's
// app keeps its own listener, TLS and limits; the plugins register routes only.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { AuditReader } from '../audit/reader.ts';
import type { Config } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { registerAuditTimelineRoutes } from '../http/routes/audit-timeline.ts';
import { registerAuditRoutes } from '../http/routes/audit.ts';
import { registerListRoutes } from '../http/routes/lists.ts';
import { loadListDir } from '../lists/list-file.ts';
import { loadNetworkListDir } from '../lists/network-list.ts';
import { NetworkListRegistry } from '../lists/network-registry.ts';
import { ListRegistry } from '../lists/registry.ts';
import { type ConfigSections, configFromSections } from './config.ts';
import { PolicyEngine } from './engine.ts';

/** A segment that makes a config of sections that name none (the plugins enforce nothing). */
const NO_POLICY = [{ name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' }];

export interface DnswardFeedOptions {
  /**
   * The lists to serve: a policy engine's lists in force, with its config's `lists:` settings;
   * or the `lists:` section itself (YAML keys: dir, public_url, signing_key_file, ...), whose
   * dir is read once at registration.
   */
  lists: PolicyEngine | ConfigSections;
  /** Where relative paths of a `lists:` section resolve (default: the current directory). */
  baseDir?: string;
  /** Default: the engine's logger, else the app's. */
  logger?: Logger;
}

/**
 * `app.register(dnswardFeed, { lists, prefix })`. With a prefix, set lists.public_url to the
 * address subscribers use, prefix included: the index, the page and the files name it.
 */
export const dnswardFeed: FastifyPluginAsync<DnswardFeedOptions> = async (app, options) => {
  let config: Config;
  let registry: ListRegistry;
  let networks: NetworkListRegistry;
  if (options.lists instanceof PolicyEngine) {
    config = options.lists.config;
    registry = options.lists.lists;
    networks = options.lists.networks;
  } else {
    config = configFromSections({ segments: NO_POLICY, lists: options.lists }, 'dnswardFeed', options.baseDir).config;
    registry = new ListRegistry();
    for (const snapshot of await loadListDir(config.lists.dir)) registry.set(snapshot);
    networks = new NetworkListRegistry();
    networks.replace(await loadNetworkListDir(config.lists.dir));
  }
  if (app.prefix !== '' && config.lists.public_url === undefined) {
    throw new DnswardError(
      ErrorCodes.CONFIG,
      `dnswardFeed: registered under the prefix "${app.prefix}" without lists.public_url; set it to the address subscribers use, prefix included (e.g. "https://example.org${app.prefix}"), so the index and the page link to the files`,
    );
  }
  // Registering the plugin is the ask: lists.feed switches the standalone listener's feed only.
  const served: Config = { ...config, lists: { ...config.lists, feed: true } };
  registerListRoutes(app, { config: served, logger: loggerOf(app, options), lists: registry, networks });
};

export interface DnswardAuditOptions {
  /** The block log to serve: a policy engine's (its config's audit.dir and auth.tokens), or the `audit:` section (YAML keys). */
  audit: PolicyEngine | ConfigSections;
  /** With an `audit:` section: the `auth:` section (tokens with the auditor or admin role). */
  auth?: ConfigSections;
  /** Where relative paths of the sections resolve (default: the current directory). */
  baseDir?: string;
  /** Where the events are read from; default: the files in audit.dir. */
  reader?: AuditReader;
}

/** `app.register(dnswardAudit, { audit, prefix })`: GET /api/audit/events, /summary and /timeline under the prefix. */
export const dnswardAudit: FastifyPluginAsync<DnswardAuditOptions> = async (app, options) => {
  const config =
    options.audit instanceof PolicyEngine
      ? options.audit.config
      : configFromSections({ segments: NO_POLICY, audit: options.audit, ...(options.auth ? { auth: options.auth } : {}) }, 'dnswardAudit', options.baseDir).config;
  const deps = { config, audit: options.reader };
  registerAuditRoutes(app, deps);
  registerAuditTimelineRoutes(app, deps);
};

function loggerOf(app: FastifyInstance, options: DnswardFeedOptions): Logger {
  if (options.logger) return options.logger;
  if (options.lists instanceof PolicyEngine) return options.lists.logger;
  // fastify's logger is pino (or its no-op stand-in with the same methods).
  return app.log as unknown as Logger;
}
