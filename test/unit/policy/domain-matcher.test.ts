import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { DomainMatcher, MAX_LISTS } from '../../../src/policy/domain-matcher.ts';

const tiktok = { name: 'tiktok', version: 'v1', domains: ['tiktok.com', 'tiktokv.com', 'tiktokcdn.com', 'byteoversea.com'] };
const bytedance = { name: 'bytedance', version: 'v2', domains: ['bytedance.com', 'capcut.com', 'www.tiktok.com', 'tiktokv.com'] };
const doh = { name: 'doh', version: 'v3', domains: ['dns.google', 'cloudflare-dns.com'] };

describe('DomainMatcher.match: suffix semantics', () => {
  const matcher = DomainMatcher.build([tiktok]);
  const mask = matcher.maskFor(['tiktok']);

  it('matches the listed name itself', () => {
    expect(matcher.match('tiktok.com', mask)).toEqual({ rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } });
  });

  it('matches every subdomain', () => {
    expect(matcher.match('www.tiktok.com', mask)?.rule).toBe('tiktok.com');
    expect(matcher.match('a.b.c.d.tiktokcdn.com', mask)?.rule).toBe('tiktokcdn.com');
    expect(matcher.match('_dmarc.tiktok.com', mask)?.rule).toBe('tiktok.com');
  });

  it('never matches a different name that ends in the same letters', () => {
    expect(matcher.match('notiktok.com', mask)).toBeUndefined();
    expect(matcher.match('www.notiktok.com', mask)).toBeUndefined();
    expect(matcher.match('xtiktokv.com', mask)).toBeUndefined();
    expect(matcher.match('tiktok.com.evil.example', mask)).toBeUndefined();
    expect(matcher.match('tiktok.co', mask)).toBeUndefined();
    expect(matcher.match('iktok.com', mask)).toBeUndefined();
  });

  it('does not match parents of a listed name', () => {
    expect(matcher.match('com', mask)).toBeUndefined();
    const deep = DomainMatcher.build([{ name: 'l', version: '1', domains: ['a.b.example'] }]);
    expect(deep.match('b.example', deep.maskFor(['l']))).toBeUndefined();
    expect(deep.match('x.a.b.example', deep.maskFor(['l']))?.rule).toBe('a.b.example');
  });

  it('returns undefined for the root name and unrelated names', () => {
    expect(matcher.match('', mask)).toBeUndefined();
    expect(matcher.match('example.com', mask)).toBeUndefined();
  });

  it('returns undefined for a mask of 0', () => {
    expect(matcher.match('tiktok.com', 0)).toBeUndefined();
  });
});

