// Per-segment policy over real sockets: a stub upstream on loopback, dnsward in-process,
// queries from different loopback sources (127.0.0.2 = service/block, .3 = personal/log,
// .4 = null answers, .5 = REFUSED answers, .1 = default/allow).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsReply, buildQuery, decode, extendedError, findOpt, queryTcp, queryUdp, sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, rr, StubUpstream } from '../helpers/stub-upstream.ts';

const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const NULLSEG = '127.0.0.4';
const REFUSESEG = '127.0.0.5';
const DEFAULT = '127.0.0.1';

let upstream: StubUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  server = await startTestServer(testConfig(upstream.port));
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

const transports = [
  ['udp', (o: Parameters<typeof queryUdp>[1]) => queryUdp(server.port, o)],
  ['tcp', (o: Parameters<typeof queryTcp>[1]) => queryTcp(server.port, o)],
] as const;

function decisions(): Record<string, unknown>[] {
  return server.logs.filter((l) => l.component === 'decision');
}

function aRecords(reply: DnsReply): string[] {
  return reply.packet.answers.filter((a) => a.type === 1).map((a) => (a as { address: string }).address);
}

describe.each(transports)('blocking segment over %s', (_transport, query) => {
  it.each(['tiktok.com', 'www.tiktok.com', 'a.b.c.tiktokv.com', 'WWW.TikTok.COM', 'www.tiktok.com.'])('answers NXDOMAIN for %s', async (name) => {
    const before = upstream.count();
    const reply = await query({ name, from: SERVICE });
    expect(reply.rcode).toBe(3);
    expect(reply.packet.answers).toHaveLength(0);
    expect(upstream.count()).toBe(before);
  });

  it('puts an SOA for the listed domain in the authority section for negative caching', async () => {
    const reply = await query({ name: 'video.tiktok.com', from: SERVICE });
    expect(reply.packet.authorities).toHaveLength(1);
    expect(reply.packet.authorities[0]?.type).toBe(6);
    expect(reply.packet.authorities[0]?.name).toBe('tiktok.com');
  });

  it('adds EDE 15 naming segment and list only when the query had EDNS', async () => {
    const withEdns = await query({ name: 'www.tiktok.com', from: SERVICE, edns: 1232 });
    expect(extendedError(withEdns.raw)).toEqual({ code: 15, text: 'blocked by dnsward: segment service, list tiktok' });
    const withoutEdns = await query({ name: 'www.tiktok.com', from: SERVICE });
    expect(findOpt(withoutEdns.raw)).toBeUndefined();
    expect(withoutEdns.raw.readUInt16BE(10)).toBe(0);
  });

  it('echoes the question exactly as asked, case included', async () => {
    const raw = buildQuery({ name: 'Www.TikTok.Com', from: SERVICE });
    const reply = await query({ name: 'Www.TikTok.Com', from: SERVICE });
    const questionLength = raw.length - 12;
    expect(reply.raw.subarray(12, 12 + questionLength).equals(raw.subarray(12))).toBe(true);
  });

  it('never blocks a different domain that merely ends in the same letters', async () => {
    for (const name of ['notiktok.com', 'tiktok.com.example.org', 'mytiktokv.com']) {
      const reply = await query({ name, from: SERVICE });
      expect(reply.rcode, name).toBe(0);
      expect(aRecords(reply), name).toEqual(['192.0.2.1']);
    }
  });

  it('answers bypass canaries (Firefox DoH, iCloud Private Relay) with NXDOMAIN', async () => {
    for (const name of ['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com']) {
      const reply = await query({ name, from: SERVICE });
      expect(reply.rcode, name).toBe(3);
    }
  });

  it('records one decision per block with segment, list, rule and version', async () => {
    const before = decisions().length;
    await query({ name: 'api.tiktokv.com', from: SERVICE, type: 28 });
    const added = decisions().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      segment: 'service',
      client: SERVICE,
      qname: 'api.tiktokv.com',
      qtype: 28,
      action: 'blocked',
      list: 'tiktok',
      rule: 'tiktokv.com',
      response: 'nxdomain',
    });
    expect(added[0]?.list_version).toBe(server.app.lists.get('tiktok')?.version);
  });
});

