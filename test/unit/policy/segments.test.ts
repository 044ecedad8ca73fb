import { describe, expect, it } from 'vitest';
import type { SegmentConfig } from '../../../src/config/schema.ts';
import { DomainMatcher } from '../../../src/policy/domain-matcher.ts';
import { NetworkMatcher } from '../../../src/policy/network-matcher.ts';
import { RateLimiter, type RateLimitSettings } from '../../../src/policy/rate-limiter.ts';
import { ClientClassifier, IMPLICIT_DEFAULT_SEGMENT, makeSegment, type Segment } from '../../../src/policy/segments.ts';

const NO_LISTS = DomainMatcher.build([]);
const NO_NETWORKS = NetworkMatcher.build([]);
const counts = (): Float64Array => new Float64Array(22);

function segmentConfig(overrides: Partial<SegmentConfig> & Pick<SegmentConfig, 'name' | 'networks' | 'action'>): SegmentConfig {
  return { lists: [], allowlist: [], block_response: 'nxdomain', bypass_prevention: true, pseudonymize: false, ...overrides };
}

const NO_LIMIT: RateLimitSettings = { enabled: false, qps: 100, burst: 200, ipv4_prefix: 32, ipv6_prefix: 56, action: 'slip', slip_every: 2, exempt: [] };

function classifier(options: { allow?: string[]; configs: SegmentConfig[]; limiter?: RateLimiter; memoLimit?: number }) {
  const segments = options.configs.map((config) => ({ networks: config.networks, segment: makeSegment(config, NO_LISTS, NO_NETWORKS, counts()) }));
  const fallback = makeSegment(IMPLICIT_DEFAULT_SEGMENT, NO_LISTS, NO_NETWORKS, counts());
  const c = new ClientClassifier(options.allow ?? ['0.0.0.0/0', '::/0'], segments, fallback, options.limiter ?? new RateLimiter(NO_LIMIT), options.memoLimit);
  const byName = new Map<string, Segment>(segments.map((s) => [s.segment.name, s.segment]));
  return { c, byName, fallback };
}

