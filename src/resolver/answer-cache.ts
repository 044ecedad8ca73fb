// Cache of upstream answers as raw bytes (positive and RFC 2308 negative), keyed by
// name, type, class and the DO bit. Bounded in entries: when full, the oldest insertion
// goes first (Map keeps insertion order). The oldest comes from one iterator kept across
// evictions, not a fresh `keys().next()`: V8's Map leaves a deleted entry as a hole until it
// rehashes, and a fresh iterator walks every hole at the front, tens of thousands of them in
// a full cache with unique names (13 us an eviction at 50,000 entries, a third of the miss
// path's CPU); the kept iterator walks each hole once.
//
// The answers' bytes are copied into shared chunks, in insertion order, and each entry holds a
// view of its bytes: a Buffer of its own (as an upstream datagram arrives) costs about 360
// bytes besides the answer (a backing store, its bookkeeping and an ArrayBuffer), more than
// most answers. A chunk lives while one of its views does; because eviction is in insertion
// order, every entry of a chunk is gone after `maxEntries` later insertions, so the chunks
// hold at most the bytes of the last `maxEntries` answers, like separate Buffers would.
import type { AnswerScan } from '../dns/answer-scan.ts';

/** Size of one chunk of answer bytes; an answer larger than a quarter of it keeps its own Buffer. */
export const CHUNK_BYTES = 64 * 1024;
const OWN_BUFFER_ABOVE = CHUNK_BYTES / 4;

export interface CacheEntry {
  /** The answer as received (a view into a chunk shared with other entries). */
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
  private chunk = Buffer.allocUnsafeSlow(0);
  private chunkUsed = 0;
  /** Insertion order, from the oldest entry not yet evicted (live: it sees later insertions). */
  private oldestFirst: MapIterator<string> | undefined;

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
      const oldest = this.nextOldest();
      if (oldest !== undefined) {
        this.entries.delete(oldest);
        this.stats.evictions++;
      }
    }
    this.entries.delete(key);
    this.entries.set(key, { buf: this.copyIn(buf), scan: trimmed(scan), storedAt: now, expiresAt: now + ttl * 1000 });
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
    this.oldestFirst = undefined;
    this.chunk = Buffer.allocUnsafeSlow(0);
    this.chunkUsed = 0;
  }

  /**
   * The oldest key. Every key the iterator passed was evicted, so the next it gives is the
   * oldest left. It cannot finish while the cache is full; should it ever, a fresh one keeps
   * the cache bounded instead of letting it grow.
   */
  private nextOldest(): string | undefined {
    this.oldestFirst ??= this.entries.keys();
    let next = this.oldestFirst.next();
    if (next.done) {
      this.oldestFirst = this.entries.keys();
      next = this.oldestFirst.next();
    }
    return next.done ? undefined : next.value;
  }

  /** The answer's bytes in the current chunk (a new one when it is full); large answers keep their own Buffer. */
  private copyIn(buf: Buffer): Buffer {
    if (buf.length > OWN_BUFFER_ABOVE) return buf;
    if (this.chunkUsed + buf.length > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.chunkUsed = 0;
    }
    const start = this.chunkUsed;
    this.chunkUsed += buf.copy(this.chunk, start);
    return this.chunk.subarray(start, this.chunkUsed);
  }
}

/**
 * The scan with its arrays cut to their length, in place (the object keeps its shape): arrays
 * filled by push() hold room for 17 elements, 152 bytes each, and a cached answer keeps two or
 * three of them; a heap snapshot of the soak run found 100,000 of them, 15 MB of a 68 MB heap.
 */
function trimmed(scan: AnswerScan): AnswerScan {
  scan.ttlOffsets = exact(scan.ttlOffsets);
  scan.aOffsets = exact(scan.aOffsets);
  scan.aaaaOffsets = exact(scan.aaaaOffsets);
  scan.cnameTargets = exact(scan.cnameTargets);
  return scan;
}

/** A copy with no spare room (slice allocates exactly the elements); empty arrays are shared ones already. */
function exact<T>(values: T[]): T[] {
  return values.length === 0 ? values : values.slice();
}
