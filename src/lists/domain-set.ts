// A compact set of domain names: every name's bytes in one pool, an open-addressing table
// of entry numbers, and a per-entry hash. About 30 bytes per name plus the name itself,
// versus ~100 for a Set<string>; growable, so a million-name list streams straight in.
//
// Hand-written for issue 3's memory bar (1M names in well under 150 MB for the whole
// process) and for allocation-free suffix lookups on the query path. The hash is FNV-1a
// over the name read right to left, so one pass over a query name from its end yields
// the hash of every suffix (com, tiktok.com, www.tiktok.com).

/** A copy of a set's names for another thread: the name bytes, and each name's offset and length in them. */
export interface NameBlock {
  readonly pool: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint8Array;
}

import { allocate, copyOf, isShared, resized } from './set-memory.ts';

/**
 * A set's storage on SharedArrayBuffers (share()), for DNS worker threads: every thread wraps
 * the same memory (fromShared()), so a million names cost their bytes once, not once per thread.
 */
export interface SharedSetParts {
  readonly pool: Uint8Array;
  readonly poolUsed: number;
  readonly entryOffset: Uint32Array;
  readonly entryLength: Uint8Array;
  readonly entryHash: Int32Array;
  readonly slots: Int32Array;
  readonly count: number;
  readonly deleted: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** The table keeps at least 1/0.75 slots per entry (linear probing stays short below ~0.75 load). */
const LOAD_FACTOR_INVERSE = 4 / 3;

export class DomainSet {
  private pool: Uint8Array;
  private poolUsed = 0;
  private entryOffset: Uint32Array;
  private entryLength: Uint8Array;
  private entryHash: Int32Array;
  /** Entry number + 1 per slot; 0 = empty. */
  private slots: Int32Array;
  private slotMask: number;
  /** Entries allocated; deleted ones stay, with length 0 (no lookup matches length 0). */
  private count = 0;
  private deleted = 0;

  constructor(expectedNames = 16, expectedBytes = expectedNames * 24) {
    const entries = Math.max(expectedNames, 16);
    this.pool = allocate(Uint8Array, Math.max(expectedBytes, 256));
    this.entryOffset = allocate(Uint32Array, entries);
    this.entryLength = allocate(Uint8Array, entries);
    this.entryHash = allocate(Int32Array, entries);
    let capacity = 32;
    while (capacity < entries * LOAD_FACTOR_INVERSE) capacity *= 2;
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
    if (length === 0 || length > 253) return false;
    const hash = DomainSet.hash(name, 0, length);
    if (this.find(name, 0, length, hash) >= 0) return false;
    if (this.count === this.entryOffset.length) this.growEntries();
    if (this.poolUsed + length > this.pool.length) this.growPool(length);
    const entry = this.count++;
    const offset = this.poolUsed;
    for (let i = 0; i < length; i++) this.pool[offset + i] = name.charCodeAt(i);
    this.poolUsed += length;
    this.entryOffset[entry] = offset;
    this.entryLength[entry] = length;
    this.entryHash[entry] = hash;
    this.place(entry, hash);
    return true;
  }

  /** Adds name bytes already normalised (lowercase LDH, no trailing dot); false when present. */
  addBytes(bytes: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (length <= 0 || length > 253) return false;
    let hash = FNV_OFFSET;
    for (let i = end - 1; i >= start; i--) hash = Math.imul(hash ^ (bytes[i] as number), FNV_PRIME);
    if (this.findBytes(bytes, start, length, hash) >= 0) return false;
    if (this.count === this.entryOffset.length) this.growEntries();
    if (this.poolUsed + length > this.pool.length) this.growPool(length);
    const entry = this.count++;
    const offset = this.poolUsed;
    this.pool.set(bytes.subarray(start, end), offset);
    this.poolUsed += length;
    this.entryOffset[entry] = offset;
    this.entryLength[entry] = length;
    this.entryHash[entry] = hash;
    this.place(entry, hash);
    return true;
  }

