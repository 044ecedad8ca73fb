// Cache over real sockets: positive and negative answers, TTL ageing, the DO bit in the
// key, the entry bound, and CNAME cloaking checked per segment on fresh and cached answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTcp, queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, rr, StubUpstream } from '../helpers/stub-upstream.ts';

let upstream: StubUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await new StubUpstream((q) => {
    // CNAME cloaking: a first-party-looking name that aliases into TikTok's CDN.
    if (q.qname.endsWith('cloaked.example')) {
      return { answers: [rr.cname(q.qname, 'edge.cloaked-cdn.example'), rr.cname('edge.cloaked-cdn.example', 'v16.tiktokcdn.com'), rr.a('v16.tiktokcdn.com', '192.0.2.16')] };
    }
    if (q.qname === 'short.example') return { answers: [rr.a(q.qname, '192.0.2.3', 2)] };
    return defaultHandler(q);
  }).start();
  server = await startTestServer(testConfig(upstream.port));
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

describe('answer cache', () => {
  it('serves a repeated question from cache with the TTL counting down', async () => {
    const first = await queryUdp(server.port, { name: 'cached.example' });
    expect(first.packet.answers[0]?.ttl).toBe(300);
    await new Promise((r) => setTimeout(r, 1100));
    const second = await queryTcp(server.port, { name: 'CACHED.example' });
    expect(upstream.count('cached.example')).toBe(1);
    expect(second.packet.answers[0]?.ttl).toBeLessThanOrEqual(299);
    expect(second.packet.answers[0]?.ttl).toBeGreaterThanOrEqual(297);
    expect(second.packet.questions[0]?.name).toBe('CACHED.example');
  });

  it('caches NXDOMAIN for the SOA negative TTL (RFC 2308)', async () => {
    const first = await queryUdp(server.port, { name: 'missing.nx.test' });
    expect(first.rcode).toBe(3);
    const second = await queryUdp(server.port, { name: 'missing.nx.test' });
    expect(second.rcode).toBe(3);
    expect(second.packet.authorities[0]?.type).toBe(6);
    expect(upstream.count('missing.nx.test')).toBe(1);
  });

  it('expires entries when their TTL runs out', async () => {
    await queryUdp(server.port, { name: 'short.example' });
    await queryUdp(server.port, { name: 'short.example' });
    expect(upstream.count('short.example')).toBe(1);
    await new Promise((r) => setTimeout(r, 2100));
    await queryUdp(server.port, { name: 'short.example' });
    expect(upstream.count('short.example')).toBe(2);
  });

  it('keys entries by the DO bit', async () => {
    await queryUdp(server.port, { name: 'do.example', edns: 1232 });
    await queryUdp(server.port, { name: 'do.example', edns: 1232, dnssecOk: true });
    await queryUdp(server.port, { name: 'do.example', edns: 1232, dnssecOk: true });
    expect(upstream.count('do.example')).toBe(2);
  });

  it('keys entries by type', async () => {
    await queryUdp(server.port, { name: 'types.example', type: 1 });
    await queryUdp(server.port, { name: 'types.example', type: 28 });
    expect(upstream.count('types.example')).toBe(2);
  });

  it('is bounded in entries', async () => {
    const up = await new StubUpstream().start();
    const s = await startTestServer(testConfig(up.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8'], cache_size: 2 } }));
    try {
      for (const name of ['one.example', 'two.example', 'three.example', 'one.example']) await queryUdp(s.port, { name });
      expect(up.count('one.example')).toBe(2);
      expect(s.app.resolver.stats().cache.entries).toBe(2);
    } finally {
      await s.stop();
      await up.stop();
    }
  });
});

describe('CNAME cloaking', () => {
  it('blocks on a blocking segment when the chain enters a listed domain', async () => {
    const before = server.logs.length;
    const reply = await queryUdp(server.port, { name: 'a.cloaked.example', from: '127.0.0.2' });
    expect(reply.rcode).toBe(3);
    expect(reply.packet.answers).toHaveLength(0);
    const decision = server.logs.slice(before).find((l) => l.component === 'decision');
    expect(decision).toMatchObject({ segment: 'service', action: 'blocked', rule: 'cname:tiktokcdn.com', qname: 'a.cloaked.example' });
  });

  it('answers normally and logs on a log-only segment', async () => {
    const before = server.logs.length;
    const reply = await queryUdp(server.port, { name: 'b.cloaked.example', from: '127.0.0.3' });
    expect(reply.rcode).toBe(0);
    expect(reply.packet.answers.some((a) => a.type === 1)).toBe(true);
    const decision = server.logs.slice(before).find((l) => l.component === 'decision');
    expect(decision).toMatchObject({ segment: 'personal', action: 'logged', rule: 'cname:tiktokcdn.com' });
  });

  it('is checked again when the answer comes from cache', async () => {
    // Fill the cache from the allow segment, then ask from the blocking one.
    const allowed = await queryUdp(server.port, { name: 'c.cloaked.example', from: '127.0.0.1' });
    expect(allowed.rcode).toBe(0);
    const blocked = await queryUdp(server.port, { name: 'c.cloaked.example', from: '127.0.0.2' });
    expect(blocked.rcode).toBe(3);
    expect(upstream.count('c.cloaked.example')).toBe(1);
  });
});