describe.each(transports)('log-only segment over %s', (_transport, query) => {
  it('answers listed names normally and records a pseudonymised decision', async () => {
    const before = decisions().length;
    const reply = await query({ name: 'www.tiktok.com', from: PERSONAL });
    expect(reply.rcode).toBe(0);
    expect(aRecords(reply)).toEqual(['192.0.2.1']);
    const added = decisions().slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ segment: 'personal', action: 'logged', rule: 'tiktok.com', response: 'answer' });
    expect(JSON.stringify(added[0])).not.toContain(PERSONAL);
  });

  it('records nothing for names not listed', async () => {
    const before = decisions().length;
    await query({ name: 'example.org', from: PERSONAL });
    expect(decisions().length).toBe(before);
  });

  it('still answers bypass canaries normally (bypass prevention is for blocking segments)', async () => {
    const reply = await query({ name: 'use-application-dns.net', from: PERSONAL });
    expect(reply.rcode).toBe(0);
  });
});

describe.each(transports)('allow segment over %s', (_transport, query) => {
  it('resolves listed names and records nothing', async () => {
    const before = decisions().length;
    const reply = await query({ name: 'www.tiktok.com', from: DEFAULT });
    expect(reply.rcode).toBe(0);
    expect(aRecords(reply)).toEqual(['192.0.2.1']);
    expect(decisions().length).toBe(before);
  });
});

describe('block responses', () => {
  it('null: 0.0.0.0 for A, :: for AAAA, NODATA with SOA for other types', async () => {
    const a = await queryUdp(server.port, { name: 'www.tiktok.com', from: NULLSEG });
    expect(a.rcode).toBe(0);
    expect(aRecords(a)).toEqual(['0.0.0.0']);
    const aaaa = await queryUdp(server.port, { name: 'www.tiktok.com', type: 28, from: NULLSEG });
    expect(aaaa.packet.answers[0]).toMatchObject({ type: 28, address: '::' });
    const txt = await queryUdp(server.port, { name: 'www.tiktok.com', type: 16, from: NULLSEG });
    expect(txt.rcode).toBe(0);
    expect(txt.packet.answers).toHaveLength(0);
    expect(txt.packet.authorities[0]?.type).toBe(6);
  });

  it('refused: REFUSED with EDE 15', async () => {
    const reply = await queryUdp(server.port, { name: 'www.tiktok.com', from: REFUSESEG, edns: 1232 });
    expect(reply.rcode).toBe(5);
    expect(extendedError(reply.raw)?.code).toBe(15);
  });
});