  /**
   * Trims the name pool and entry arrays to what the set holds (loaders size them from the
   * file size, then call this once the last name is in). The slot table is kept: re-placing
   * a million entries would hold the event loop for ~70 ms.
   */
  compact(): void {
    this.pool = resized(this.pool, this.poolUsed, (b) => new Uint8Array(b));
    this.entryOffset = resized(this.entryOffset, this.count, (b) => new Uint32Array(b));
    this.entryLength = resized(this.entryLength, this.count, (b) => new Uint8Array(b));
    this.entryHash = resized(this.entryHash, this.count, (b) => new Int32Array(b));
  }

  has(name: string): boolean {
    return this.find(name, 0, name.length, DomainSet.hash(name, 0, name.length)) >= 0;
  }

  /** Whether name[start, end), whose hash is given, is in the set. No allocation. */
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
    const length = name.length;
    const hash = DomainSet.hash(name, 0, length);
    let slot = hash & this.slotMask;
    while (true) {
      const ref = this.slots[slot] as number;
      if (ref === 0) return false;
      if (this.entryHash[ref - 1] === hash && this.entryLength[ref - 1] === length) {
        const offset = this.entryOffset[ref - 1] as number;
        let i = 0;
        while (i < length && this.pool[offset + i] === name.charCodeAt(i)) i++;
        if (i === length) break;
      }
      slot = (slot + 1) & this.slotMask;
    }
    this.entryLength[(this.slots[slot] as number) - 1] = 0;
    this.deleted++;
    let hole = slot;
    for (let next = (slot + 1) & this.slotMask; this.slots[next] !== 0; next = (next + 1) & this.slotMask) {
      const home = (this.entryHash[(this.slots[next] as number) - 1] as number) & this.slotMask;
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
    if (!isShared(this.entryOffset)) this.entryOffset = copyOf(this.entryOffset, Math.max(this.count, 1), true);
    if (!isShared(this.entryLength)) this.entryLength = copyOf(this.entryLength, Math.max(this.count, 1), true);
    if (!isShared(this.entryHash)) this.entryHash = copyOf(this.entryHash, Math.max(this.count, 1), true);
    if (!isShared(this.slots)) this.slots = copyOf(this.slots, this.slots.length, true);
    const { pool, poolUsed, entryOffset, entryLength, entryHash, slots, count, deleted } = this;
    return { pool, poolUsed, entryOffset, entryLength, entryHash, slots, count, deleted };
  }

  /** An independent copy (typed arrays copied: for a million names, tens of MB at memcpy speed). */
  clone(): DomainSet {
    const copy = new DomainSet(0, 0);
    copy.pool = copyOf(this.pool, Math.max(this.poolUsed, 1));
    copy.poolUsed = this.poolUsed;
    copy.entryOffset = copyOf(this.entryOffset, Math.max(this.count, 1));
    copy.entryLength = copyOf(this.entryLength, Math.max(this.count, 1));
    copy.entryHash = copyOf(this.entryHash, Math.max(this.count, 1));
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
    for (let e = 0; e < this.count; e++) {
      const length = this.entryLength[e] as number;
      if (length === 0) continue;
      const start = this.entryOffset[e] as number;
      if (endsWithRoot(pool, start, start + length, watch)) found.push(Buffer.from(pool.buffer, pool.byteOffset + start, length).toString('latin1'));
    }
    return found;
  }

  /** Bytes held by the typed arrays. */
  get byteSize(): number {
    return this.pool.byteLength + this.entryOffset.byteLength + this.entryLength.byteLength + this.entryHash.byteLength + this.slots.byteLength;
  }

  forEach(callback: (name: string) => void): void {
    for (let e = 0; e < this.count; e++) {
      if (this.entryLength[e] === 0) continue;
      const offset = this.entryOffset[e] as number;
      callback(Buffer.from(this.pool.buffer, this.pool.byteOffset + offset, this.entryLength[e] as number).toString('latin1'));
    }
  }

