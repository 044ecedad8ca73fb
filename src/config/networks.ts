// Address-range arithmetic for config checks (not for the query path): does a set of
// networks overlap, contain or cover another? Addresses are bigints, ranges inclusive.
import { parseCidr } from '../util/address.ts';

export interface Range {
  family: 4 | 6;
  first: bigint;
  last: bigint;
  /** The CIDR as written. */
  text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

/** The range of a valid CIDR (its host bits ignored); undefined for text that is not one. */
export function cidrRange(text: string): Range | undefined {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') return undefined;
  const family = parsed.family as 4 | 6;
  const size = 1n << BigInt(BITS[family] - parsed.prefix);
  return { family, first: parsed.network, last: parsed.network + size - 1n, text };
}

export function rangesOf(cidrs: readonly string[]): Range[] {
  return cidrs.map(cidrRange).filter((r): r is Range => r !== undefined);
}

export function overlaps(a: Range, b: Range): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The first address of `range` that none of `by` contains, or undefined when they cover it all. */
export function firstUncovered(range: Range, by: readonly Range[]): bigint | undefined {
  const sorted = by.filter((r) => overlaps(r, range)).sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  let next = range.first;
  for (const r of sorted) {
    if (r.first > next) return next;
    if (r.last >= next) next = r.last + 1n;
    if (next > range.last) return undefined;
  }
  return next <= range.last ? next : undefined;
}

/** True when `by` together contain every address of the family (as 0.0.0.0/0 or ::/0 do). */
export function coversFamily(family: 4 | 6, by: readonly Range[]): boolean {
  const all: Range = { family, first: 0n, last: (1n << BigInt(BITS[family])) - 1n, text: family === 4 ? '0.0.0.0/0' : '::/0' };
  return firstUncovered(all, by) === undefined;
}

/** An address as text: dotted quad, or IPv6 in full groups with zeros compressed. */
export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/** The network a CIDR with host bits set probably meant ("10.1.2.3/8" → "10.0.0.0/8"), or undefined when it has none. */
export function withoutHostBits(text: string): string | undefined {
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const family = parsed.family as 4 | 6;
  const written = cidrAddressValue(text.slice(0, slash).trim(), family);
  if (written === parsed.network) return undefined;
  return `${formatAddress(family, parsed.network)}/${parsed.prefix}`;
}

function cidrAddressValue(address: string, family: 4 | 6): bigint | undefined {
  const range = cidrRange(`${address}/${BITS[family]}`);
  return range?.first;
}
