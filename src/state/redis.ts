// Shared state in Redis (ioredis): the fleet's implementation of SharedState. Every call fails
// fast with SharedStateUnavailable while Redis is away (ConnectionTracker.run); pub/sub runs on
// its own connection and reports a resubscription as a `resync` event, since messages sent
// while it was away are lost.
import { promisify } from 'node:util';
import { zstdDecompress } from 'node:zlib';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/sections/redis.ts';
import { GENESIS } from '../audit/event.ts';
import { ConnectionTracker, createRedisClients, type RedisClient, type RedisClients } from './redis-connection.ts';
import { type RedisKeys, redisKeys } from './redis-keys.ts';
import { ACQUIRE_LEASE, APPEND_CHANGES, PUT_SOURCE_META, RELEASE_LEASE, runScript, SHIP_EVENTS } from './redis-scripts.ts';
import { SpanCompressor } from './span-compressor.ts';
import { parseEventId } from './stream-ids.ts';
import type { ChainHead, EventSpan, FleetEvent, SharedSource, SharedState, ShipResult, StateStatus, StreamEntry } from './types.ts';

const DAY_MS = 86_400_000;
const zstdDecompressAsync = promisify(zstdDecompress);

export class RedisState implements SharedState {
  readonly kind = 'redis';
  readonly keys: RedisKeys;
  readonly mode: RedisClients['mode'];
  private readonly main: RedisClient;
  private readonly bulk: RedisClient;
  private readonly sub: RedisClient;
  private readonly tracker: ConnectionTracker;
  private readonly listeners = new Set<(event: FleetEvent) => void>();
  private readonly config: RedisConfig;
  private readonly log: Logger;
  private closed = false;
  /**
   * Spans go into the stream zstd-compressed (field `z`): Redis receives and keeps an eighth of
   * the bytes. Measured on bench events (~446 bytes each): Redis spent 1.5 us of CPU per event
   * on plain spans and 0.2 on compressed ones; compressing costs the replica ~0.6 us, in libuv's
   * threadpool (off the event loop).
   */
  private readonly compressor = new SpanCompressor();

