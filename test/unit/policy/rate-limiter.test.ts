import { describe, expect, it } from 'vitest';
import { RateLimiter, type RateLimitSettings, sameRateLimitSettings } from '../../../src/policy/rate-limiter.ts';

const SETTINGS: RateLimitSettings = { enabled: true, qps: 10, burst: 3, ipv4_prefix: 32, ipv6_prefix: 56, action: 'drop', slip_every: 2, exempt: [] };

describe('RateLimiter', () => {
  it('allows a burst, then refills at qps', () => {
    const limiter = new RateLimiter(SETTINGS);
    const bucket = limiter.bucketFor('192.0.2.1');
    if (!bucket) throw new Error('expected a bucket');
    const t = bucket.last;
    expect([1, 2, 3, 4].map(() => limiter.take(bucket, t))).toEqual([true, true, true, false]);
    expect(limiter.take(bucket, t + 99)).toBe(false); // 0.99 of a token
    expect(limiter.take(bucket, t + 100)).toBe(true);
    expect(limiter.take(bucket, t + 10_000)).toBe(true); // refills up to the burst only
    expect(bucket.tokens).toBe(2);
  });

  it('groups IPv4 clients by ipv4_prefix and IPv6 clients by ipv6_prefix (/56)', () => {
    const limiter = new RateLimiter({ ...SETTINGS, ipv4_prefix: 24 });
    expect(limiter.bucketFor('192.0.2.1')).toBe(limiter.bucketFor('192.0.2.200'));
    expect(limiter.bucketFor('192.0.2.1')).not.toBe(limiter.bucketFor('192.0.3.1'));
    // 2001:db8:0:1200::/56 holds 2001:db8:0:12ff::1, not 2001:db8:0:1300::1.
    expect(limiter.bucketFor('2001:db8:0:1200::1')).toBe(limiter.bucketFor('2001:db8:0:12ff::1'));
    expect(limiter.bucketFor('2001:db8:0:1200::1')).not.toBe(limiter.bucketFor('2001:db8:0:1300::1'));
    // An IPv4-mapped address shares its IPv4 bucket.
    expect(limiter.bucketFor('::ffff:192.0.2.9')).toBe(limiter.bucketFor('192.0.2.1'));
  });

  it('exempts networks, and limits nobody when disabled', () => {
    expect(new RateLimiter({ ...SETTINGS, exempt: ['10.0.0.0/8'] }).bucketFor('10.1.2.3')).toBeUndefined();
    expect(new RateLimiter({ ...SETTINGS, enabled: false }).bucketFor('192.0.2.1')).toBeUndefined();
  });

  it('slips one over-limit query in slip_every, and none with action drop', () => {
    const slip = new RateLimiter({ ...SETTINGS, action: 'slip', slip_every: 3 });
    expect([1, 2, 3, 4, 5, 6].map(() => slip.shouldSlip())).toEqual([false, false, true, false, false, true]);
    const drop = new RateLimiter(SETTINGS);
    expect([1, 2, 3].map(() => drop.shouldSlip())).toEqual([false, false, false]);
  });
});

describe('sameRateLimitSettings', () => {
  it('compares every setting, exempt networks included', () => {
    expect(sameRateLimitSettings(SETTINGS, { ...SETTINGS, exempt: [] })).toBe(true);
    expect(sameRateLimitSettings(SETTINGS, { ...SETTINGS, qps: 11 })).toBe(false);
    expect(sameRateLimitSettings(SETTINGS, { ...SETTINGS, exempt: ['10.0.0.0/8'] })).toBe(false);
    expect(sameRateLimitSettings({ ...SETTINGS, exempt: ['10.0.0.0/8'] }, { ...SETTINGS, exempt: ['10.0.0.0/16'] })).toBe(false);
  });
});
