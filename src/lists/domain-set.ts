// A compact set of domain names: every name in one pool as a length byte and its bytes, and an
// open-addressing table of pool offsets. 6-12 bytes per name (its length byte and 5-11 of
// table) beside the name itself, versus ~100 for a Set<string>; growable, so a million-name
// list streams straight in.
//
// Hand-written for issue 3's memory bar (1M names in well under 150 MB for the whole
// process) and for allocation-free suffix lookups on the query path. The hash is FNV-1a
// over the name read right to left, so one pass over a query name from its end yields
// the hash of every suffix (com, tiktok.com, www.tiktok.com). No hash is stored per name:
// a probe checks the length byte, then the bytes; growing the table or deleting rehashes
// from the pool (issue 13: per-name offset, length and hash arrays cost 9 MB a million).

/** A copy of a set's names for another thread: each name as a length byte and its bytes; a deleted one has 0 for its first byte. */
export interface NameBlock {
  readonly pool: Uint8Array;
}

import { allocate, copyOf, isShared, resized } from './set-memory.ts';

/**
 * A set's storage on SharedArrayBuffers (share()), for DNS worker threads: every thread wraps
 * the same memory (fromShared()), so a million names cost their bytes once, not once per thread.
 */
export interface SharedSetParts {
  readonly pool: Uint8Array;
  readonly poolUsed: number;
  readonly slots: Int32Array;
  readonly count: number;
  readonly deleted: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** The table keeps at least 1/0.75 slots per name (linear probing stays short below ~0.75 load). */
const LOAD_FACTOR_INVERSE = 4 / 3;
/** The first byte of a deleted name (no name starts with it: add() refuses one that would). */
const DELETED = 0;

export class DomainSet {
  /** Names as records: a length byte (1-253), then the name's bytes; a deleted name's first byte is DELETED. */
  private pool: Uint8Array;
  private poolUsed = 0;
  /** Per slot, the pool offset of a name's record + 1; 0 = empty. */
  private slots: Int32Array;
  private slotMask: number;
  /** Records in the pool; deleted ones stay there (out of the table). */
  private count = 0;
  private deleted = 0;

  constructor(expectedNames = 16, expectedBytes = expectedNames * 24) {
    const names = Math.max(expectedNames, 16);
    // One length byte per name beside its bytes.
    this.pool = allocate(Uint8Array, Math.max(expectedBytes + names, 256));
    let capacity = 32;
    while (capacity < names * LOAD_FACTOR_INVERSE) capacity *= 2;
    this.slots = allocate(Int32Array, capacity);
    this.slotMask = capacity - 1;
  }

  static from(names: Iterable<string>): DomainSet {
    const list = Array.isArray(names) ? (names as string[]) : [...names];
    let bytes = 0;
    for (const n of list) bytes += n.length;
    const set = new DomainSet(list.length, bytes);
    for (const n of list) set.add(n);
    return set;
  }

  /** A read-only view over another thread's share(): the same memory, no copy. */
  static fromShared(parts: SharedSetParts): DomainSet {
    const set = new DomainSet(0, 0);
    Object.assign(set, parts, { slotMask: parts.slots.length - 1 });
    return set;
  }

  /** Hash of name[start, end) as lookups compute it. */
  static hash(name: string, start: number, end: number): number {
    let hash = FNV_OFFSET;
    for (let i = end - 1; i >= start; i--) hash = Math.imul(hash ^ name.charCodeAt(i), FNV_PRIME);
    return hash;
  }

  /** Adds a normalised name (lowercase, no trailing dot, 1-253 chars); false when it was there already. */
  add(name: string): boolean {
    const length = name.length;
    if (length === 0 || length > 253 || name.charCodeAt(0) === DELETED) return false;
    // The pool holds bytes: a character above U+00FF would be stored as another name.
    for (let i = 0; i < length; i++) if (name.charCodeAt(i) > 0xff) return false;
    const hash = DomainSet.hash(name, 0, length);
    if (this.find(name, 0, length, hash) >= 0) return false;
    const at = this.reserve(length);
    for (let i = 0; i < length; i++) this.pool[at + 1 + i] = name.charCodeAt(i);
    this.place(at, hash);
    return true;
  }

  /** Adds name bytes already normalised (lowercase LDH, no trailing dot); false when present. */
  addBytes(bytes: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (length <= 0 || length > 253 || bytes[start] === DELETED) return false;
    let hash = FNV_OFFSET;
    for (let i = end - 1; i >= start; i--) hash = Math.imul(hash ^ (bytes[i] as number), FNV_PRIME);
    if (this.findBytes(bytes, start, length, hash) >= 0) return false;
    const at = this.reserve(length);
    this.pool.set(bytes.subarray(start, end), at + 1);
    this.place(at, hash);
    return true;
  }

