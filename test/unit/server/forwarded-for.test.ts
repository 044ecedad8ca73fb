import { describe, expect, it } from 'vitest';
import { plainAddress, TrustedProxies } from '../../../src/server/forwarded-for.ts';

describe('TrustedProxies', () => {
  const proxies = new TrustedProxies(['10.0.0.0/24', 'fd00::/64']);

  it('believes X-Forwarded-For only from a trusted proxy', () => {
    expect(proxies.clientOf('10.0.0.5', '192.0.2.7')).toBe('192.0.2.7');
    expect(proxies.clientOf('192.0.2.9', '192.0.2.7')).toBe('192.0.2.9');
    expect(proxies.clientOf('10.0.0.5', undefined)).toBe('10.0.0.5');
    expect(new TrustedProxies([]).clientOf('10.0.0.5', '192.0.2.7')).toBe('10.0.0.5');
  });

  it('takes the right-most address that is not a trusted proxy; what the client wrote further left is ignored', () => {
    expect(proxies.clientOf('10.0.0.5', '198.51.100.1, 192.0.2.7, 10.0.0.6')).toBe('192.0.2.7');
    expect(proxies.clientOf('fd00::1', ['198.51.100.1', '2001:db8::7, fd00::2'])).toBe('2001:db8::7');
    // IPv4-mapped peers of a dual-stack socket count as their IPv4 address.
    expect(proxies.clientOf('::ffff:10.0.0.5', '192.0.2.7')).toBe('192.0.2.7');
  });

  it('stops at a hop that is no address, keeping the last trusted one', () => {
    expect(proxies.clientOf('10.0.0.5', '192.0.2.7, unknown')).toBe('10.0.0.5');
    expect(proxies.clientOf('10.0.0.5', '192.0.2.7, garbage, 10.0.0.6')).toBe('10.0.0.6');
    // Only proxies all the way: the left-most of them.
    expect(proxies.clientOf('10.0.0.5', '10.0.0.7, 10.0.0.6')).toBe('10.0.0.7');
  });
});

describe('plainAddress', () => {
  it('strips ports and brackets and refuses what is no address', () => {
    expect(plainAddress(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(plainAddress('192.0.2.1:4711')).toBe('192.0.2.1');
    expect(plainAddress('[2001:db8::1]:4711')).toBe('2001:db8::1');
    expect(plainAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(plainAddress('fe80::1%eth0')).toBeUndefined();
    expect(plainAddress('_hidden')).toBeUndefined();
    expect(plainAddress('')).toBeUndefined();
  });
});
