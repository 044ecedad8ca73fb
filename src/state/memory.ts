// Shared state in this process: the default for one replica (no redis section), and what unit
// tests run several fleet components against. It behaves as Redis does (the change log's
// compare-and-append, leases that expire, the stream's exactly-once rule and its cap), so the
// fleet code cannot tell them apart; it is always up.
import { EventEmitter } from 'node:events';
import { GENESIS } from '../audit/event.ts';
import { compareEventIds } from './stream-ids.ts';
import type { ChainHead, EventSpan, FleetEvent, SharedSource, SharedState, ShipResult, StateStatus, StreamEntry } from './types.ts';

export interface MemoryStateOptions {
  /** The stream keeps at most this many entries (oldest dropped first). */
  streamMaxEvents?: number;
  now?: () => number;
}

export class MemoryState implements SharedState {
  readonly kind = 'memory';
  private readonly bus = new EventEmitter();
  private readonly since = new Date().toISOString();
  private readonly changes: string[] = [];
  private readonly replicaBeats = new Map<string, string>();
  private readonly leases = new Map<string, { holder: string; until: number }>();
  private readonly sources = new Map<string, SharedSource>();
  private readonly stream: StreamEntry[] = [];
  private readonly shipped = new Map<string, number>();
  private readonly maxEvents: number;
  private readonly now: () => number;
  private lastId = { ms: 0, n: 0 };

  constructor(options: MemoryStateOptions = {}) {
    this.maxEvents = options.streamMaxEvents ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  status(): StateStatus {
    return { state: 'up', since: this.since };
  }

  onStatus(): () => void {
    return () => undefined;
  }

  async changesHead(): Promise<ChainHead> {
    return headOf(this.changes);
  }

  async changesSince(seq: number): Promise<string[]> {
    return this.changes.slice(Math.max(0, seq));
  }

  async appendChanges(expected: ChainHead, lines: readonly string[]): Promise<true | ChainHead> {
    const head = headOf(this.changes);
    if (head.seq !== expected.seq || head.hash !== expected.hash) return head;
    this.changes.push(...lines);
    return true;
  }

  async publish(event: FleetEvent): Promise<void> {
    // Delivered later, as over a network: a publisher never runs its subscribers inline.
    setImmediate(() => this.bus.emit('event', JSON.parse(JSON.stringify(event)) as FleetEvent));
  }

  subscribe(listener: (event: FleetEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }

  async putReplica(instance: string, json: string): Promise<void> {
    this.replicaBeats.set(instance, json);
  }

  async replicas(): Promise<Record<string, string>> {
    return Object.fromEntries(this.replicaBeats);
  }

  async removeReplicas(instances: readonly string[]): Promise<void> {
    for (const i of instances) this.replicaBeats.delete(i);
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const current = this.leases.get(name);
    if (current && current.until > this.now() && current.holder !== holder) return false;
    this.leases.set(name, { holder, until: this.now() + ttlMs });
    return true;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    const current = this.leases.get(name);
    return current && current.until > this.now() ? current.holder : undefined;
  }

  async sourceMeta(name: string): Promise<string | undefined> {
    return this.sources.get(name)?.meta;
  }

  async getSource(name: string): Promise<SharedSource | undefined> {
    const s = this.sources.get(name);
    return s && { meta: s.meta, body: Buffer.from(s.body) };
  }

  async putSource(name: string, source: SharedSource): Promise<void> {
    this.sources.set(name, { meta: source.meta, body: Buffer.from(source.body) });
  }

  async putSourceMeta(name: string, meta: string): Promise<boolean> {
    const s = this.sources.get(name);
    if (s) s.meta = meta;
    return s !== undefined;
  }

  async shipEvents(instance: string, span: EventSpan, gap = false): Promise<ShipResult> {
    const shipped = this.shipped.get(instance);
    if (shipped !== undefined && !(span.first === shipped + 1 || (gap && span.first > shipped))) return { ok: false, shipped };
    const entry = this.nextId();
    const lines = span.lines.toString('utf8').split('\n').filter((l) => l !== '');
    lines.forEach((line, k) => this.stream.push({ id: `${entry}/${k}`, instance, seq: Number(/"seq":(\d+)/.exec(line)?.[1] ?? 0), line }));
    if (this.stream.length > this.maxEvents) this.stream.splice(0, this.stream.length - this.maxEvents);
    this.shipped.set(instance, span.last);
    return { ok: true, seq: span.last, count: span.last - span.first + 1 };
  }

  async shippedSeq(instance: string): Promise<number | undefined> {
    return this.shipped.get(instance);
  }

  async readStream(after: string, count: number): Promise<StreamEntry[]> {
    const start = after === '' ? 0 : this.stream.findIndex((e) => compareEventIds(e.id, after) > 0);
    return start < 0 ? [] : this.stream.slice(start, start + count).map((e) => ({ ...e }));
  }

  async streamLength(): Promise<number> {
    return this.stream.length;
  }

  async close(): Promise<void> {
    this.bus.removeAllListeners();
  }

  /** Entry ids as Redis makes them: "<ms>-<n>", increasing. */
  private nextId(): string {
    const ms = Math.max(this.now(), this.lastId.ms);
    this.lastId = ms === this.lastId.ms ? { ms, n: this.lastId.n + 1 } : { ms, n: 0 };
    return `${ms}-${this.lastId.n}`;
  }
}

/** The head of a change log held as JSON lines. */
export function headOf(lines: readonly string[]): ChainHead {
  const last = lines.at(-1);
  if (last === undefined) return { seq: 0, hash: GENESIS };
  const record = JSON.parse(last) as { seq: number; hash: string };
  return { seq: record.seq, hash: record.hash };
}

