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
