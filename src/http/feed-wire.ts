// A list snapshot as it crosses to the feed thread: plain data (structured clone), the names as
// one NameBlock for lists held as a DomainSet (no million strings on the way).
import { DomainSet, type NameBlock } from '../lists/domain-set.ts';
import type { ListChangelog } from '../lists/changelog.ts';
import type { GuardedEntry, ListProvenance, ListSnapshot } from '../lists/types.ts';

export interface WireSnapshot {
  name: string;
  title: string;
  description: string;
  version: string;
  lastModified: number;
  license?: string | undefined;
  origin?: 'maintained' | 'subscribed' | undefined;
  hosts?: readonly string[] | undefined;
  provenance?: readonly ListProvenance[] | undefined;
  sourceCodes?: Readonly<Record<string, string>> | undefined;
  changes?: ListChangelog | undefined;
  guarded?: readonly GuardedEntry[] | undefined;
  domains?: readonly string[];
  names?: NameBlock;
}

export async function toWire(s: ListSnapshot): Promise<WireSnapshot> {
  const base = { name: s.name, title: s.title, description: s.description, version: s.version, lastModified: s.lastModified.getTime(), license: s.license, origin: s.origin, hosts: s.hosts, provenance: s.provenance, sourceCodes: s.sourceCodes, changes: s.changes, guarded: s.guarded };
  return s.set ? { ...base, names: await s.set.exportNames() } : { ...base, domains: s.domains };
}

/**
 * A subscribed source as the feed thread needs it: no names (the feed does not republish
 * sources), only what /lists shows of it: its name, version and the entries the guard dropped.
 */
export function subscribedSummary(s: ListSnapshot): WireSnapshot {
  return { name: s.name, title: s.title, description: '', version: s.version, lastModified: s.lastModified.getTime(), origin: 'subscribed', guarded: s.guarded ?? [], domains: [] };
}

export function fromWire(w: WireSnapshot): ListSnapshot {
  const { names, domains, lastModified, ...rest } = w;
  let materialised = domains;
  return {
    ...rest,
    lastModified: new Date(lastModified),
    // Materialised once, when a renderer first asks.
    get domains(): readonly string[] {
      materialised ??= names ? DomainSet.names(names).sort() : [];
      return materialised;
    },
  };
}
