import { describe, expect, it } from 'vitest';
import { ipv4ToInt, ipv6ToBigInt, parseCidr, parseHostPort } from '../../../src/util/address.ts';

describe('parseHostPort', () => {
  it('parses IPv4 with a port', () => {
    expect(parseHostPort('1.2.3.4:53', 9)).toEqual({ host: '1.2.3.4', port: 53, family: 4 });
    expect(parseHostPort('127.0.0.1:1053', 53)).toEqual({ host: '127.0.0.1', port: 1053, family: 4 });
  });

  it('parses bracketed IPv6 with a port', () => {
    expect(parseHostPort('[::1]:1053', 53)).toEqual({ host: '::1', port: 1053, family: 6 });
    expect(parseHostPort('[2001:db8::53]:5353', 53)).toEqual({ host: '2001:db8::53', port: 5353, family: 6 });
  });

  it('uses the default port for bare addresses', () => {
    expect(parseHostPort('192.0.2.1', 53)).toEqual({ host: '192.0.2.1', port: 53, family: 4 });
    expect(parseHostPort('::1', 853)).toEqual({ host: '::1', port: 853, family: 6 });
    expect(parseHostPort('2001:db8::1', 53)).toEqual({ host: '2001:db8::1', port: 53, family: 6 });
    expect(parseHostPort('[::1]', 5300)).toEqual({ host: '::1', port: 5300, family: 6 });
  });

  it('does not read the last group of a bare IPv6 address as a port', () => {
    const parsed = parseHostPort('2001:db8::53', 1);
    expect(parsed).toEqual({ host: '2001:db8::53', port: 1, family: 6 });
  });

  it('trims surrounding whitespace', () => {
    expect(parseHostPort('  10.0.0.1:53 \n', 1)).toEqual({ host: '10.0.0.1', port: 53, family: 4 });
  });

  it('accepts the port range bounds', () => {
    expect(parseHostPort('1.2.3.4:0', 53)).toEqual({ host: '1.2.3.4', port: 0, family: 4 });
    expect(parseHostPort('1.2.3.4:65535', 53)).toEqual({ host: '1.2.3.4', port: 65535, family: 4 });
    expect(parseHostPort('[::1]:65535', 53)).toEqual({ host: '::1', port: 65535, family: 6 });
  });

  it('rejects ports out of range', () => {
    expect(parseHostPort('1.2.3.4:65536', 53)).toMatch(/port 65536 is outside 0-65535/);
    expect(parseHostPort('[::1]:70000', 53)).toMatch(/port 70000 is outside 0-65535/);
    expect(parseHostPort('1.2.3.4:99999999999999999999', 53)).toMatch(/outside 0-65535/);
  });

  it('rejects ports that are not numbers', () => {
    expect(parseHostPort('1.2.3.4:dns', 53)).toMatch(/port "dns" is not a number/);
    expect(parseHostPort('1.2.3.4:', 53)).toMatch(/port "" is not a number/);
    expect(parseHostPort('1.2.3.4:-1', 53)).toMatch(/not a number/);
    expect(parseHostPort('1.2.3.4:5 3', 53)).toMatch(/not a number/);
    expect(typeof parseHostPort('[::1]:abc', 53)).toBe('string');
  });

  it('rejects host names and explains the expected form', () => {
    const result = parseHostPort('localhost:53', 53);
    expect(typeof result).toBe('string');
    expect(result).toMatch(/"localhost" is not an IP address/);
    expect(result).toMatch(/192\.0\.2\.1:53/);
    expect(typeof parseHostPort('dns.example.com', 53)).toBe('string');
    expect(typeof parseHostPort('[dns.example]:53', 53)).toBe('string');
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256:53', '01.2.3.4:53', '1.2.3.4.5', ':53', '[::1:53', '[]:53', '::g']) {
      expect(typeof parseHostPort(bad, 53), bad).toBe('string');
    }
  });
});