  constructor(config: RedisConfig, instance: string, logger: Logger, clients: RedisClients = createRedisClients(config, instance)) {
    this.config = config;
    this.keys = redisKeys(config.key_prefix);
    this.mode = clients.mode;
    this.main = clients.main;
    this.bulk = clients.bulk;
    this.sub = clients.sub;
    this.log = logger.child({ component: 'redis' });
    this.tracker = new ConnectionTracker([this.main, this.bulk], this.log);
    this.sub.on('error', () => undefined); // reported through the command connections
    this.sub.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      let event: FleetEvent;
      try {
        event = JSON.parse(message) as FleetEvent;
      } catch {
        return;
      }
      this.emit(event);
    });
    this.sub.on('ready', () => this.emit({ type: 'resync' }));
    this.sub.subscribe(this.keys.channel).catch((error: unknown) => {
      if (!this.closed) this.log.warn({ err: error }, 'redis: subscribing to the event channel failed; list changes arrive by polling until it works');
    });
  }

  status(): StateStatus {
    return this.tracker.status();
  }

  onStatus(listener: (status: StateStatus) => void): () => void {
    return this.tracker.onChange(listener);
  }

  async changesHead(): Promise<ChainHead> {
    return this.tracker.run('reading the change log', async () => {
      const n = await this.main.llen(this.keys.changes);
      if (n === 0) return { seq: 0, hash: GENESIS };
      const last = await this.main.lindex(this.keys.changes, -1);
      if (last === null) return { seq: 0, hash: GENESIS };
      return { seq: n, hash: (JSON.parse(last) as { hash: string }).hash };
    });
  }

  async changesSince(seq: number): Promise<string[]> {
    return this.tracker.run('reading the change log', () => this.bulk.lrange(this.keys.changes, seq, -1));
  }

  async appendChanges(expected: ChainHead, lines: readonly string[]): Promise<true | ChainHead> {
    const result = await this.tracker.run('appending to the change log', () => runScript(this.main, APPEND_CHANGES, [this.keys.changes], [String(expected.seq), expected.hash, ...lines]));
    if (result === 1) return true;
    const [seq, hash] = result as [number, string];
    return { seq: Number(seq), hash };
  }

  async publish(event: FleetEvent): Promise<void> {
    await this.tracker.run('publishing an event', () => this.main.publish(this.keys.channel, JSON.stringify(event)));
  }

  subscribe(listener: (event: FleetEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async putReplica(instance: string, json: string): Promise<void> {
    await this.tracker.run('writing the heartbeat', () => this.main.hset(this.keys.replicas, instance, json));
  }

  async replicas(): Promise<Record<string, string>> {
    return this.tracker.run('reading the replicas', () => this.main.hgetall(this.keys.replicas));
  }

  async removeReplicas(instances: readonly string[]): Promise<void> {
    if (instances.length === 0) return;
    await this.tracker.run('removing replicas', () => this.main.hdel(this.keys.replicas, ...instances));
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const result = await this.tracker.run('taking a lease', () => runScript(this.main, ACQUIRE_LEASE, [this.keys.lease(name)], [holder, String(ttlMs)]));
    return result === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.tracker.run('releasing a lease', () => runScript(this.main, RELEASE_LEASE, [this.keys.lease(name)], [holder]));
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    return (await this.tracker.run('reading a lease', () => this.main.get(this.keys.lease(name)))) ?? undefined;
  }

  async sourceMeta(name: string): Promise<string | undefined> {
    return (await this.tracker.run('reading a shared source', () => this.main.hget(this.keys.source(name), 'meta'))) ?? undefined;
  }

  async getSource(name: string): Promise<SharedSource | undefined> {
    const [meta, body] = await this.tracker.run('reading a shared source', () => this.bulk.hmgetBuffer(this.keys.source(name), 'meta', 'body'));
    if (!meta || !body) return undefined;
    return { meta: meta.toString('utf8'), body };
  }

  async putSource(name: string, source: SharedSource): Promise<void> {
    await this.tracker.run('sharing a source', () => this.bulk.hset(this.keys.source(name), 'meta', source.meta, 'body', source.body));
  }

  async putSourceMeta(name: string, meta: string): Promise<boolean> {
    return (await this.tracker.run('sharing a source', () => runScript(this.main, PUT_SOURCE_META, [this.keys.source(name)], [meta]))) === 1;
  }

  async shipEvents(instance: string, span: EventSpan, gap = false): Promise<ShipResult> {
    const days = this.config.stream_retention_days;
    const cutoff = days > 0 ? String(Date.now() - Math.round(days * DAY_MS)) : '0';
    const k = this.keys;
    const lines = await this.compressor.compress(span.lines);
    const args = [instance, String(span.first), String(span.last), gap ? '1' : '0', String(this.config.stream_max_events), cutoff, lines];
    const result = (await this.tracker.run('shipping block-log events', () => runScript(this.bulk, SHIP_EVENTS, [k.stream, k.shipped, k.spans, k.events], args))) as number[];
    const [ok = 0, seq = -1, count = 0] = result.map(Number);
    return ok === 1 ? { ok: true, seq, count } : { ok: false, shipped: seq };
  }

  async shippedSeq(instance: string): Promise<number | undefined> {
    const value = await this.tracker.run('reading the stream position', () => this.main.hget(this.keys.shipped, instance));
    return value === null ? undefined : Number(value);
  }

  async readStream(after: string, count: number): Promise<StreamEntry[]> {
    const from = parseEventId(after);
    const out: StreamEntry[] = [];
    // The entry of `after` first (the events after it in that entry), then the next ones.
    let start = from ? from.entry : '-';
    const skip = from ? from.k + 1 : 0;
    while (out.length < count) {
      const rows = await this.tracker.run('reading the stream', () => this.bulk.xrangeBuffer(this.keys.stream, start, '+', 'COUNT', 8));
      for (const [rawId, fields] of rows) {
        const id = rawId.toString();
        const f = new Map<string, Buffer>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set((fields[i] as Buffer).toString(), fields[i + 1] as Buffer);
        const lines = (await entryLines(f)).split('\n');
        const instance = f.get('i')?.toString() ?? '';
        // Only the entry `after` is in skips the events up to it.
        for (let k = id === from?.entry ? skip : 0; k < lines.length; k++) {
          const line = lines[k] as string;
          if (line !== '') out.push({ id: `${id}/${k}`, instance, seq: Number(/"seq":(\d+)/.exec(line)?.[1] ?? 0), line });
        }
      }
      if (rows.length < 8) break;
      start = `(${(rows.at(-1) as [Buffer, Buffer[]])[0].toString()}`;
    }
    return out;
  }

  async streamLength(): Promise<number> {
    return Number((await this.tracker.run('reading the stream length', () => this.main.get(this.keys.events))) ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.compressor.close();
    this.tracker.close();
    this.listeners.clear();
    await Promise.allSettled([this.main, this.bulk, this.sub].map((c) => (c.status === 'ready' ? c.quit() : Promise.resolve(c.disconnect()))));
    for (const c of [this.main, this.bulk, this.sub]) c.disconnect();
  }

  private emit(event: FleetEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, event: event.type }, 'a fleet event handler failed');
      }
    }
  }
}

/** The event lines of a stream entry: `z` zstd-compressed, or `e` plain (entries shipped before compression). */
async function entryLines(fields: Map<string, Buffer>): Promise<string> {
  const packed = fields.get('z');
  if (packed !== undefined) return (await zstdDecompressAsync(packed)).toString();
  return fields.get('e')?.toString() ?? '';
}
