import { describe, expect, it } from 'vitest';
import { NetworkMatcher } from '../../../src/policy/network-matcher.ts';

const v4 = (address: string): Buffer => Buffer.from(address.split('.').map(Number));
function v6(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const matcher = NetworkMatcher.build([
  { name: 'bd', version: 'v1', networks: ['101.45.0.0/16', '101.45.7.0/24', '203.0.113.0/24', '2402:e7c0::/32', '2001:db8:aa::/48'] },
  { name: 'other', version: 'v2', networks: ['198.51.100.0/24', '10.0.0.0/8'] },
]);

describe('NetworkMatcher', () => {
  it('finds the listed prefix containing an IPv4 address, the most specific one when nested', () => {
    const all = matcher.maskFor(['bd', 'other']);
    expect(matcher.matchV4(v4('101.45.200.9'), 0, all)).toEqual({ prefix: '101.45.0.0/16', list: { name: 'bd', version: 'v1' } });
    expect(matcher.matchV4(v4('101.45.7.7'), 0, all)?.prefix).toBe('101.45.7.0/24');
    // After the nested /24, still inside the /16.
    expect(matcher.matchV4(v4('101.45.9.1'), 0, all)?.prefix).toBe('101.45.0.0/16');
    expect(matcher.matchV4(v4('203.0.113.255'), 0, all)?.prefix).toBe('203.0.113.0/24');
    expect(matcher.matchV4(v4('198.51.100.1'), 0, all)?.list.name).toBe('other');
  });

  it('misses addresses outside every prefix, at both edges', () => {
    const all = matcher.maskFor(['bd', 'other']);
    for (const a of ['101.44.255.255', '101.46.0.0', '203.0.112.255', '203.0.114.0', '0.0.0.0', '255.255.255.255']) expect(matcher.matchV4(v4(a), 0, all), a).toBeUndefined();
  });

  it('finds IPv6 addresses by their first 64 bits', () => {
    const bd = matcher.maskFor(['bd']);
    expect(matcher.matchV6(v6('2402:e7c0:1::5'), 0, bd)?.prefix).toBe('2402:e7c0::/32');
    expect(matcher.matchV6(v6('2001:db8:aa:ffff::1'), 0, bd)?.prefix).toBe('2001:db8:aa::/48');
    expect(matcher.matchV6(v6('2001:db8:ab::1'), 0, bd)).toBeUndefined();
    expect(matcher.matchV6(v6('2402:e7c1::1'), 0, bd)).toBeUndefined();
  });

  it('looks only in the lists of the mask', () => {
    expect(matcher.matchV4(v4('101.45.1.1'), 0, matcher.maskFor(['other']))).toBeUndefined();
    expect(matcher.matchV4(v4('10.1.2.3'), 0, matcher.maskFor(['bd']))).toBeUndefined();
    expect(matcher.matchV4(v4('10.1.2.3'), 0, 0)).toBeUndefined();
    expect(matcher.maskFor(['other', 'unknown'])).toBe(2);
  });

  it('reads the address at an offset inside a message', () => {
    const message = Buffer.concat([Buffer.alloc(40, 0xff), v4('101.45.3.3')]);
    expect(matcher.matchV4(message, 40, 1)?.prefix).toBe('101.45.0.0/16');
  });

  it('refuses a bad CIDR and an IPv6 prefix longer than /64, naming list and entry', () => {
    expect(() => NetworkMatcher.build([{ name: 'x', version: '1', networks: ['300.0.0.0/8'] }])).toThrow('list x: "300.0.0.0/8"');
    expect(() => NetworkMatcher.build([{ name: 'x', version: '1', networks: ['2001:db8::/96'] }])).toThrow('longer than /64');
  });

  it('agrees with a brute-force check on random nested prefixes', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const prefixes: string[] = [];
    for (let i = 0; i < 200; i++) {
      const len = 8 + Math.floor(rand() * 25);
      const addr = Math.floor(rand() * 2 ** 32) & ~(2 ** (32 - len) - 1);
      prefixes.push(`${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`);
    }
    const m = NetworkMatcher.build([{ name: 'r', version: '1', networks: prefixes }]);
    const ranges = prefixes.map((p) => {
      const [a = '', l = '32'] = p.split('/');
      const start = a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
      return [start, start + 2 ** (32 - Number(l)) - 1];
    });
    for (let i = 0; i < 5000; i++) {
      const addr = Math.floor(rand() * 2 ** 32);
      const buf = Buffer.alloc(4);
      buf.writeUInt32BE(addr);
      const expected = ranges.some(([s, e]) => addr >= (s as number) && addr <= (e as number));
      expect(m.matchV4(buf, 0, 1) !== undefined, String(addr)).toBe(expected);
    }
  });
});