describe('parseCidr', () => {
  it('parses IPv4 networks', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ family: 4, network: 0x0a000000n, prefix: 8, text: '10.0.0.0/8' });
    expect(parseCidr('192.168.1.0/24')).toEqual({ family: 4, network: 0xc0a80100n, prefix: 24, text: '192.168.1.0/24' });
  });

  it('clears host bits (IPv4)', () => {
    const cidr = parseCidr('10.1.2.3/8');
    expect(cidr).toMatchObject({ family: 4, network: 0x0a000000n, prefix: 8 });
    expect(parseCidr('192.168.1.255/31')).toMatchObject({ network: 0xc0a801fen, prefix: 31 });
    expect(parseCidr('255.255.255.255/1')).toMatchObject({ network: 0x80000000n, prefix: 1 });
  });

  it('treats a bare address as a host route', () => {
    expect(parseCidr('192.0.2.7')).toMatchObject({ family: 4, network: 0xc0000207n, prefix: 32 });
    expect(parseCidr('::1')).toMatchObject({ family: 6, network: 1n, prefix: 128 });
  });

  it('handles /0 for both families', () => {
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ family: 4, network: 0n, prefix: 0 });
    expect(parseCidr('1.2.3.4/0')).toMatchObject({ family: 4, network: 0n, prefix: 0 });
    expect(parseCidr('::/0')).toMatchObject({ family: 6, network: 0n, prefix: 0 });
    expect(parseCidr('ffff::1/0')).toMatchObject({ family: 6, network: 0n, prefix: 0 });
  });

  it('parses IPv6 networks and clears host bits', () => {
    expect(parseCidr('fd00:10::/48')).toMatchObject({ family: 6, network: 0xfd000010n << 96n, prefix: 48 });
    expect(parseCidr('2001:db8:abcd:12ff::1/56')).toMatchObject({ family: 6, network: 0x20010db8abcd1200n << 64n, prefix: 56 });
    expect(parseCidr('fd00::1/8')).toMatchObject({ network: 0xfdn << 120n, prefix: 8 });
    expect(parseCidr('::1/128')).toMatchObject({ network: 1n, prefix: 128 });
  });

  it('keeps the trimmed text', () => {
    expect(parseCidr(' 10.0.0.0/8 ')).toMatchObject({ text: '10.0.0.0/8' });
  });

  it('rejects prefixes out of range or malformed', () => {
    expect(parseCidr('10.0.0.0/33')).toMatch(/prefix length "\/33" must be 0-32 for IPv4/);
    expect(parseCidr('::/129')).toMatch(/prefix length "\/129" must be 0-128 for IPv6/);
    expect(parseCidr('10.0.0.0/')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/-1')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/8/8')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/1000')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/ 8')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/8a')).toMatch(/prefix length/);
  });

  it('rejects addresses that are not IP addresses', () => {
    expect(parseCidr('example.com/24')).toMatch(/"example.com" is not an IPv4 or IPv6 address/);
    expect(parseCidr('10.0.0/8')).toMatch(/not an IPv4 or IPv6 address/);
    expect(parseCidr('/8')).toMatch(/not an IPv4 or IPv6 address/);
    expect(parseCidr('')).toMatch(/not an IPv4 or IPv6 address/);
    expect(parseCidr('fd00:::/8')).toMatch(/not an IPv4 or IPv6 address/);
  });
});

describe('ipv4ToInt', () => {
  it('converts dotted quads', () => {
    expect(ipv4ToInt('0.0.0.0')).toBe(0);
    expect(ipv4ToInt('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToInt('10.20.30.40')).toBe(0x0a141e28);
  });
});

describe('ipv6ToBigInt', () => {
  const full = (groups: number[]): bigint => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);

  it('expands the unspecified and loopback addresses', () => {
    expect(ipv6ToBigInt('::')).toBe(0n);
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('1::')).toBe(1n << 112n);
  });

  it('reads the full form', () => {
    expect(ipv6ToBigInt('2001:0db8:0000:0000:0000:ff00:0042:8329')).toBe(full([0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329]));
    expect(ipv6ToBigInt('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe((1n << 128n) - 1n);
    expect(ipv6ToBigInt('1:2:3:4:5:6:7:8')).toBe(full([1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it('expands "::" anywhere', () => {
    expect(ipv6ToBigInt('2001:db8::ff00:42:8329')).toBe(full([0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329]));
    expect(ipv6ToBigInt('1:2:3:4:5:6:7::')).toBe(full([1, 2, 3, 4, 5, 6, 7, 0]));
    expect(ipv6ToBigInt('::2:3:4:5:6:7:8')).toBe(full([0, 2, 3, 4, 5, 6, 7, 8]));
    expect(ipv6ToBigInt('fd00:10::')).toBe(full([0xfd00, 0x10, 0, 0, 0, 0, 0, 0]));
  });

  it('is case-insensitive', () => {
    expect(ipv6ToBigInt('2001:DB8::ABCD')).toBe(ipv6ToBigInt('2001:db8::abcd'));
  });

  it('reads an embedded IPv4 tail', () => {
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe(full([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]));
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe(ipv6ToBigInt('::ffff:102:304'));
    expect(ipv6ToBigInt('::1.2.3.4')).toBe(0x01020304n);
    expect(ipv6ToBigInt('64:ff9b::192.0.2.33')).toBe(full([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]));
    expect(ipv6ToBigInt('1:2:3:4:5:6:255.255.255.255')).toBe(full([1, 2, 3, 4, 5, 6, 0xffff, 0xffff]));
  });

  it('ignores a zone index', () => {
    expect(ipv6ToBigInt('fe80::1%eth0')).toBe(full([0xfe80, 0, 0, 0, 0, 0, 0, 1]));
  });
});