  has(name: string): boolean {
    return this.find(name, 0, name.length, DomainSet.hash(name, 0, name.length)) >= 0;
  }

  /** Whether name[start, end) is in the set; `hash` = DomainSet.hash(name, start, end). */
  hasRange(name: string, start: number, end: number, hash: number): boolean {
    return this.find(name, start, end, hash) >= 0;
  }

  get size(): number {
    return this.count - this.deleted;
  }

  /**
   * Removes a name; false when it was not there. The slot is emptied and the probe run after it
   * shifted back (no tombstones), so lookups stay as short as before. Callers remove from a
   * clone(): a set in force is never changed.
   */
  delete(name: string): boolean {
    const slot = this.find(name, 0, name.length, DomainSet.hash(name, 0, name.length));
    if (slot < 0) return false;
    this.pool[this.slots[slot] as number] = DELETED;
    this.deleted++;
    let hole = slot;
    for (let next = (slot + 1) & this.slotMask; this.slots[next] !== 0; next = (next + 1) & this.slotMask) {
      const home = this.recordHash((this.slots[next] as number) - 1) & this.slotMask;
      // An entry stays when its home lies cyclically in (hole, next]; else it moves into the hole.
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (!stays) {
        this.slots[hole] = this.slots[next] as number;
        hole = next;
      }
    }
    this.slots[hole] = 0;
    return true;
  }

  /**
   * The storage on SharedArrayBuffers, for postMessage. Free when the set was built after
   * useSharedMemory() (src/lists/set-memory.ts); otherwise moved there once (one copy, the old
   * arrays become garbage). The set must not change afterwards: sets in force never do (changes
   * go to a clone()), and a set that grows would leave the shared memory behind.
   */
  share(): SharedSetParts {
    if (!isShared(this.pool)) this.pool = copyOf(this.pool, Math.max(this.poolUsed, 1), true);
    if (!isShared(this.slots)) this.slots = copyOf(this.slots, this.slots.length, true);
    const { pool, poolUsed, slots, count, deleted } = this;
    return { pool, poolUsed, slots, count, deleted };
  }

  /** An independent copy (typed arrays copied: for a million names, tens of MB at memcpy speed). */
  clone(): DomainSet {
    const copy = new DomainSet(0, 0);
    copy.pool = copyOf(this.pool, Math.max(this.poolUsed, 1));
    copy.poolUsed = this.poolUsed;
    copy.slots = copyOf(this.slots, this.slots.length);
    copy.slotMask = this.slotMask;
    copy.count = this.count;
    copy.deleted = this.deleted;
    return copy;
  }

  /**
   * The names equal to one of `roots` or below it, by one pass over the last bytes of each name
   * (no string per name): how the collateral guard finds entries under a protected subtree.
   */
  namesUnder(roots: readonly string[]): string[] {
    const found: string[] = [];
    const watch = suffixWatch(roots);
    if (!watch) return found;
    const pool = this.pool;
    for (let at = 0; at < this.poolUsed; at += 1 + (pool[at] as number)) {
      const start = at + 1;
      if (pool[start] === DELETED) continue;
      const end = start + (pool[at] as number);
      if (endsWithRoot(pool, start, end, watch)) found.push(Buffer.from(pool.buffer, pool.byteOffset + start, end - start).toString('latin1'));
    }
    return found;
  }

  /**
   * Bytes in use: the records (names and their length bytes) and the slot table. Loaders size
   * the pool from the file and never trim it: the reserved tail past the records is fresh
   * zeroed memory that nothing writes, so it costs address space, not resident memory, while a
   * trim (a copy) would hold both pools at once, 15 MB more at the peak for a million names.
   */
  get byteSize(): number {
    return this.poolUsed + this.slots.byteLength;
  }

  forEach(callback: (name: string) => void): void {
    forEachRecord(this.pool, this.poolUsed, callback);
  }

  /**
   * Copies the names out, to transfer to a worker thread (names() reads them there): for a
   * million names, 17 MB copied in 2 MB steps with a yield between, where building the strings
   * here would hold the event loop for hundreds of ms.
   */
  async exportNames(): Promise<NameBlock> {
    const pool = new Uint8Array(this.poolUsed);
    const step = 2 * 1024 * 1024;
    for (let i = 0; i < pool.length; i += step) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      pool.set(this.pool.subarray(i, Math.min(i + step, pool.length)), i);
    }
    return { pool };
  }

  /** The names of a block from exportNames(), in insertion order. */
  static names(block: NameBlock): string[] {
    const out: string[] = [];
    forEachRecord(block.pool, block.pool.length, (name) => out.push(name));
    return out;
  }

