// The resolver reuses the context of a UDP query that ended within its call for the next UDP
// query (src/resolver/resolver.ts). Over real sockets: a query the upstream holds keeps its
// own context while others come and go, and nothing of one query carries over to the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, queryUdp, sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, encodeReply, type ReceivedQuery, rr, StubUpstream } from '../helpers/stub-upstream.ts';

let upstream: StubUpstream;
let server: TestServer;
const held: ReceivedQuery[] = [];

beforeAll(async () => {
  upstream = await new StubUpstream((q) => {
    // Held until the test answers it by hand.
    if (q.qname === 'held.example') {
      held.push(q);
      return 'drop';
    }
    // An answer of ~850 bytes: over 512, so a client without EDNS gets TC=1, and under the 1,232 dnsward offers.
    if (q.qname === 'big.example') return { answers: Array.from({ length: 30 }, (_, i) => rr.a(q.qname, `192.0.2.${i + 1}`)) };
    return defaultHandler(q);
  }).start();
  // A long upstream timeout: the held query waits for the test, not for a retry.
  server = await startTestServer(testConfig(upstream.port, { dns: { upstream_timeout_ms: 3000, query_timeout_ms: 5000 } }));
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

const decisions = (): Record<string, unknown>[] => server.logs.filter((l) => l.component === 'decision');

describe('context reuse on the UDP path', () => {
  it('answers a query the upstream holds, and one waiting on it, each with its own ID, question and client, after queries that ended at once', async () => {
    await queryUdp(server.port, { name: 'warm.example' });
    const heldQuery = buildQuery({ id: 0x4242, name: 'Held.Example' });
    const heldAnswer = sendUdp(server.port, heldQuery, { from: '127.0.0.9', timeoutMs: 4000 });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    // The same question from another client waits on the same upstream query (coalesced).
    const waiterAnswer = sendUdp(server.port, buildQuery({ id: 0x4343, name: 'HELD.example' }), { from: '127.0.0.11', timeoutMs: 4000 });
    await new Promise((r) => setTimeout(r, 20));
    // Cached and blocked answers while it waits, each from another client with another ID.
    const others = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const blocked = i % 2 === 1;
        const query = buildQuery({ id: 0x1000 + i, name: blocked ? `v${i}.tiktokcdn.com` : 'warm.example' });
        return sendUdp(server.port, query, { from: blocked ? '127.0.0.2' : '127.0.0.10' }).then((raw) => ({ i, blocked, raw }));
      }),
    );
    for (const { i, blocked, raw } of others) {
      if (raw === undefined) throw new Error(`no answer to query ${i}`);
      const reply = decode(raw);
      expect(reply.packet.header.id).toBe(0x1000 + i);
      expect(reply.packet.questions[0]?.name).toBe(blocked ? `v${i}.tiktokcdn.com` : 'warm.example');
      expect(reply.rcode).toBe(blocked ? 3 : 0);
    }
    const q = held[0] as ReceivedQuery;
    upstream.sendRaw(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.77')] }, true), q.port);
    const raw = await heldAnswer;
    if (raw === undefined) throw new Error('the held query got no answer');
    const reply = decode(raw);
    expect(reply.packet.header.id).toBe(0x4242);
    expect(reply.packet.questions[0]?.name).toBe('Held.Example');
    expect(reply.packet.answers[0]).toMatchObject({ name: 'held.example', address: '192.0.2.77' });
    const waiterRaw = await waiterAnswer;
    if (waiterRaw === undefined) throw new Error('the coalesced query got no answer');
    const waiter = decode(waiterRaw);
    expect(waiter.packet.header.id).toBe(0x4343);
    expect(waiter.packet.questions[0]?.name).toBe('HELD.example');
    expect(waiter.packet.answers[0]).toMatchObject({ address: '192.0.2.77' });
    expect(held).toHaveLength(1);
  });

  it('does not carry a log-only decision over to the next query', async () => {
    // Cached first (from a segment that allows it), so the logged query ends within its call and its context is reused.
    await queryUdp(server.port, { name: 'www.tiktok.com', from: '127.0.0.10' });
    const before = decisions().length;
    expect((await queryUdp(server.port, { name: 'www.tiktok.com', from: '127.0.0.3' })).rcode).toBe(0);
    for (let i = 0; i < 5; i++) expect((await queryUdp(server.port, { name: 'warm.example', from: '127.0.0.3' })).rcode).toBe(0);
    const added = decisions().slice(before);
    expect(added.map((d) => d.qname)).toEqual(['www.tiktok.com']);
    const logged = server.app.resolver
      .stats()
      .queries.filter((c) => c.segment === 'personal' && c.outcome === 'logged')
      .reduce((sum, c) => sum + c.count, 0);
    expect(logged).toBe(1);
  });

  it('does not carry an EDNS payload size over: the next query without EDNS gets TC=1 for a big answer', async () => {
    const large = await queryUdp(server.port, { name: 'big.example', edns: 4096 });
    expect(large.packet.answers).toHaveLength(30);
    const small = await queryUdp(server.port, { name: 'big.example' });
    expect(small.raw.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(small.raw.length).toBeLessThanOrEqual(512);
  });
});
