import { describe, expect, it } from 'vitest';
import type { AnswerScan } from '../../../src/dns/answer-scan.ts';
import { AnswerCache, CHUNK_BYTES } from '../../../src/resolver/answer-cache.ts';

const scan = (cacheTtl: number): AnswerScan => ({ rcode: 0, ttlOffsets: [], cacheTtl, optStart: -1, optEnd: -1, cnameTargets: [], aOffsets: [], aaaaOffsets: [], truncated: false });
const buf = (tag: number): Buffer => Buffer.from([tag]);
const T0 = 1_700_000_000_000;

describe('AnswerCache.key', () => {
  it('includes name, type, class and the DO bit', () => {
    const base = AnswerCache.key('example.com', 1, 1, false);
    expect(AnswerCache.key('example.com', 1, 1, true)).not.toBe(base);
    expect(AnswerCache.key('example.com', 28, 1, false)).not.toBe(base);
    expect(AnswerCache.key('example.com', 1, 3, false)).not.toBe(base);
    expect(AnswerCache.key('example.org', 1, 1, false)).not.toBe(base);
    expect(AnswerCache.key('example.com', 1, 1, false)).toBe(base);
  });

  it('a qname containing "|" (legal in a label) still gets a key of its own', () => {
    expect(AnswerCache.key('a|28', 1, 1, false)).not.toBe(AnswerCache.key('a', 28, 1, false));
    expect(AnswerCache.key('a|1', 1, 1, false)).not.toBe(AnswerCache.key('a', 1, 1, true));
  });
});