describe('never an open resolver', () => {
  it('refuses clients outside dns.allow with EDE 18 and asks no upstream', async () => {
    const up = await new StubUpstream().start();
    const closed = await startTestServer(testConfig(up.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.1/32'] } }));
    try {
      const reply = decode((await sendUdp(closed.port, buildQuery({ name: 'example.org', edns: 1232 }), { from: '127.0.0.9' })) as Buffer);
      expect(reply.rcode).toBe(5);
      expect(extendedError(reply.raw)?.code).toBe(18);
      const tcp = await queryTcp(closed.port, { name: 'example.org', from: '127.0.0.9' });
      expect(tcp.rcode).toBe(5);
      expect(up.count()).toBe(0);
      const allowed = await queryUdp(closed.port, { name: 'example.org', from: '127.0.0.1' });
      expect(allowed.rcode).toBe(0);
      expect(up.count()).toBe(1);
    } finally {
      await closed.stop();
      await up.stop();
    }
  });
});

describe('segment selection', () => {
  it('puts a client in the most specific segment whose network contains it', async () => {
    const up = await new StubUpstream().start();
    const s = await startTestServer(
      testConfig(up.port, {
        segments: [
          { name: 'wide-log', networks: ['127.0.0.0/8'], action: 'log', lists: ['tiktok'] },
          { name: 'host-block', networks: ['127.0.0.6/32'], action: 'block', lists: ['tiktok'] },
          { name: 'mid-allow', networks: ['127.0.1.0/24'], action: 'allow' },
        ],
      }),
    );
    try {
      expect((await queryUdp(s.port, { name: 'tiktok.com', from: '127.0.0.6' })).rcode).toBe(3);
      expect((await queryUdp(s.port, { name: 'tiktok.com', from: '127.0.0.7' })).rcode).toBe(0);
      expect((await queryUdp(s.port, { name: 'tiktok.com', from: '127.0.1.9' })).rcode).toBe(0);
      const segments = s.logs.filter((l) => l.component === 'decision').map((l) => `${l.segment}:${l.action}`);
      expect(segments).toEqual(['host-block:blocked', 'wide-log:logged']);
    } finally {
      await s.stop();
      await up.stop();
    }
  });

  it('serves IPv6 clients on [::1] with their own segment', async () => {
    const up = await new StubUpstream().start();
    const s = await startTestServer(
      testConfig(up.port, {
        dns: { listen: ['[::1]:0'], allow: ['::1/128'] },
        segments: [
          { name: 'v6-service', networks: ['::1/128'], action: 'block', lists: ['tiktok'] },
          { name: 'default', networks: ['::/0'], action: 'allow' },
        ],
      }),
    );
    try {
      const blocked = decode((await sendUdp(s.port, buildQuery({ name: 'www.tiktok.com' }), { host: '::1' })) as Buffer);
      expect(blocked.rcode).toBe(3);
      const other = decode((await sendUdp(s.port, buildQuery({ name: 'example.org' }), { host: '::1' })) as Buffer);
      expect(other.rcode).toBe(0);
    } finally {
      await s.stop();
      await up.stop();
    }
  });
});

describe('allowlists and bypass prevention settings', () => {
  let up: StubUpstream;
  let s: TestServer;
  beforeAll(async () => {
    up = await new StubUpstream((q) => {
      // A cloaked name whose chain enters tiktokcdn.com.
      if (q.qname === 'partner.example') return { answers: [rr.cname(q.qname, 'v16.tiktokcdn.com'), rr.a('v16.tiktokcdn.com', '192.0.2.16')] };
      return defaultHandler(q);
    }).start();
    s = await startTestServer(
      testConfig(up.port, {
        segments: [
          { name: 'allowing', networks: ['127.0.0.2/32'], action: 'block', lists: ['tiktok'], allowlist: ['business.tiktok.com', 'partner.example'] },
          { name: 'no-bypass', networks: ['127.0.0.3/32'], action: 'block', lists: ['tiktok'], bypass_prevention: false },
          { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
        ],
      }),
    );
  });
  afterAll(async () => {
    await s?.stop();
    await up?.stop();
  });

  it('an allowlisted name and its subdomains resolve on a blocking segment, the rest of the list stays blocked', async () => {
    expect((await queryUdp(s.port, { name: 'business.tiktok.com', from: '127.0.0.2' })).rcode).toBe(0);
    expect((await queryUdp(s.port, { name: 'ads.business.tiktok.com', from: '127.0.0.2' })).rcode).toBe(0);
    expect((await queryUdp(s.port, { name: 'www.tiktok.com', from: '127.0.0.2' })).rcode).toBe(3);
    expect((await queryUdp(s.port, { name: 'business.tiktok.com', from: '127.0.0.3' })).rcode).toBe(3);
  });

  it('an allowlisted name is not blocked for CNAME cloaking either', async () => {
    const allowed = await queryUdp(s.port, { name: 'partner.example', from: '127.0.0.2' });
    expect(allowed.rcode).toBe(0);
    expect(allowed.packet.answers.length).toBeGreaterThan(0);
    expect((await queryUdp(s.port, { name: 'partner.example', from: '127.0.0.3' })).rcode).toBe(3);
  });

  it('with bypass_prevention: false the canaries resolve normally', async () => {
    expect((await queryUdp(s.port, { name: 'use-application-dns.net', from: '127.0.0.3' })).rcode).toBe(0);
    expect((await queryUdp(s.port, { name: 'use-application-dns.net', from: '127.0.0.2' })).rcode).toBe(3);
  });
});