  /** All names, sorted (materialises strings: for renderers and small lists). */
  toSortedArray(): string[] {
    const out: string[] = [];
    this.forEach((n) => out.push(n));
    return out.sort();
  }

  /** The slot holding name[start, end), or -1. */
  private find(name: string, start: number, end: number, hash: number): number {
    const length = end - start;
    const pool = this.pool;
    let slot = hash & this.slotMask;
    while (true) {
      const ref = this.slots[slot] as number;
      if (ref === 0) return -1;
      // ref = record offset + 1: where the name's bytes start.
      if (pool[ref - 1] === length) {
        let i = 0;
        while (i < length && pool[ref + i] === name.charCodeAt(start + i)) i++;
        if (i === length) return slot;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  /** The slot holding bytes[start, start + length), or -1. */
  private findBytes(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const pool = this.pool;
    let slot = hash & this.slotMask;
    while (true) {
      const ref = this.slots[slot] as number;
      if (ref === 0) return -1;
      if (pool[ref - 1] === length) {
        let i = 0;
        while (i < length && pool[ref + i] === bytes[start + i]) i++;
        if (i === length) return slot;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  /** Room for a record of `length` name bytes, its length byte written: returns its offset. */
  private reserve(length: number): number {
    if ((this.size + 1) * LOAD_FACTOR_INVERSE > this.slots.length) this.growSlots();
    if (this.poolUsed + 1 + length > this.pool.length) this.growPool(1 + length);
    const at = this.poolUsed;
    this.pool[at] = length;
    this.poolUsed += 1 + length;
    this.count++;
    return at;
  }

  /** The hash of the name in the record at `at`, as lookups compute it. */
  private recordHash(at: number): number {
    const pool = this.pool;
    let hash = FNV_OFFSET;
    for (let i = at + (pool[at] as number); i > at; i--) hash = Math.imul(hash ^ (pool[i] as number), FNV_PRIME);
    return hash;
  }

  private place(at: number, hash: number): void {
    let slot = hash & this.slotMask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = at + 1;
  }

  /** Twice the slots, every live name placed again (hashed from the pool). */
  private growSlots(): void {
    this.slots = allocate(Int32Array, this.slots.length * 2);
    this.slotMask = this.slots.length - 1;
    const pool = this.pool;
    for (let at = 0; at < this.poolUsed; at += 1 + (pool[at] as number)) if (pool[at + 1] !== DELETED) this.place(at, this.recordHash(at));
  }

  private growPool(needed: number): void {
    // Grow by half: a million-name pool is tens of MB, doubling would waste most of it.
    this.pool = resized(this.pool, Math.max(Math.ceil(this.pool.length * 1.5), this.poolUsed + needed, 256), (b) => new Uint8Array(b));
  }
}

/** Calls back with each live name of a pool of records, in insertion order. */
function forEachRecord(pool: Uint8Array, used: number, callback: (name: string) => void): void {
  const bytes = Buffer.from(pool.buffer, pool.byteOffset, pool.byteLength);
  for (let at = 0; at < used; at += 1 + (pool[at] as number)) {
    if (pool[at + 1] === DELETED) continue;
    callback(bytes.toString('latin1', at + 1, at + 1 + (pool[at] as number)));
  }
}

/** Roots prepared for endsWithRoot: their hashes (as lookups compute them) and the longest length. */
export interface SuffixWatch {
  readonly roots: readonly string[];
  readonly hashes: ReadonlySet<number>;
  readonly longest: number;
}

export function suffixWatch(roots: readonly string[]): SuffixWatch | undefined {
  if (roots.length === 0) return undefined;
  return { roots, hashes: new Set(roots.map((r) => DomainSet.hash(r, 0, r.length))), longest: Math.max(...roots.map((r) => r.length)) };
}

/**
 * Whether the name in bytes[start, end) is a root or lies below one: its suffix hashes, right to
 * left over at most the longest root's length, are checked at label boundaries; a hit is then
 * compared byte by byte. No allocation.
 */
export function endsWithRoot(bytes: Uint8Array, start: number, end: number, watch: SuffixWatch): boolean {
  let hash = FNV_OFFSET;
  for (let i = end - 1, stop = Math.max(start, end - watch.longest); i >= stop; i--) {
    hash = Math.imul(hash ^ (bytes[i] as number), FNV_PRIME);
    if ((i !== start && bytes[i - 1] !== 46) || !watch.hashes.has(hash)) continue;
    for (const root of watch.roots) {
      if (root.length !== end - i) continue;
      let j = 0;
      while (j < root.length && bytes[i + j] === root.charCodeAt(j)) j++;
      if (j === root.length) return true;
    }
  }
  return false;
}
