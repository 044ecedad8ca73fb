import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from '../../../src/http/feed-wire.ts';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const base: Omit<ListSnapshot, 'domains'> = { name: 'tiktok', title: 'TikTok', description: 'd', version: 'v1', lastModified: new Date('2026-11-28T00:00:00Z'), license: 'CC0-1.0', origin: 'maintained', hosts: ['www.tiktok.com'], sourceCodes: { X: 'x' } };

describe('feed wire form', () => {
  it('carries a plain list through structured clone unchanged', async () => {
    const snapshot: ListSnapshot = { ...base, domains: ['tiktok.com', 'tiktokv.com'] };
    const back = fromWire(structuredClone(await toWire(snapshot)));
    expect(back).toMatchObject({ name: 'tiktok', title: 'TikTok', version: 'v1', license: 'CC0-1.0', origin: 'maintained', hosts: ['www.tiktok.com'], sourceCodes: { X: 'x' } });
    expect(back.lastModified.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(back.domains).toEqual(['tiktok.com', 'tiktokv.com']);
  });

  it('carries a DomainSet list as one name block, sorted names on the other side', async () => {
    const set = DomainSet.from(['b.example', 'a.example', 'c.example']);
    const snapshot = { ...base, set, get domains() { return set.toSortedArray(); } } as ListSnapshot;
    const wire = await toWire(snapshot);
    expect(wire.domains).toBeUndefined();
    expect(wire.names?.pool).toBeInstanceOf(Uint8Array);
    expect(fromWire(structuredClone(wire)).domains).toEqual(['a.example', 'b.example', 'c.example']);
  });
});
