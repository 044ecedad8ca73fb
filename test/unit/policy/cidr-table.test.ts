import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CidrTable } from '../../../src/policy/cidr-table.ts';

describe('CidrTable: IPv4', () => {
  const table = new CidrTable<string>();
  table.add('10.0.0.0/8', 'ten');
  table.add('10.1.0.0/16', 'ten-one');
  table.add('10.1.2.3/32', 'host');
  table.add('192.168.0.0/24', 'lan');

  it('the longest prefix wins', () => {
    expect(table.lookup('10.9.9.9')).toBe('ten');
    expect(table.lookup('10.1.9.9')).toBe('ten-one');
    expect(table.lookup('10.1.2.3')).toBe('host');
    expect(table.lookup('10.1.2.4')).toBe('ten-one');
  });

  it('respects network boundaries', () => {
    expect(table.lookup('10.0.0.0')).toBe('ten');
    expect(table.lookup('10.255.255.255')).toBe('ten');
    expect(table.lookup('11.0.0.0')).toBeUndefined();
    expect(table.lookup('9.255.255.255')).toBeUndefined();
    expect(table.lookup('192.168.0.255')).toBe('lan');
    expect(table.lookup('192.168.1.0')).toBeUndefined();
  });

  it('does not answer IPv6 lookups from IPv4 networks', () => {
    expect(table.lookup('::1')).toBeUndefined();
    expect(table.lookup('::a01:203')).toBeUndefined(); // the IPv6 integer equal to 10.1.2.3
  });

  it('reads IPv4-mapped IPv6 addresses (dual-stack sockets) as IPv4', () => {
    expect(table.lookup('::ffff:10.1.2.3')).toBe('host');
    expect(table.lookup('::ffff:10.1.200.1')).toBe('ten-one');
    expect(table.lookup('::ffff:8.8.8.8')).toBeUndefined();
  });

  it('does not depend on insertion order', () => {
    const reversed = new CidrTable<string>();
    reversed.add('10.1.2.3/32', 'host');
    reversed.add('10.1.0.0/16', 'ten-one');
    reversed.add('10.0.0.0/8', 'ten');
    expect(reversed.lookup('10.1.2.3')).toBe('host');
    expect(reversed.lookup('10.1.2.4')).toBe('ten-one');
    expect(reversed.lookup('10.2.0.0')).toBe('ten');
  });

  it('handles /0 and host bits in the CIDR text', () => {
    const t = new CidrTable<string>();
    t.add('0.0.0.0/0', 'any');
    t.add('172.16.5.4/12', 'private');
    expect(t.lookup('1.2.3.4')).toBe('any');
    expect(t.lookup('255.255.255.255')).toBe('any');
    expect(t.lookup('172.31.255.255')).toBe('private');
    expect(t.lookup('172.32.0.0')).toBe('any');
  });

  it('keeps the first value on an exact duplicate (also when spelled differently)', () => {
    const t = new CidrTable<string>();
    t.add('10.0.0.0/8', 'first');
    t.add('10.0.0.0/8', 'second');
    t.add('10.9.9.9/8', 'third');
    expect(t.lookup('10.1.1.1')).toBe('first');
  });

  it('throws on a bad CIDR', () => {
    const t = new CidrTable<string>();
    expect(() => t.add('10.0.0.0/33', 'x')).toThrow(RangeError);
    expect(() => t.add('not-an-ip', 'x')).toThrow(/bad CIDR "not-an-ip"/);
  });

  it('an empty table finds nothing', () => {
    const t = new CidrTable<string>();
    expect(t.lookup('1.2.3.4')).toBeUndefined();
    expect(t.lookup('::1')).toBeUndefined();
  });
});

