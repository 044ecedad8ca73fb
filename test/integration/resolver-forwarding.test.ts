// Forwarding over real sockets: transparency of relayed bytes, RFC 5452 checks on upstream
// replies, TC=1 → TCP retry, failover between upstreams, SERVFAIL when none answers.
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, extendedError, findOpt, queryTcp, queryUdp, sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, encodeReply, rr, StubUpstream } from '../helpers/stub-upstream.ts';

const HTTPS_RDATA = Buffer.from('0001000001000302683200040004c0000201', 'hex'); // SvcPriority 1, target ".", alpn=h2, ipv4hint
const RRSIG_RDATA = Buffer.from('00010d0200000e10' + '6a0000006900000012345' + '0'.repeat(3) + '076578616d706c6500' + 'ab'.repeat(32), 'hex');

let upstream: StubUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await new StubUpstream((q) => {
    if (q.qname === 'svc.example' && q.qtype === 65) return { answers: [rr.raw('svc.example', 65, HTTPS_RDATA)] };
    if (q.qname === 'signed.example') return { answers: [rr.a('signed.example', '192.0.2.7'), rr.raw('signed.example', 46, RRSIG_RDATA)] };
    if (q.qname === 'odd.example') return { answers: [rr.raw('odd.example', 4242, Buffer.from('opaque-bytes'))] };
    if (q.qname === 'big.example') {
      return { truncateUdp: true, answers: Array.from({ length: 40 }, (_, i) => rr.a('big.example', `192.0.2.${i + 1}`)) };
    }
    return defaultHandler(q);
  }).start();
  server = await startTestServer(testConfig(upstream.port));
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

describe('transparent relay', () => {
  it('passes HTTPS (TYPE65) records through byte for byte', async () => {
    const reply = await queryUdp(server.port, { name: 'svc.example', type: 65, edns: 1232 });
    expect(reply.rcode).toBe(0);
    expect(reply.raw.includes(HTTPS_RDATA)).toBe(true);
  });

  it('passes DNSSEC records and unknown types through byte for byte', async () => {
    const signed = await queryUdp(server.port, { name: 'signed.example', edns: 1232, dnssecOk: true });
    expect(signed.raw.includes(RRSIG_RDATA)).toBe(true);
    const odd = await queryTcp(server.port, { name: 'odd.example', type: 4242 });
    expect(odd.raw.includes(Buffer.from('opaque-bytes'))).toBe(true);
  });

  it('keeps EDNS options of the upstream answer for EDNS clients, and drops the OPT for others', async () => {
    const withOption = await new StubUpstream((q) => {
      const reply = encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.8')] }, true);
      // Append an NSID option (code 3, "up1") to the OPT at the end of the message.
      const option = Buffer.from([0, 3, 0, 3, 0x75, 0x70, 0x31]);
      const out = Buffer.concat([reply, option]);
      out.writeUInt16BE(option.length, out.length - option.length - 2);
      return [out];
    }).start();
    const s = await startTestServer(testConfig(withOption.port));
    try {
      const edns = await queryUdp(s.port, { name: 'nsid.example', edns: 1232 });
      const opt = findOpt(edns.raw);
      expect(opt?.rdlength).toBe(7);
      expect(edns.raw.subarray(opt?.rdata, (opt?.rdata ?? 0) + 7).toString('latin1')).toContain('up1');
      const plain = await queryUdp(s.port, { name: 'nsid.example' });
      expect(findOpt(plain.raw)).toBeUndefined();
      expect(plain.packet.answers[0]).toMatchObject({ address: '192.0.2.8' });
    } finally {
      await s.stop();
      await withOption.stop();
    }
  });

  it('patches the ID and echoes the question case, sets RA and clears AA', async () => {
    const query = buildQuery({ name: 'MiXeD.Example.ORG', id: 0x4242 });
    const raw = (await sendUdp(server.port, query)) as Buffer;
    expect(raw.readUInt16BE(0)).toBe(0x4242);
    expect(raw.subarray(12, query.length).equals(query.subarray(12))).toBe(true);
    expect(raw.readUInt16BE(2) & 0x0080).toBe(0x0080);
    expect(raw.readUInt16BE(2) & 0x0400).toBe(0);
  });
});