  /**
   * Copies the names out as three typed arrays, to transfer to a worker thread (names() reads
   * them there): for a million names, 25 MB copied in 2 MB steps with a yield between, where
   * building the strings here would hold the event loop for hundreds of ms.
   */
  async exportNames(): Promise<NameBlock> {
    const block = { pool: new Uint8Array(this.poolUsed), offsets: new Uint32Array(this.count), lengths: new Uint8Array(this.count) };
    await copyInSteps(block.pool, this.pool);
    await copyInSteps(block.offsets, this.entryOffset);
    await copyInSteps(block.lengths, this.entryLength);
    return block;
  }

  /** The names of a block from exportNames(), in insertion order. */
  static names(block: NameBlock): string[] {
    const { pool, offsets, lengths } = block;
    const bytes = Buffer.from(pool.buffer, pool.byteOffset, pool.byteLength);
    const out: string[] = [];
    for (let e = 0; e < offsets.length; e++) {
      const length = lengths[e] as number;
      // Length 0: a deleted entry.
      if (length === 0) continue;
      const offset = offsets[e] as number;
      out.push(bytes.toString('latin1', offset, offset + length));
    }
    return out;
  }

  /** All names, sorted (materialises strings: for renderers and small lists). */
  toSortedArray(): string[] {
    const out: string[] = [];
    this.forEach((n) => out.push(n));
    return out.sort();
  }

  private find(name: string, start: number, end: number, hash: number): number {
    const length = end - start;
    const pool = this.pool;
    let slot = hash & this.slotMask;
    while (true) {
      const ref = this.slots[slot] as number;
      if (ref === 0) return -1;
      const entry = ref - 1;
      if (this.entryHash[entry] === hash && this.entryLength[entry] === length) {
        const offset = this.entryOffset[entry] as number;
        let i = 0;
        while (i < length && pool[offset + i] === name.charCodeAt(start + i)) i++;
        if (i === length) return entry;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  private findBytes(bytes: Uint8Array, start: number, length: number, hash: number): number {
    const pool = this.pool;
    let slot = hash & this.slotMask;
    while (true) {
      const ref = this.slots[slot] as number;
      if (ref === 0) return -1;
      const entry = ref - 1;
      if (this.entryHash[entry] === hash && this.entryLength[entry] === length) {
        const offset = this.entryOffset[entry] as number;
        let i = 0;
        while (i < length && pool[offset + i] === bytes[start + i]) i++;
        if (i === length) return entry;
      }
      slot = (slot + 1) & this.slotMask;
    }
  }

  private place(entry: number, hash: number): void {
    let slot = hash & this.slotMask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = entry + 1;
  }

  private growEntries(): void {
    const size = Math.max(16, Math.ceil(this.entryOffset.length * 1.5));
    this.entryOffset = resized(this.entryOffset, size, (b) => new Uint32Array(b));
    this.entryLength = resized(this.entryLength, size, (b) => new Uint8Array(b));
    this.entryHash = resized(this.entryHash, size, (b) => new Int32Array(b));
    if (size * LOAD_FACTOR_INVERSE > this.slots.length) {
      this.slots = allocate(Int32Array, this.slots.length * 2);
      this.slotMask = this.slots.length - 1;
      for (let e = 0; e < this.count; e++) if (this.entryLength[e] !== 0) this.place(e, this.entryHash[e] as number);
    }
  }

  private growPool(needed: number): void {
    // Grow by half: a million-name pool is tens of MB, doubling would waste most of it.
    this.pool = resized(this.pool, Math.max(Math.ceil(this.pool.length * 1.5), this.poolUsed + needed, 256), (b) => new Uint8Array(b));
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

/** Copies source[0, target.length) into target, about 2 MB at a time, yielding between steps. */
async function copyInSteps<T extends Uint8Array | Uint32Array>(target: T, source: T): Promise<void> {
  const step = Math.max(1, Math.floor((2 * 1024 * 1024) / source.BYTES_PER_ELEMENT));
  for (let i = 0; i < target.length; i += step) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    target.set(source.subarray(i, Math.min(i + step, target.length)), i);
  }
}
