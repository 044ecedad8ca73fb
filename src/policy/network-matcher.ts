// Matches the addresses in upstream answers against listed networks (ByteDance's own
// address space), for the response-ip stage. Hand-written for the response path: an answer's
// A/AAAA records are read as integers straight from the bytes and looked up by binary search
// in sorted prefix tables, one per list; no strings, no BigInt per answer.
//
// IPv6 prefixes are compared on their first 64 bits, so they may be at most /64: announced
// prefixes are /48 or shorter, and a list line longer than /64 is refused when loaded.
import type { ListRef } from './domain-matcher.ts';
import { parseCidr } from '../util/address.ts';

export interface NetworkListInput extends ListRef {
  /** CIDR texts ("101.45.0.0/16", "2402:e7c0::/32"). */
  networks: readonly string[];
}

export interface NetworkMatch {
  /** The listed prefix that contains the address, as listed. */
  prefix: string;
  list: ListRef;
}

/** One family's prefixes of one list, sorted by first address: [start, end] as unsigned integers. */
interface Table {
  /** v4: one word per prefix; v6: two words (high, low of the first 64 bits). */
  starts: Uint32Array;
  ends: Uint32Array;
  /** For each position, the index (≤ it) of the prefix reaching furthest: finds enclosing prefixes. */
  widest: Int32Array;
  texts: string[];
  words: 1 | 2;
}

interface CompiledList {
  ref: ListRef;
  v4: Table;
  v6: Table;
}

export const MAX_V6_PREFIX = 64;

export class NetworkMatcher {
  readonly lists: readonly ListRef[];
  private readonly compiled: readonly CompiledList[];

  private constructor(compiled: CompiledList[]) {
    this.compiled = compiled;
    this.lists = compiled.map((c) => c.ref);
  }

  /** Throws RangeError naming the list and entry for a bad CIDR or an IPv6 prefix longer than /64. */
  static build(lists: readonly NetworkListInput[]): NetworkMatcher {
    return new NetworkMatcher(lists.map((l) => ({ ref: { name: l.name, version: l.version }, ...compile(l) })));
  }

  /** Bitmask for a set of list names (unknown names contribute nothing); bit i = lists[i]. */
  maskFor(names: readonly string[]): number {
    let mask = 0;
    this.lists.forEach((list, index) => {
      if (names.includes(list.name)) mask |= 1 << index;
    });
    return mask;
  }

  /** The listed network containing the IPv4 address at buf[offset..offset+4), in the lists of `mask`. */
  matchV4(buf: Buffer, offset: number, mask: number): NetworkMatch | undefined {
    const addr = buf.readUInt32BE(offset);
    for (let bits = mask; bits !== 0; bits &= bits - 1) {
      const c = this.compiled[31 - Math.clz32(bits & -bits)];
      if (c === undefined) continue;
      const found = find(c.v4, addr, 0);
      if (found >= 0) return { prefix: c.v4.texts[found] as string, list: c.ref };
    }
    return undefined;
  }

  /** The listed network containing the IPv6 address at buf[offset..offset+16), in the lists of `mask`. */
  matchV6(buf: Buffer, offset: number, mask: number): NetworkMatch | undefined {
    const hi = buf.readUInt32BE(offset);
    const lo = buf.readUInt32BE(offset + 4);
    for (let bits = mask; bits !== 0; bits &= bits - 1) {
      const c = this.compiled[31 - Math.clz32(bits & -bits)];
      if (c === undefined) continue;
      const found = find(c.v6, hi, lo);
      if (found >= 0) return { prefix: c.v6.texts[found] as string, list: c.ref };
    }
    return undefined;
  }

  get size(): number {
    return this.compiled.reduce((n, c) => n + c.v4.texts.length + c.v6.texts.length, 0);
  }
}

function compile(list: NetworkListInput): { v4: Table; v6: Table } {
  const v4: { start: number[]; end: number[]; text: string }[] = [];
  const v6: { start: number[]; end: number[]; text: string }[] = [];
  for (const text of list.networks) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new RangeError(`list ${list.name}: "${text}": ${cidr}`);
    if (cidr.family === 4) {
      const start = Number(cidr.network);
      v4.push({ start: [start], end: [start + 2 ** (32 - cidr.prefix) - 1], text });
    } else {
      if (cidr.prefix > MAX_V6_PREFIX) throw new RangeError(`list ${list.name}: "${text}": IPv6 prefixes longer than /${MAX_V6_PREFIX} are not supported (list the /${MAX_V6_PREFIX} or shorter prefix that is announced)`);
      const top = cidr.network >> 64n;
      const span = (1n << BigInt(64 - cidr.prefix)) - 1n;
      v6.push({ start: split(top), end: split(top + span), text });
    }
  }
  return { v4: table(v4, 1), v6: table(v6, 2) };
}

function split(value: bigint): number[] {
  return [Number(value >> 32n), Number(value & 0xffffffffn)];
}

function table(entries: { start: number[]; end: number[]; text: string }[], words: 1 | 2): Table {
  entries.sort((a, b) => compare(a.start, 0, b.start) || compare(b.end, 0, a.end));
  const starts = new Uint32Array(entries.length * words);
  const ends = new Uint32Array(entries.length * words);
  const widest = new Int32Array(entries.length);
  entries.forEach((e, i) => {
    for (let w = 0; w < words; w++) {
      starts[i * words + w] = e.start[w] as number;
      ends[i * words + w] = e.end[w] as number;
    }
    const prev = i > 0 ? (widest[i - 1] as number) : -1;
    widest[i] = prev >= 0 && compareAt(ends, prev, words, ends, i) >= 0 ? prev : i;
  });
  return { starts, ends, widest, texts: entries.map((e) => e.text), words };
}

function compare(a: number[], _offset: number, b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number) ? -1 : 1;
  return 0;
}

function compareAt(a: Uint32Array, i: number, words: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < words; w++) {
    const x = a[i * words + w] as number;
    const y = b[j * words + w] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Compares (hi, lo) with entry i of `arr`: <0, 0, >0. */
function cmp(arr: Uint32Array, i: number, words: number, hi: number, lo: number): number {
  const a = arr[i * words] as number;
  if (a !== hi) return a < hi ? -1 : 1;
  if (words === 1) return 0;
  const b = arr[i * words + 1] as number;
  return b === lo ? 0 : b < lo ? -1 : 1;
}

/** Index of a prefix containing (hi, lo) (the last one starting at or before it, else an enclosing one), or -1. */
function find(t: Table, hi: number, lo: number): number {
  let low = 0;
  let high = t.texts.length - 1;
  let last = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (cmp(t.starts, mid, t.words, hi, lo) <= 0) {
      last = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  if (last < 0) return -1;
  if (cmp(t.ends, last, t.words, hi, lo) >= 0) return last;
  const wide = t.widest[last] as number;
  return cmp(t.ends, wide, t.words, hi, lo) >= 0 ? wide : -1;
}