describe('AnswerCache', () => {
  it('returns a stored entry until its TTL runs out', () => {
    const cache = new AnswerCache(10);
    const s = scan(60);
    cache.set('k', buf(1), s, T0);
    const hit = cache.get('k', T0 + 59_999);
    expect(hit).toMatchObject({ storedAt: T0, expiresAt: T0 + 60_000, scan: s });
    expect(hit?.buf).toEqual(buf(1));
    expect(cache.get('k', T0 + 60_000)).toBeUndefined();
    expect(cache.get('k', T0 + 120_000)).toBeUndefined();
  });

  it('keeps entries apart by key (DO bit)', () => {
    const cache = new AnswerCache(10);
    cache.set(AnswerCache.key('a.example', 1, 1, false), buf(1), scan(60), T0);
    cache.set(AnswerCache.key('a.example', 1, 1, true), buf(2), scan(60), T0);
    expect(cache.get(AnswerCache.key('a.example', 1, 1, false), T0)?.buf).toEqual(buf(1));
    expect(cache.get(AnswerCache.key('a.example', 1, 1, true), T0)?.buf).toEqual(buf(2));
    expect(cache.size).toBe(2);
  });

  it('does not store answers with a TTL of 0 (or less)', () => {
    const cache = new AnswerCache(10);
    cache.set('zero', buf(1), scan(0), T0);
    cache.set('negative', buf(1), scan(-5), T0);
    expect(cache.size).toBe(0);
    expect(cache.get('zero', T0)).toBeUndefined();
    expect(cache.stats.inserts).toBe(0);
  });

  it('caps the TTL at maxTtl', () => {
    const cache = new AnswerCache(10, 300);
    cache.set('k', buf(1), scan(86_400), T0);
    expect(cache.get('k', T0 + 299_000)).toBeDefined();
    expect(cache.get('k', T0 + 300_000)).toBeUndefined();
  });

  it('bounds entries, evicting the oldest insertion first (FIFO)', () => {
    const cache = new AnswerCache(3);
    cache.set('a', buf(1), scan(60), T0);
    cache.set('b', buf(2), scan(60), T0);
    cache.set('c', buf(3), scan(60), T0);
    cache.get('a', T0); // a read does not refresh the position (FIFO, not LRU)
    cache.set('d', buf(4), scan(60), T0);
    expect(cache.size).toBe(3);
    expect(cache.get('a', T0)).toBeUndefined();
    expect(cache.get('b', T0)?.buf).toEqual(buf(2));
    expect(cache.get('d', T0)?.buf).toEqual(buf(4));
    expect(cache.stats.evictions).toBe(1);
    cache.set('e', buf(5), scan(60), T0);
    expect(cache.get('b', T0)).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('replacing a key does not evict and moves it to the back', () => {
    const cache = new AnswerCache(2);
    cache.set('a', buf(1), scan(60), T0);
    cache.set('b', buf(2), scan(60), T0);
    cache.set('a', buf(9), scan(60), T0 + 1000);
    expect(cache.size).toBe(2);
    expect(cache.stats.evictions).toBe(0);
    expect(cache.get('a', T0 + 1000)).toMatchObject({ storedAt: T0 + 1000, expiresAt: T0 + 61_000 });
    cache.set('c', buf(3), scan(60), T0 + 1000);
    expect(cache.get('b', T0 + 1000)).toBeUndefined();
    expect(cache.get('a', T0 + 1000)?.buf).toEqual(buf(9));
  });

  it('evicts in insertion order through many rehashes, with replacements, expiries and clears in between (against a model)', () => {
    const max = 50;
    const cache = new AnswerCache(max);
    const model: string[] = [];
    const shortLived = new Set<string>();
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let next = 0;
    for (let op = 0; op < 20_000; op++) {
      const roll = random(100);
      if (roll < 70 || model.length === 0) {
        const key = `n${next++}`;
        const ttl = random(10) === 0 ? 1 : 60;
        if (model.length >= max) shortLived.delete(model.shift() as string);
        model.push(key);
        if (ttl === 1) shortLived.add(key);
        cache.set(key, buf(1), scan(ttl), T0);
      } else if (roll < 85) {
        const key = model[random(model.length)] as string;
        model.splice(model.indexOf(key), 1);
        model.push(key);
        shortLived.delete(key);
        cache.set(key, buf(2), scan(60), T0);
      } else if (roll < 99) {
        const key = model[random(model.length)] as string;
        if (shortLived.delete(key)) {
          expect(cache.get(key, T0 + 2000)).toBeUndefined();
          model.splice(model.indexOf(key), 1);
        }
      } else {
        cache.clear();
        model.length = 0;
        shortLived.clear();
      }
      expect(cache.size).toBe(model.length);
    }
    for (const key of model) expect(cache.get(key, T0)).toBeDefined();
    expect(cache.stats.evictions).toBeGreaterThan(5000);
  });

  it('stores nothing with a size of 0', () => {
    const cache = new AnswerCache(0);
    cache.set('a', buf(1), scan(60), T0);
    expect(cache.size).toBe(0);
    expect(cache.get('a', T0)).toBeUndefined();
  });

  it('counts hits, misses and inserts', () => {
    const cache = new AnswerCache(10);
    cache.get('a', T0);
    cache.set('a', buf(1), scan(1), T0);
    cache.get('a', T0);
    cache.get('a', T0 + 1000);
    expect(cache.stats).toEqual({ hits: 1, misses: 2, inserts: 1, evictions: 0 });
  });

  it('drops expired entries on read when there is no stale window', () => {
    const cache = new AnswerCache(10);
    cache.set('a', buf(1), scan(1), T0);
    expect(cache.get('a', T0 + 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.getStale('a', T0 + 1000)).toBeUndefined();
  });

  it('keeps expired entries for serve-stale within the window', () => {
    const cache = new AnswerCache(10, 86_400, 30);
    cache.set('a', buf(1), scan(10), T0);
    expect(cache.getStale('a', T0 + 5000)?.buf).toEqual(buf(1));
    expect(cache.get('a', T0 + 10_000)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.getStale('a', T0 + 39_999)?.buf).toEqual(buf(1));
    expect(cache.getStale('a', T0 + 40_000)).toBeUndefined();
    expect(cache.get('a', T0 + 40_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('clear empties the cache', () => {
    const cache = new AnswerCache(10);
    cache.set('a', buf(1), scan(60), T0);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a', T0)).toBeUndefined();
  });

  it('copies small answers into shared chunks, so the caller may reuse its buffer', () => {
    const cache = new AnswerCache(1000);
    const answer = Buffer.from('an answer of some bytes');
    cache.set('a', answer, scan(60), T0);
    cache.set('b', Buffer.from('another answer'), scan(60), T0);
    answer.fill(0);
    const a = cache.get('a', T0)?.buf;
    const b = cache.get('b', T0)?.buf;
    expect(a?.toString()).toBe('an answer of some bytes');
    expect(b?.toString()).toBe('another answer');
    expect(a?.buffer).toBe(b?.buffer);
    expect(a?.buffer.byteLength).toBe(CHUNK_BYTES);
  });

  it('starts a new chunk when one is full, and keeps a large answer in its own buffer', () => {
    const cache = new AnswerCache(1000);
    const part = Buffer.alloc(CHUNK_BYTES / 4, 7);
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.set(key, part, scan(60), T0);
    const first = cache.get('a', T0)?.buf;
    expect(cache.get('d', T0)?.buf.buffer).toBe(first?.buffer);
    expect(cache.get('e', T0)?.buf.buffer).not.toBe(first?.buffer);
    expect(cache.get('e', T0)?.buf.equals(part)).toBe(true);
    const large = Buffer.alloc(CHUNK_BYTES / 4 + 1, 9);
    cache.set('large', large, scan(60), T0);
    expect(cache.get('large', T0)?.buf).toBe(large);
  });

  it("keeps a scan's offset arrays as exact copies, not the scanner's arrays that push() grew", () => {
    const cache = new AnswerCache(10);
    const s = scan(60);
    for (const offset of [30, 46]) s.ttlOffsets.push(offset);
    s.aOffsets = [];
    s.aOffsets.push(40);
    const grownTtl = s.ttlOffsets;
    const grownA = s.aOffsets;
    const shared = s.aaaaOffsets;
    cache.set('a', buf(1), s, T0);
    const stored = cache.get('a', T0)?.scan;
    expect(stored?.ttlOffsets).toEqual([30, 46]);
    expect(stored?.ttlOffsets).not.toBe(grownTtl);
    expect(stored?.aOffsets).toEqual([40]);
    expect(stored?.aOffsets).not.toBe(grownA);
    // Empty arrays are left as they are (the scanner shares one).
    expect(stored?.aaaaOffsets).toBe(shared);
  });
});
