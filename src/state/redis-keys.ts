// Every Redis key and the channel dnsward uses, under redis.key_prefix ("dnsward:" by default).
// docs/FLEET.md lists them; keys that one script changes together share a {hash tag}, so they
// live in one Cluster slot.

export interface RedisKeys {
  /** List: the organisation's list changes, hash-chained JSON records; record n at position n. */
  changes: string;
  /** Pub/sub channel: FleetEvent JSON. */
  channel: string;
  /** Hash: instance → last heartbeat (JSON). */
  replicas: string;
  /** Stream: every replica's block-log events, one entry per span of a replica's events (fields i, f, l, e). */
  stream: string;
  /** Hash: instance → last seq in the stream. */
  shipped: string;
  /** List: "<entry id> <events>" per stream entry, oldest first (what trimming counts by). */
  spans: string;
  /** String: events in the stream. */
  events: string;
  /** Hash: a subscribed source's shared copy (fields meta, body). */
  source(name: string): string;
  /** String with a TTL: who holds a lease (e.g. "sources:<name>"). */
  lease(name: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    changes: `${prefix}changes`,
    channel: `${prefix}events`,
    replicas: `${prefix}replicas`,
    stream: `${prefix}{audit}:stream`,
    shipped: `${prefix}{audit}:shipped`,
    spans: `${prefix}{audit}:spans`,
    events: `${prefix}{audit}:events`,
    source: (name) => `${prefix}sources:${name}`,
    lease: (name) => `${prefix}${name}:lease`,
  };
}