describe('CidrTable: IPv6', () => {
  const table = new CidrTable<string>();
  table.add('::/0', 'any6');
  table.add('fd00::/8', 'ula');
  table.add('fd00:10::/48', 'service');
  table.add('fd00:10:0:5::/64', 'subnet');
  table.add('::1/128', 'loopback');

  it('the longest prefix wins', () => {
    expect(table.lookup('fd00:10:0:5::1')).toBe('subnet');
    expect(table.lookup('fd00:10:0:6::1')).toBe('service');
    expect(table.lookup('fd00:10:0:ffff:ffff:ffff:ffff:ffff')).toBe('service');
    expect(table.lookup('fd00:10:1::')).toBe('ula');
    expect(table.lookup('fd00:11::1')).toBe('ula');
    expect(table.lookup('fdff::1')).toBe('ula');
    expect(table.lookup('fe00::1')).toBe('any6');
    expect(table.lookup('::1')).toBe('loopback');
    expect(table.lookup('::2')).toBe('any6');
  });

  it('accepts any text form of an address', () => {
    expect(table.lookup('FD00:0010:0000:0005:0000:0000:0000:0001')).toBe('subnet');
    expect(table.lookup('0:0:0:0:0:0:0:1')).toBe('loopback');
    expect(table.lookup('fe80::1%eth0')).toBe('any6');
  });

  it('does not answer IPv4 lookups from IPv6 networks', () => {
    expect(table.lookup('1.2.3.4')).toBeUndefined();
    expect(table.lookup('::ffff:1.2.3.4')).toBeUndefined();
  });
});

describe('CidrTable: agrees with a linear scan', () => {
  const toInt = (a: number[]): number => ((a[0] as number) * 2 ** 24 + (a[1] as number) * 2 ** 16 + (a[2] as number) * 2 ** 8 + (a[3] as number)) >>> 0;
  const octets = fc.tuple(fc.constantFrom(10, 192), fc.constantFrom(0, 1, 168), fc.nat(3), fc.nat(255));

  it('for random IPv4 networks and addresses', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(octets, fc.integer({ min: 0, max: 32 })), { maxLength: 12 }), fc.array(octets, { minLength: 1, maxLength: 10 }), (nets, addrs) => {
        const table = new CidrTable<number>();
        const entries: { net: number; prefix: number; value: number }[] = [];
        nets.forEach(([o, prefix], value) => {
          table.add(`${o.join('.')}/${prefix}`, value);
          const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
          entries.push({ net: (toInt(o) & mask) >>> 0, prefix, value });
        });
        for (const a of addrs) {
          const ip = toInt(a);
          let best: { prefix: number; value: number } | undefined;
          for (const e of entries) {
            const mask = e.prefix === 0 ? 0 : (0xffffffff << (32 - e.prefix)) >>> 0;
            if (((ip & mask) >>> 0) === e.net && (best === undefined || e.prefix > best.prefix)) best = e;
          }
          expect(table.lookup(a.join('.')), a.join('.')).toBe(best?.value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('for random IPv6 networks and addresses', () => {
    const group = fc.constantFrom(0, 1, 0xfd00, 0xffff, 0x8000);
    const addr = fc.array(group, { minLength: 8, maxLength: 8 });
    const value = (groups: number[]): bigint => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
    fc.assert(
      fc.property(fc.array(fc.tuple(addr, fc.integer({ min: 0, max: 128 })), { maxLength: 10 }), fc.array(addr, { minLength: 1, maxLength: 8 }), (nets, addrs) => {
        const table = new CidrTable<number>();
        const entries = nets.map(([groups, prefix], index) => {
          table.add(`${groups.map((g) => g.toString(16)).join(':')}/${prefix}`, index);
          const shift = BigInt(128 - prefix);
          return { net: (value(groups) >> shift) << shift, prefix, index };
        });
        for (const a of addrs) {
          const ip = value(a);
          let best: { prefix: number; index: number } | undefined;
          for (const e of entries) {
            const shift = BigInt(128 - e.prefix);
            if ((ip >> shift) << shift === e.net && (best === undefined || e.prefix > best.prefix)) best = e;
          }
          const text = a.map((g) => g.toString(16)).join(':');
          expect(table.lookup(text), text).toBe(best?.index);
        }
      }),
      { numRuns: 300 },
    );
  });
});