describe('DomainMatcher: several lists and masks', () => {
  const matcher = DomainMatcher.build([tiktok, bytedance, doh]);

  it('maps list names to mask bits in build order', () => {
    expect(matcher.maskFor(['tiktok'])).toBe(1);
    expect(matcher.maskFor(['bytedance'])).toBe(2);
    expect(matcher.maskFor(['doh'])).toBe(4);
    expect(matcher.maskFor(['doh', 'tiktok'])).toBe(5);
    expect(matcher.maskFor(['unknown'])).toBe(0);
    expect(matcher.maskFor([])).toBe(0);
    expect(matcher.maskFor(['unknown', 'bytedance'])).toBe(2);
    expect(matcher.lists).toEqual([
      { name: 'tiktok', version: 'v1' },
      { name: 'bytedance', version: 'v2' },
      { name: 'doh', version: 'v3' },
    ]);
  });

  it('only consults the lists in the mask (per segment)', () => {
    expect(matcher.match('capcut.com', matcher.maskFor(['tiktok']))).toBeUndefined();
    expect(matcher.match('capcut.com', matcher.maskFor(['bytedance']))?.list.name).toBe('bytedance');
    expect(matcher.match('dns.google', matcher.maskFor(['tiktok', 'bytedance']))).toBeUndefined();
    expect(matcher.match('dns.google', matcher.maskFor(['doh']))).toEqual({ rule: 'dns.google', list: { name: 'doh', version: 'v3' } });
  });

  it('reports the most specific rule across lists', () => {
    const all = matcher.maskFor(['tiktok', 'bytedance']);
    // tiktok has tiktok.com, bytedance has www.tiktok.com: the longer one wins.
    expect(matcher.match('a.www.tiktok.com', all)).toEqual({ rule: 'www.tiktok.com', list: { name: 'bytedance', version: 'v2' } });
    expect(matcher.match('www.tiktok.com', all)?.list.name).toBe('bytedance');
    expect(matcher.match('m.tiktok.com', all)).toEqual({ rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } });
    // Without bytedance in the mask, the parent rule of tiktok applies.
    expect(matcher.match('a.www.tiktok.com', matcher.maskFor(['tiktok']))).toEqual({ rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } });
  });

  it('a name in two lists is reported for the first list in the mask', () => {
    expect(matcher.match('api.tiktokv.com', matcher.maskFor(['tiktok', 'bytedance']))?.list.name).toBe('tiktok');
    expect(matcher.match('api.tiktokv.com', matcher.maskFor(['bytedance']))?.list.name).toBe('bytedance');
  });

  it('reports the total number of names', () => {
    expect(matcher.size).toBe(tiktok.domains.length + bytedance.domains.length + doh.domains.length);
  });

  it('uses a prebuilt DomainSet when given', () => {
    const set = DomainSet.from(['prebuilt.example']);
    const m = DomainMatcher.build([{ name: 'p', version: '1', domains: [], set }]);
    expect(m.match('x.prebuilt.example', m.maskFor(['p']))?.rule).toBe('prebuilt.example');
  });

  it('accepts up to 31 lists and uses the last bit', () => {
    const lists = Array.from({ length: MAX_LISTS }, (_, i) => ({ name: `l${i}`, version: '1', domains: [`d${i}.example`] }));
    const m = DomainMatcher.build(lists);
    const last = m.maskFor([`l${MAX_LISTS - 1}`]);
    expect(last).toBe(1 << 30);
    expect(m.match(`www.d${MAX_LISTS - 1}.example`, last)?.list.name).toBe(`l${MAX_LISTS - 1}`);
    const everything = m.maskFor(lists.map((l) => l.name));
    for (let i = 0; i < MAX_LISTS; i++) expect(m.match(`d${i}.example`, everything)?.list.name).toBe(`l${i}`);
  });

  it('refuses more than 31 lists', () => {
    const lists = Array.from({ length: MAX_LISTS + 1 }, (_, i) => ({ name: `l${i}`, version: '1', domains: [] }));
    expect(() => DomainMatcher.build(lists)).toThrow(RangeError);
  });
});

describe('DomainMatcher: agrees with a naive suffix search', () => {
  const label = fc.constantFrom('a', 'b', 'ab', 'ba', 'com', 'x-y', '0');
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

  function naive(lists: readonly { name: string; domains: readonly string[] }[], name: string, names: readonly string[]): { rule: string; list: string } | undefined {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const list = lists.find((l) => names.includes(l.name) && l.domains.includes(suffix));
      if (list) return { rule: suffix, list: list.name };
    }
    return undefined;
  }

  it('for random lists, masks and names', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(domain, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(3), { maxLength: 4 }),
        fc.array(domain, { minLength: 1, maxLength: 10 }),
        (domainLists, picks, queries) => {
          const lists = domainLists.map((domains, i) => ({ name: `list${i}`, version: String(i), domains }));
          const matcher = DomainMatcher.build(lists);
          const names = picks.map((p) => `list${p}`);
          const mask = matcher.maskFor(names);
          for (const q of queries) {
            const got = matcher.match(q, mask);
            const want = naive(lists, q, names);
            expect(got === undefined ? undefined : { rule: got.rule, list: got.list.name }, q).toEqual(want);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
