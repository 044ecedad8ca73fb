import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { DnswardError } from '../../../src/errors.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import { buildPolicySnapshot, policyInputFromConfig } from '../../../src/policy/snapshot.ts';

const tiktok = { name: 'tiktok', version: 'v1', domains: ['tiktok.com'] };
const bytedance = { name: 'bytedance', version: 'v1', domains: ['capcut.com'] };

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    upstreams: ['127.0.0.1:53'],
    segments: [
      { name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'] },
      { name: 'all', networks: ['0.0.0.0/0'], action: 'allow' },
    ],
    ...extra,
  });
}

describe('buildPolicySnapshot', () => {
  it('builds segments (then the implicit default), classifier, matcher and lists as one frozen object', () => {
    const counters = new QueryCounters();
    const policy = buildPolicySnapshot(policyInputFromConfig(config(), [tiktok, bytedance]), { countsFor: counters.forSegment });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(policy.segments.map((s) => s.name)).toEqual(['service', 'all', 'default']);
    expect(policy.lists).toEqual([
      { name: 'tiktok', version: 'v1' },
      { name: 'bytedance', version: 'v1' },
    ]);
    const service = policy.classifier.classify('10.10.1.1').segment;
    expect(service.name).toBe('service');
    expect(policy.matcher.match('www.tiktok.com', service.mask)?.rule).toBe('tiktok.com');
    expect(policy.matcher.match('www.capcut.com', service.mask)).toBeUndefined();
    expect(policy.bypassNames.has('use-application-dns.net')).toBe(true);
  });

  it('keeps segment counts and the rate limiter across snapshots; numbers generations', () => {
    const counters = new QueryCounters();
    const first = buildPolicySnapshot(policyInputFromConfig(config(), [tiktok]), { countsFor: counters.forSegment });
    const second = buildPolicySnapshot(policyInputFromConfig(config(), [tiktok, bytedance]), { countsFor: counters.forSegment, previous: first });
    expect(second.generation).toBe(first.generation + 1);
    expect(second.segments[0]?.counts).toBe(first.segments[0]?.counts);
    expect(second.rateLimiter).toBe(first.rateLimiter);
    const faster = buildPolicySnapshot(policyInputFromConfig(config({ dns: { rate_limit: { qps: 5 } } }), [tiktok]), { countsFor: counters.forSegment, previous: second });
    expect(faster.rateLimiter).not.toBe(second.rateLimiter);
    expect(faster.rateLimiter.settings.qps).toBe(5);
  });

  it('refuses a policy naming a list that is not loaded, naming the key and the choices', () => {
    const build = () => buildPolicySnapshot(policyInputFromConfig(config(), [bytedance]), { countsFor: new QueryCounters().forSegment });
    expect(build).toThrow(DnswardError);
    expect(build).toThrow('segments[0].lists[0]: "tiktok" is not a loaded list; use one of: bytedance');
  });

  it('accepts a list still on its way (a subscribed source before its first fetch): it blocks nothing yet', () => {
    const withSource = config({ lists: { sources: [{ name: 'partner', url: 'https://lists.example/p.txt' }] }, segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok', 'partner'] }] });
    const policy = buildPolicySnapshot(policyInputFromConfig(withSource, [tiktok]), { countsFor: new QueryCounters().forSegment });
    expect(policy.segments[0]?.mask).toBe(1);
  });

  it('builds the network matcher and each segment\'s network mask from lists that name network lists', () => {
    const withNets = config({ segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok', 'nets'] }, { name: 'all', networks: ['0.0.0.0/0'], action: 'allow', lists: ['nets'] }] });
    const policy = buildPolicySnapshot(policyInputFromConfig(withNets, [tiktok], [{ name: 'nets', version: 'n', networks: ['101.45.0.0/16'] }]), { countsFor: new QueryCounters().forSegment });
    expect(policy.segments.map((s) => [s.name, s.mask, s.netMask])).toEqual([
      ['service', 1, 1],
      ['all', 0, 0],
      ['default', 0, 0],
    ]);
    expect(policy.networks.matchV4(Buffer.from([101, 45, 1, 1]), 0, 1)?.prefix).toBe('101.45.0.0/16');
    expect(policy.lists.map((l) => l.name)).toEqual(['tiktok', 'nets']);
  });

  it('refuses more lists than a mask holds', () => {
    const many = Array.from({ length: 32 }, (_, i) => ({ name: `l${i}`, version: '1', domains: [] }));
    expect(() => buildPolicySnapshot(policyInputFromConfig(config({ segments: [{ name: 'a', networks: ['0.0.0.0/0'], action: 'allow' }] }), many), { countsFor: new QueryCounters().forSegment })).toThrow('at most 31');
  });
});
