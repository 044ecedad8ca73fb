import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/state/redis-keys.ts';

describe('redisKeys', () => {
  it('puts every key under the prefix; the stream and what one script changes with it share a hash tag', () => {
    const k = redisKeys('dnsward:site-a:');
    const all = [k.changes, k.channel, k.replicas, k.stream, k.shipped, k.spans, k.events, k.source('partner'), k.lease('sources:partner')];
    expect(all.every((key) => key.startsWith('dnsward:site-a:'))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
    for (const key of [k.stream, k.shipped, k.spans, k.events]) expect(/\{([^}]*)\}/.exec(key)?.[1]).toBe('audit');
    expect(k.lease('sources:partner')).toBe('dnsward:site-a:sources:partner:lease');
    expect(k.source('partner')).toBe('dnsward:site-a:sources:partner');
  });
});
