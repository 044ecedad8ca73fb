// Cache of upstream answers as raw bytes (positive and RFC 2308 negative), keyed by
// name, type, class and the DO bit. Bounded in entries: when full, the oldest insertion
// goes first (Map keeps insertion order, so eviction is O(1)).
import type { AnswerScan } from '../dns/answer-scan.ts';

export interface CacheEntry {
  readonly buf: Buffer;
  readonly scan: AnswerScan;
  /** Epoch ms when stored; TTLs are aged by whole seconds since then. */
  readonly storedAt: number;
  readonly expiresAt: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly maxEntries: number;
  private readonly maxTtl: number;
  readonly stats: CacheStats = { hits: 0, misses: 0, inserts: 0, evictions: 0 };

  private readonly maxStaleMs: number;

  /** maxStaleSeconds: how long expired answers are kept for serve-stale (RFC 8767); 0 = not kept. */
  constructor(maxEntries: number, maxTtlSeconds = 86_400, maxStaleSeconds = 0) {
    this.maxEntries = maxEntries;
    this.maxTtl = maxTtlSeconds;
    this.maxStaleMs = maxStaleSeconds * 1000;
  }

  /** The key parseQuery computes as `cacheKey` (name, NUL, type, class, DO as octets). */
  static key(qname: string, qtype: number, qclass: number, dnssecOk: boolean): string {
    return `${qname}\0${String.fromCharCode(qtype >> 8, qtype & 0xff, qclass >> 8, qclass & 0xff)}${dnssecOk ? '\x01' : '\0'}`;
  }

  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.stats.misses++;
      return undefined;
    }
    if (entry.expiresAt <= now) {
      if (entry.expiresAt + this.maxStaleMs <= now) this.entries.delete(key);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return entry;
  }

  /** Stores an answer for min(its TTL, maxTtl) seconds; answers with TTL 0 are not stored. */
  set(key: string, buf: Buffer, scan: AnswerScan, now: number): void {
    const ttl = Math.min(scan.cacheTtl, this.maxTtl);
    if (ttl <= 0 || this.maxEntries === 0) return;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
        this.stats.evictions++;
      }
    }
    this.entries.delete(key);
    this.entries.set(key, { buf, scan, storedAt: now, expiresAt: now + ttl * 1000 });
    this.stats.inserts++;
  }

  /** An expired answer still inside the serve-stale window, if any. */
  getStale(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt + this.maxStaleMs <= now) return undefined;
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
