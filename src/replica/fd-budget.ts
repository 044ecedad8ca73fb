// File descriptors: a connection flood must never take the ones the resolver itself needs
// (upstream sockets, block-log files, list and key files, Redis). The connection caps of the
// HTTP listeners and of DNS over TCP (and TLS, HTTPS) are fitted, together, under the process's limit minus a
// reserve for those; when the configured caps do not fit, they are scaled down and the
// scaling is logged with the keys to change.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { MAX_TCP_RETRIES_IN_FLIGHT } from '../resolver/upstream-pool.ts';

/**
 * Descriptors kept for the resolver's own work: UDP upstream sockets (16 per family, and
 * the ones being rotated out), TCP retries to upstreams (encrypted upstreams come on top), block-log files and its worker,
 * list/config/key reads, Redis, stdio, the listening sockets, Node's own (epoll, pipes).
 */
export const RESERVED_DESCRIPTORS = 128 + MAX_TCP_RETRIES_IN_FLIGHT;

/** More for each DNS worker thread (dns.workers > 1): its own upstream sockets (UDP, rotated, TCP retries) and listening sockets. */
export const DESCRIPTORS_PER_DNS_WORKER = 48 + MAX_TCP_RETRIES_IN_FLIGHT;

/** Per encrypted upstream, on each thread that resolves: a DoT connection; a DoH pool (HTTP/2, or up to 4 HTTP/1.1 connections). */
export const DESCRIPTORS_PER_DOT_UPSTREAM = 1;
export const DESCRIPTORS_PER_DOH_UPSTREAM = 4;

/** Descriptors the encrypted upstreams (tls://, https://) may hold open, on one resolving thread. */
export function encryptedUpstreamDescriptors(upstreams: readonly string[] | undefined): number {
  let total = 0;
  for (const upstream of upstreams ?? []) {
    if (upstream.startsWith('tls://')) total += DESCRIPTORS_PER_DOT_UPSTREAM;
    else if (upstream.startsWith('https://')) total += DESCRIPTORS_PER_DOH_UPSTREAM;
  }
  return total;
}

/** The soft RLIMIT_NOFILE of this process (Linux /proc), or undefined where it cannot be read. */
export function descriptorLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === undefined || soft === 'unlimited') return undefined;
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface FittedLimits {
  config: Config;
  /** Set when the caps were scaled down: what, and why (for a warning). */
  scaled?: { limit: number; budget: number; before: Record<string, number>; after: Record<string, number> };
}

/**
 * Returns `config` with dns.tcp.max_connections (per DNS, DoT and DoH address), http.max_connections and
 * api.max_connections scaled down so that all of them together fit the descriptor budget.
 */
export function fitConnectionLimits(config: Config, limit: number | undefined, dnsWorkers = 1): FittedLimits {
  if (limit === undefined) return { config };
  // DNS over TCP, TLS and HTTPS: each listener takes dns.tcp.max_connections.
  const dnsListeners = config.dns.listen.length + config.dns.doh_listen.length + config.dns.dot_listen.length;
  const http = config.http.enabled ? config.http.max_connections : 0;
  const api = config.api.enabled ? config.api.max_connections : 0;
  const dns = config.dns.tcp.max_connections * dnsListeners;
  const total = http + api + dns;
  // Each resolving thread (the main one, and every DNS worker) holds its own upstream connections.
  const resolvingThreads = dnsWorkers > 1 ? dnsWorkers + 1 : 1;
  const reserved = RESERVED_DESCRIPTORS + (dnsWorkers > 1 ? dnsWorkers * DESCRIPTORS_PER_DNS_WORKER : 0) + resolvingThreads * encryptedUpstreamDescriptors(config.upstreams);
  const budget = Math.max(limit - reserved, 16);
  if (total <= budget) return { config };
  const factor = budget / total;
  const fit = (value: number): number => Math.max(1, Math.floor(value * factor));
  const next: Config = {
    ...config,
    dns: { ...config.dns, tcp: { ...config.dns.tcp, max_connections: Math.max(1, Math.floor(fit(dns) / dnsListeners)) } },
    http: { ...config.http, max_connections: fit(config.http.max_connections) },
    api: { ...config.api, max_connections: fit(config.api.max_connections) },
  };
  return {
    config: next,
    scaled: {
      limit,
      budget,
      before: { 'dns.tcp.max_connections': config.dns.tcp.max_connections, 'http.max_connections': config.http.max_connections, 'api.max_connections': config.api.max_connections },
      after: { 'dns.tcp.max_connections': next.dns.tcp.max_connections, 'http.max_connections': next.http.max_connections, 'api.max_connections': next.api.max_connections },
    },
  };
}
