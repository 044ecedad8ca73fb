import { describe, expect, it } from 'vitest';
import { ListRegistry } from '../../../src/lists/registry.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const snapshot = (name: string, version: string): ListSnapshot => ({ name, title: name, description: '', version, lastModified: new Date(0), domains: [`${name}.example`] });

describe('ListRegistry', () => {
  it('holds one snapshot per name, listed in name order', () => {
    const registry = new ListRegistry();
    registry.set(snapshot('b', '1'));
    registry.set(snapshot('a', '1'));
    expect(registry.names()).toEqual(['a', 'b']);
    expect(registry.all().map((s) => s.name)).toEqual(['a', 'b']);
    expect(registry.get('a')?.version).toBe('1');
    expect(registry.get('c')).toBeUndefined();
  });

  it('swaps in a new version and tells subscribers; the same version again is a no-op', () => {
    const registry = new ListRegistry();
    const seen: string[] = [];
    const unsubscribe = registry.onChange((s) => seen.push(`${s.name}@${s.version}`));
    const first = snapshot('a', '1');
    registry.set(first);
    registry.set(snapshot('a', '1'));
    expect(registry.get('a')).toBe(first);
    registry.set(snapshot('a', '2'));
    expect(registry.get('a')?.version).toBe('2');
    unsubscribe();
    registry.set(snapshot('a', '3'));
    expect(seen).toEqual(['a@1', 'a@2']);
    expect(registry.get('a')?.version).toBe('3');
  });
});

describe('ListRegistry with the collateral guard', () => {
  const NEVER = { names: ['aliyuncs.com', 'awsdns-55.com'], subtrees: ['awsdns-55.com'] };

  it('drops guarded entries from every list installed, the organisation\'s own entries (the overlay) included', () => {
    const registry = new ListRegistry();
    const warnings: string[] = [];
    registry.setNeverBlock(NEVER, { warn: (_fields, message) => warnings.push(message) });
    // The overlay stands for the organisation's entries added through the list API (src/fleet/overlay.ts).
    registry.setOverlay((base) => ({ ...base, version: `${base.version}+org`, domains: [...base.domains, 'aliyuncs.com'] }));
    registry.set({ ...snapshot('a', '1'), domains: ['a.example', 'ns-1.awsdns-55.com'] });
    const a = registry.get('a');
    expect(a?.domains).toEqual(['a.example']);
    expect(a?.guarded).toEqual([
      { domain: 'aliyuncs.com', protects: 'aliyuncs.com' },
      { domain: 'ns-1.awsdns-55.com', protects: 'awsdns-55.com' },
    ]);
    expect(registry.base('a')?.domains).toEqual(['a.example', 'ns-1.awsdns-55.com']);
    expect(registry.guardedSubtrees()).toEqual(['awsdns-55.com']);
    expect(warnings).toHaveLength(1);
  });

  it('checks a candidate against a never-block file not in force yet, and applies a new one on reapply()', () => {
    const registry = new ListRegistry();
    registry.set({ ...snapshot('a', '1'), domains: ['a.example', 'aliyuncs.com'] });
    expect(registry.get('a')?.guarded).toBeUndefined();
    const base = registry.base('a');
    if (!base) throw new Error('no base');
    expect(registry.withOverlay(base, NEVER).guarded?.map((g) => g.domain)).toEqual(['aliyuncs.com']);
    expect(registry.get('a')?.domains).toEqual(['a.example', 'aliyuncs.com']);
    registry.setNeverBlock(NEVER);
    registry.reapply();
    expect(registry.get('a')?.domains).toEqual(['a.example']);
    registry.setNeverBlock({ names: [], subtrees: [] });
    registry.reapply();
    expect(registry.get('a')?.domains).toEqual(['a.example', 'aliyuncs.com']);
  });
});