describe('upstream queries (RFC 5452)', () => {
  it('use random IDs and several source ports', async () => {
    const before = upstream.received.length;
    for (let i = 0; i < 40; i++) await queryUdp(server.port, { name: `rand${i}.example` });
    const sent = upstream.received.slice(before);
    expect(new Set(sent.map((q) => q.id)).size).toBeGreaterThanOrEqual(38);
    expect(new Set(sent.map((q) => q.port)).size).toBeGreaterThan(4);
  });

  it('accept only a reply with QR=1, our ID, our question, from the upstream port', async () => {
    let spoofPort = 0;
    const spoofer = createSocket('udp4');
    await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', () => resolve()));
    const fake = await new StubUpstream((q) => {
      spoofPort = q.port;
      const good = encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.99')] }, true);
      const wrongId = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '203.0.113.1')] }, true));
      wrongId.writeUInt16BE((q.id + 1) & 0xffff, 0);
      const otherQuestion = encodeReply(buildQuery({ name: 'bank.example', id: q.id }), { answers: [rr.a('bank.example', '203.0.113.2')] }, true);
      const notResponse = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '203.0.113.3')] }, true));
      notResponse.writeUInt16BE(notResponse.readUInt16BE(2) & 0x7fff, 2);
      // From another source port, with the right ID and question: must be ignored too.
      spoofer.send(encodeReply(q.raw, { answers: [rr.a(q.qname, '203.0.113.4')] }, true), q.port, '127.0.0.1');
      return [wrongId, otherQuestion, notResponse, good];
    }).start();
    const s = await startTestServer(testConfig(fake.port));
    try {
      const reply = await queryUdp(s.port, { name: 'spoof.example' });
      expect(reply.packet.answers.map((a) => (a as { address: string }).address)).toEqual(['192.0.2.99']);
      expect(spoofPort).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 50));
      expect(s.app.resolver.stats().forwarder.mismatched).toBeGreaterThanOrEqual(3);
    } finally {
      spoofer.close();
      await s.stop();
      await fake.stop();
    }
  });

  it('retry over TCP when the UDP answer is truncated', async () => {
    const tcpBefore = upstream.received.filter((q) => q.transport === 'tcp').length;
    const reply = await queryTcp(server.port, { name: 'big.example' });
    expect(reply.packet.answers).toHaveLength(40);
    expect(upstream.received.filter((q) => q.transport === 'tcp').length).toBe(tcpBefore + 1);
    // A UDP client without EDNS (512 octets) gets TC=1 and retries over TCP itself.
    const udp = await queryUdp(server.port, { name: 'big.example' });
    expect(udp.flags & 0x0200).toBe(0x0200);
    // With a 1232-octet EDNS buffer the 40 records fit.
    const edns = await queryUdp(server.port, { name: 'big.example', edns: 1232 });
    expect(edns.flags & 0x0200).toBe(0);
    expect(edns.packet.answers).toHaveLength(40);
  });
});

describe('failover', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('marks a silent upstream down and answers from the next one', async () => {
    const silent = await new StubUpstream(() => 'drop').start();
    const healthy = await new StubUpstream().start();
    const s = await startTestServer(testConfig(0, { upstreams: [`127.0.0.1:${silent.port}`, `127.0.0.1:${healthy.port}`] }));
    cleanup.push(() => s.stop(), () => silent.stop(), () => healthy.stop());
    const first = await queryUdp(s.port, { name: 'failover.example' });
    expect(first.rcode).toBe(0);
    expect(silent.count()).toBe(1);
    expect(healthy.count()).toBe(1);
    // Now marked down: the next query goes straight to the healthy upstream.
    const started = Date.now();
    const second = await queryUdp(s.port, { name: 'failover2.example' });
    expect(second.rcode).toBe(0);
    expect(silent.count()).toBe(1);
    expect(Date.now() - started).toBeLessThan(300);
    const metrics = await fetch(`http://127.0.0.1:${s.app.api?.port}/metrics`).then((r) => r.text());
    expect(metrics).toContain(`dnsward_upstream_up{upstream="127.0.0.1:${silent.port}"} 0`);
    expect(metrics).toContain(`dnsward_upstream_up{upstream="127.0.0.1:${healthy.port}"} 1`);
  });

  it('answers SERVFAIL within 3 s when no upstream answers', async () => {
    const silent = await new StubUpstream(() => 'drop').start();
    const s = await startTestServer(testConfig(silent.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8'] } }));
    cleanup.push(() => s.stop(), () => silent.stop());
    const started = Date.now();
    const reply = await queryUdp(s.port, { name: 'dead.example', edns: 1232 }, 4000);
    expect(reply.rcode).toBe(2);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(extendedError(reply.raw)?.code).toBe(22);
  });

  it('answers SERVFAIL when the upstream sends garbage', async () => {
    const garbage = await new StubUpstream((q) => {
      const junk = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.1')] }, true));
      junk.writeUInt16BE(9, 6); // claims 9 answers, carries 1
      return [junk];
    }).start();
    const s = await startTestServer(testConfig(garbage.port));
    cleanup.push(() => s.stop(), () => garbage.stop());
    const reply = await queryUdp(s.port, { name: 'junk.example' });
    expect(reply.rcode).toBe(2);
  });
});

describe('metrics', () => {
  it('count queries by segment and outcome', async () => {
    await queryUdp(server.port, { name: 'www.tiktok.com', from: '127.0.0.2' });
    const text = await fetch(`http://127.0.0.1:${server.app.api?.port}/metrics`).then((r) => r.text());
    expect(text).toMatch(/dnsward_queries_total\{segment="service",outcome="blocked",transport="udp"\} [1-9]/);
    expect(text).toMatch(/dnsward_queries_total\{segment="default",outcome="forwarded",transport="udp"\} [1-9]/);
    expect(text).toMatch(/dnsward_list_entries\{list="tiktok",version="[0-9a-f]+"\} [1-9]/);
  });
});
