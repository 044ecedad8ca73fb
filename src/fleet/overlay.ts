// A list as enforced: its snapshot (the maintained file, or a subscribed source) plus the
// organisation's own entries. Without organisation entries it is the snapshot itself, same
// version; with them a new snapshot whose version hashes the base version and the added
// names, so every replica with the same file and the same change log has the same version.
import { createHash } from 'node:crypto';
import { DomainSet } from '../lists/domain-set.ts';
import { blockingDomains } from '../lists/list-file.ts';
import type { ListProvenance, ListSnapshot } from '../lists/types.ts';
import type { OrgEntry } from './org-entries.ts';

/** The provenance code of organisation entries in the feed's json format (who and why stay in the change log). */
export const ORG_SOURCE = 'ORG';
const ORG_SOURCE_TEXT = 'added by the organisation running this feed (dnsward list API)';

export function overlayVersion(baseVersion: string, entries: readonly Pick<OrgEntry, 'domain'>[]): string {
  if (entries.length === 0) return baseVersion;
  const hash = createHash('sha256').update(baseVersion).update('\0');
  for (const e of [...entries].map((x) => x.domain).sort()) hash.update(e).update('\n');
  return hash.digest('hex').slice(0, 12);
}

export function withOrgEntries(base: ListSnapshot, entries: readonly OrgEntry[]): ListSnapshot {
  if (entries.length === 0) return base;
  const version = overlayVersion(base.version, entries);
  const newest = entries.reduce((t, e) => Math.max(t, Date.parse(e.ts)), base.lastModified.getTime());
  const lastModified = new Date(newest);
  const names = entries.map((e) => e.domain);
  if (base.set !== undefined && base.provenance === undefined) {
    // A big list held as a compact set: copy it and add the names (rare: on a change only).
    const set = new DomainSet(base.set.size + names.length);
    base.set.forEach((n) => set.add(n));
    for (const n of names) set.add(n);
    let materialised: string[] | undefined;
    return {
      ...withoutDomains(base),
      version,
      lastModified,
      set,
      get domains(): readonly string[] {
        materialised ??= set.toSortedArray();
        return materialised;
      },
    };
  }
  const domains = blockingDomains([...base.domains, ...names].map((domain) => ({ domain })));
  const hosts = [...new Set([...(base.hosts ?? base.domains), ...names])].sort();
  const provenance: ListProvenance[] = [...(base.provenance ?? []), ...entries.map((e) => ({ domain: e.domain, added: e.ts.slice(0, 10), sources: [ORG_SOURCE] }))];
  const { set: _set, ...rest } = withoutDomains(base);
  return { ...rest, version, lastModified, domains, hosts, provenance, sourceCodes: { ...base.sourceCodes, [ORG_SOURCE]: ORG_SOURCE_TEXT } };
}

/** The snapshot's members except the (possibly lazy) domains and hosts. */
function withoutDomains(base: ListSnapshot): Omit<ListSnapshot, 'domains' | 'hosts'> {
  const { name, title, description, version, lastModified, set, license, provenance, sourceCodes, origin, changes } = base;
  return { name, title, description, version, lastModified, set, license, provenance, sourceCodes, origin, ...(changes ? { changes } : {}) };
}
