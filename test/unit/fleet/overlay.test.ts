import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { ListRegistry } from '../../../src/lists/registry.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';
import type { OrgEntry } from '../../../src/fleet/org-entries.ts';
import { ORG_SOURCE, overlayVersion, withOrgEntries } from '../../../src/fleet/overlay.ts';

const maintained: ListSnapshot = {
  name: 'tiktok',
  title: 'TikTok',
  description: 'd',
  version: 'base1',
  lastModified: new Date('2026-11-28T00:00:00Z'),
  domains: ['tiktok.com', 'tiktokv.com'],
  hosts: ['tiktok.com', 'log.tiktokv.com', 'tiktokv.com'],
  provenance: [{ domain: 'tiktok.com', added: '2026-11-28', sources: ['AG'] }],
  sourceCodes: { AG: 'AdGuard' },
  origin: 'maintained',
};

const entry = (domain: string, ts = '2026-12-01T10:00:00.000Z'): OrgEntry => ({ domain, reason: 'secret reason', actor: 'alice', ts, seq: 1 });

describe('withOrgEntries', () => {
  it('is the base itself without organisation entries', () => {
    expect(withOrgEntries(maintained, [])).toBe(maintained);
    expect(overlayVersion('base1', [])).toBe('base1');
  });

  it('adds the names with provenance ORG (who and why stay out), a version of base and names, the newest date', () => {
    const list = withOrgEntries(maintained, [entry('mirror.example'), entry('sub.tiktok.com')]);
    expect(list.domains).toEqual(['mirror.example', 'tiktok.com', 'tiktokv.com']);
    expect(list.hosts).toEqual(['log.tiktokv.com', 'mirror.example', 'sub.tiktok.com', 'tiktok.com', 'tiktokv.com']);
    expect(list.provenance?.at(-1)).toEqual({ domain: 'sub.tiktok.com', added: '2026-12-01', sources: [ORG_SOURCE] });
    expect(list.sourceCodes?.[ORG_SOURCE]).toContain('organisation');
    expect(JSON.stringify(list)).not.toContain('secret reason');
    expect(list.lastModified.toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(list.version).toMatch(/^[0-9a-f]{12}$/);
    // The same base and names give the same version on every replica, in any order.
    expect(withOrgEntries(maintained, [entry('sub.tiktok.com'), entry('mirror.example', '2027-01-01T00:00:00.000Z')]).version).toBe(list.version);
    expect(withOrgEntries({ ...maintained, version: 'base2' }, [entry('mirror.example'), entry('sub.tiktok.com')]).version).not.toBe(list.version);
  });

  it('copies a big list held as a set and adds the names', () => {
    const set = DomainSet.from(['a.example', 'b.example']);
    const big: ListSnapshot = { name: 'big', title: 'big', description: '', version: 'v', lastModified: new Date(0), set, domains: ['a.example', 'b.example'], origin: 'subscribed' };
    const list = withOrgEntries(big, [entry('c.example')]);
    expect(list.set?.size).toBe(3);
    expect(set.size).toBe(2);
    expect(list.domains).toEqual(['a.example', 'b.example', 'c.example']);
    expect(list.origin).toBe('subscribed');
  });
});

describe('ListRegistry with an overlay', () => {
  it('keeps the base, serves the overlay, and rebuilds a list when asked', () => {
    const registry = new ListRegistry();
    const added: OrgEntry[] = [];
    const seen: string[] = [];
    registry.onChange((s) => seen.push(s.version));
    registry.setOverlay((base) => withOrgEntries(base, base.name === 'tiktok' ? added : []));
    registry.set(maintained);
    expect(registry.get('tiktok')).toBe(maintained);
    added.push(entry('mirror.example'));
    registry.reapply(['tiktok']);
    expect(registry.get('tiktok')?.domains).toContain('mirror.example');
    expect(registry.base('tiktok')).toBe(maintained);
    expect(registry.withOverlay(maintained).version).toBe(registry.get('tiktok')?.version);
    registry.reapply();
    expect(seen).toHaveLength(2);
    // A new base (a reload) gets the overlay too.
    registry.set({ ...maintained, version: 'base2' });
    expect(registry.get('tiktok')?.domains).toContain('mirror.example');
    registry.remove('tiktok');
    expect(registry.base('tiktok')).toBeUndefined();
  });
});
