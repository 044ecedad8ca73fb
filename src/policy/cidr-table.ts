// Longest-prefix match of client addresses against CIDRs (IPv4 and IPv6).
// One Map per prefix length, probed from the longest prefix down: at most 33 / 129 probes,
// in practice a handful since configs use few distinct prefix lengths.
import { type Cidr, ipv4ToInt, ipv6ToBigInt, parseCidr } from '../util/address.ts';

interface PrefixLevel<T> {
  prefix: number;
  entries: Map<bigint, T>;
}

export class CidrTable<T> {
  private readonly v4: PrefixLevel<T>[] = [];
  private readonly v6: PrefixLevel<T>[] = [];

  /** Adds a network; on an exact duplicate the first value wins. */
  add(cidrText: string, value: T): void {
    const cidr = parseCidr(cidrText);
    if (typeof cidr === 'string') throw new RangeError(`bad CIDR "${cidrText}": ${cidr}`);
    this.insert(cidr, value);
  }

  private insert(cidr: Cidr, value: T): void {
    const levels = cidr.family === 4 ? this.v4 : this.v6;
    let level = levels.find((l) => l.prefix === cidr.prefix);
    if (!level) {
      level = { prefix: cidr.prefix, entries: new Map() };
      levels.push(level);
      levels.sort((a, b) => b.prefix - a.prefix);
    }
    if (!level.entries.has(cidr.network)) level.entries.set(cidr.network, value);
  }

  /** Value of the most specific network containing `address`, or undefined. */
  lookup(address: string): T | undefined {
    // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d.
    const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    if (mapped.includes(':')) return find(this.v6, ipv6ToBigInt(mapped), 128);
    return find(this.v4, BigInt(ipv4ToInt(mapped)), 32);
  }
}

function find<T>(levels: readonly PrefixLevel<T>[], value: bigint, bits: number): T | undefined {
  for (const level of levels) {
    const shift = BigInt(bits - level.prefix);
    const hit = level.entries.get(level.prefix === 0 ? 0n : (value >> shift) << shift);
    if (hit !== undefined) return hit;
  }
  return undefined;
}
