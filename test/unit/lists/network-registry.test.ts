import { describe, expect, it } from 'vitest';
import { parseNetworkList } from '../../../src/lists/network-list.ts';
import { NetworkListRegistry } from '../../../src/lists/network-registry.ts';

const HEADER = '# title: T\n# source: S  a source\n';
const list = (name: string, prefix: string) => parseNetworkList(`${HEADER}${prefix}  2026-12-02  AS64500  S\n`, `lists/${name}.networks`).snapshot;

describe('NetworkListRegistry', () => {
  it('holds the set in name order and tells listeners once per change, not when nothing changed', () => {
    const registry = new NetworkListRegistry();
    let changes = 0;
    const off = registry.onChange(() => changes++);
    registry.replace([list('b', '10.0.0.0/8'), list('a', '192.0.2.0/24')]);
    expect(registry.all().map((l) => l.name)).toEqual(['a', 'b']);
    expect(registry.get('b')?.networks).toEqual(['10.0.0.0/8']);
    expect(changes).toBe(1);
    registry.replace([list('a', '192.0.2.0/24'), list('b', '10.0.0.0/8')]);
    expect(changes).toBe(1);
    registry.replace([list('a', '192.0.2.0/25')]);
    expect(changes).toBe(2);
    expect(registry.get('b')).toBeUndefined();
    off();
    registry.replace([]);
    expect(changes).toBe(2);
  });
});