describe('makeSegment', () => {
  it('copies the config; with no list loaded the mask is empty', () => {
    const own = counts();
    const s = makeSegment(
      segmentConfig({ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok', 'bytedance'], block_response: 'null', bypass_prevention: false, pseudonymize: true }),
      NO_LISTS,
      NO_NETWORKS,
      own,
    );
    expect(s).toMatchObject({
      name: 'service',
      action: 'block',
      listNames: ['tiktok', 'bytedance'],
      mask: 0,
      blockResponse: 'null',
      bypassPrevention: false,
      pseudonymize: true,
    });
    expect(s.counts).toBe(own);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('builds one EDE text per list naming segment and list', () => {
    const s = makeSegment(segmentConfig({ name: 'service', networks: ['10.0.0.0/8'], action: 'block', lists: ['tiktok', 'bytedance'] }), NO_LISTS, NO_NETWORKS, counts());
    expect(s.edeByList.get('tiktok')?.text.toString('utf8')).toBe('blocked by dnsward: segment service, list tiktok');
    expect(s.edeByList.get('bytedance')?.text.toString('utf8')).toBe('blocked by dnsward: segment service, list bytedance');
    expect(s.edeByList.size).toBe(2);
  });

  it('normalises the allowlist (case, trailing dot) and drops invalid entries', () => {
    const s = makeSegment(segmentConfig({ name: 'x', networks: ['10.0.0.0/8'], action: 'block', lists: ['t'], allowlist: ['Ads.TikTok.com.', ' cdn.example.org ', 'not a domain', 'com', ''] }), NO_LISTS, NO_NETWORKS, counts());
    expect([...s.allowlist].sort()).toEqual(['ads.tiktok.com', 'cdn.example.org']);
  });
});

describe('IMPLICIT_DEFAULT_SEGMENT', () => {
  it('is an allow segment named default without lists', () => {
    const s = makeSegment(IMPLICIT_DEFAULT_SEGMENT, NO_LISTS, NO_NETWORKS, counts());
    expect(s).toMatchObject({ name: 'default', action: 'allow', listNames: [], mask: 0, bypassPrevention: false, pseudonymize: false });
  });
});

describe('segment masks', () => {
  it('sets each segment mask from the matcher; allow segments stay 0', () => {
    const matcher = DomainMatcher.build([
      { name: 'tiktok', version: '1', domains: ['tiktok.com'] },
      { name: 'bytedance', version: '1', domains: ['capcut.com'] },
    ]);
    const block = makeSegment(segmentConfig({ name: 'b', networks: ['10.0.0.0/8'], action: 'block', lists: ['bytedance'] }), matcher, NO_NETWORKS, counts());
    const log = makeSegment(segmentConfig({ name: 'l', networks: ['10.1.0.0/16'], action: 'log', lists: ['tiktok', 'bytedance', 'unknown'] }), matcher, NO_NETWORKS, counts());
    const allow = makeSegment(segmentConfig({ name: 'a', networks: ['0.0.0.0/0'], action: 'allow', lists: ['tiktok'] }), matcher, NO_NETWORKS, counts());
    expect(block.mask).toBe(2);
    expect(block.netMask).toBe(0);
    expect(log.mask).toBe(3);
    expect(allow.mask).toBe(0);
    expect(matcher.match('www.capcut.com', block.mask)?.rule).toBe('capcut.com');
    expect(matcher.match('www.tiktok.com', block.mask)).toBeUndefined();
  });

  it('a segment built against another matcher follows that matcher\'s list order', () => {
    const config = segmentConfig({ name: 'b', networks: ['10.0.0.0/8'], action: 'block', lists: ['tiktok'] });
    expect(makeSegment(config, DomainMatcher.build([{ name: 'tiktok', version: '1', domains: [] }]), NO_NETWORKS, counts()).mask).toBe(1);
    expect(makeSegment(config, DomainMatcher.build([{ name: 'other', version: '1', domains: [] }, { name: 'tiktok', version: '2', domains: [] }]), NO_NETWORKS, counts()).mask).toBe(2);
    expect(makeSegment(config, DomainMatcher.build([]), NO_NETWORKS, counts()).mask).toBe(0);
  });
});

describe('ClientClassifier', () => {
  const configs = [
    segmentConfig({ name: 'service', networks: ['10.10.0.0/16', 'fd00:10::/48'], action: 'block', lists: ['tiktok'] }),
    segmentConfig({ name: 'personal', networks: ['10.20.0.0/16'], action: 'log', lists: ['tiktok'] }),
    segmentConfig({ name: 'lab', networks: ['10.10.5.0/24'], action: 'allow' }),
    segmentConfig({ name: 'wide', networks: ['10.0.0.0/8', 'fd00::/8'], action: 'allow' }),
  ];

  it('puts a client in the most specific segment (longest prefix wins)', () => {
    const { c } = classifier({ configs });
    expect(c.classify('10.10.1.1').segment.name).toBe('service');
    expect(c.classify('10.10.5.9').segment.name).toBe('lab');
    expect(c.classify('10.20.0.1').segment.name).toBe('personal');
    expect(c.classify('10.30.0.1').segment.name).toBe('wide');
    expect(c.classify('fd00:10::1').segment.name).toBe('service');
    expect(c.classify('fd00:11::1').segment.name).toBe('wide');
  });

  it('maps IPv4-mapped IPv6 clients to IPv4 segments', () => {
    const { c } = classifier({ configs });
    expect(c.classify('::ffff:10.10.1.1').segment.name).toBe('service');
    expect(c.classify('::ffff:10.10.1.1').allowed).toBe(true);
  });

  it('uses the fallback segment when no network contains the client', () => {
    const { c, fallback } = classifier({ configs });
    expect(c.classify('192.0.2.1').segment).toBe(fallback);
    expect(c.classify('2001:db8::1').segment).toBe(fallback);
    expect(fallback.name).toBe('default');
  });

  it('applies the ACL independently of segments', () => {
    const { c } = classifier({ configs, allow: ['127.0.0.0/8', '10.10.0.0/16', '::1/128'] });
    expect(c.classify('127.0.0.1').allowed).toBe(true);
    expect(c.classify('::1').allowed).toBe(true);
    expect(c.classify('::ffff:127.0.0.1').allowed).toBe(true);
    expect(c.classify('10.10.3.3').allowed).toBe(true);
    expect(c.classify('10.20.0.1').allowed).toBe(false);
    expect(c.classify('10.20.0.1').segment.name).toBe('personal');
    expect(c.classify('8.8.8.8').allowed).toBe(false);
    expect(c.classify('::2').allowed).toBe(false);
  });

  it('an empty ACL allows nobody', () => {
    const { c } = classifier({ configs, allow: [] });
    expect(c.classify('10.10.1.1').allowed).toBe(false);
  });

  it('memoises per address', () => {
    const { c } = classifier({ configs });
    const first = c.classify('10.10.1.1');
    expect(c.classify('10.10.1.1')).toBe(first);
    expect(c.classify('10.10.1.2')).not.toBe(first);
  });

  it('stays correct when the memo overflows and is cleared', () => {
    const { c } = classifier({ configs, memoLimit: 4 });
    const first = c.classify('10.10.1.1');
    for (let i = 0; i < 10; i++) expect(c.classify(`10.20.0.${i}`).segment.name).toBe('personal');
    const again = c.classify('10.10.1.1');
    expect(again.segment.name).toBe('service');
    expect(again).not.toBe(first); // recomputed after the clear
  });

  it('hands out no rate-limit bucket when limiting is off', () => {
    const { c } = classifier({ configs });
    expect(c.classify('10.10.1.1').bucket).toBeUndefined();
  });

  it('shares buckets per prefix and exempts networks', () => {
    const limiter = new RateLimiter({ ...NO_LIMIT, enabled: true, ipv4_prefix: 24, exempt: ['10.20.0.0/16'] });
    const { c } = classifier({ configs, limiter });
    const a = c.classify('10.10.1.1').bucket;
    const b = c.classify('10.10.1.2').bucket;
    const other = c.classify('10.10.2.1').bucket;
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(other).not.toBe(a);
    expect(c.classify('10.20.0.1').bucket).toBeUndefined();
  });
});
