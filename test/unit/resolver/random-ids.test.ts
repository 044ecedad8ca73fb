import { describe, expect, it } from 'vitest';
import { randomBelow, randomId } from '../../../src/resolver/random-ids.ts';

describe('randomId', () => {
  it('returns 16-bit integers', () => {
    const bad: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = randomId();
      if (!Number.isInteger(id) || id < 0 || id > 0xffff) bad.push(id);
    }
    expect(bad).toEqual([]);
  });

  it('10,000 draws cover many distinct values (birthday bound ~ 9,300 expected)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(randomId());
    // Expected distinct = 65536 * (1 - e^(-10000/65536)) ≈ 9,271; a stuck or short-period generator falls far below.
    expect(seen.size).toBeGreaterThan(8_800);
  });

  it('uses both bytes: high and low halves are spread', () => {
    const high = new Set<number>();
    const low = new Set<number>();
    let odd = 0;
    const n = 20_000; // spans several refills of the 8 KiB pool
    for (let i = 0; i < n; i++) {
      const id = randomId();
      high.add(id >> 8);
      low.add(id & 0xff);
      odd += id & 1;
    }
    expect(high.size).toBe(256);
    expect(low.size).toBe(256);
    expect(odd / n).toBeGreaterThan(0.45);
    expect(odd / n).toBeLessThan(0.55);
  });

  it('consecutive draws are not repeated in lockstep', () => {
    const a = Array.from({ length: 64 }, () => randomId());
    const b = Array.from({ length: 64 }, () => randomId());
    expect(a).not.toEqual(b);
  });
});

describe('randomBelow', () => {
  it('stays in [0, n)', () => {
    for (const n of [1, 2, 3, 7, 100, 65_536]) {
      const bad: number[] = [];
      for (let i = 0; i < 2_000; i++) {
        const v = randomBelow(n);
        if (!Number.isInteger(v) || v < 0 || v >= n) bad.push(v);
      }
      expect(bad, `n = ${n}`).toEqual([]);
    }
  });

  it('covers every value for small n, roughly uniformly', () => {
    const counts = new Array<number>(8).fill(0);
    const draws = 16_000;
    for (let i = 0; i < draws; i++) {
      const v = randomBelow(8);
      counts[v] = (counts[v] ?? 0) + 1;
    }
    for (const c of counts) {
      expect(c).toBeGreaterThan((draws / 8) * 0.85);
      expect(c).toBeLessThan((draws / 8) * 1.15);
    }
  });

  it('returns 0 for n = 1', () => {
    for (let i = 0; i < 100; i++) expect(randomBelow(1)).toBe(0);
  });
});
