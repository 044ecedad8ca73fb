// The response-ip stage over real sockets: an unlisted name whose answer lies in a listed
// network is blocked on a blocking segment and logged on a log-only one, fresh and from cache;
// an answer outside the networks passes; the block log names the prefix.
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../src/audit/types.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, rr, StubUpstream } from '../helpers/stub-upstream.ts';

const NETWORKS = [
  '# title: Test networks',
  '# description: address space for the response-ip test',
  '# source: TEST  written for this test',
  '101.45.0.0/16  2026-12-02  AS64500  TEST',
  '2001:db8:bd::/48  2026-12-02  AS64500  TEST',
].join('\n');

class MemorySink implements DecisionSink {
  readonly decisions: Decision[] = [];
  record(d: Decision): void {
    this.decisions.push(d);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('response-ip stage', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  const sink = new MemorySink();

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-response-ip-'));
    await cp(resolve('lists'), dir, { recursive: true });
    await writeFile(join(dir, 'test-networks.networks'), NETWORKS);
    upstream = await new StubUpstream((q) => {
      if (q.qname === 'new-app.example' && q.qtype === 1) return { answers: [rr.a(q.qname, '101.45.7.7')] };
      if (q.qname === 'new-app.example' && q.qtype === 28) return { answers: [rr.raw(q.qname, 28, Buffer.from('20010db800bd00000000000000000001', 'hex'))] };
      if (q.qname === 'behind.example') return { answers: [rr.cname(q.qname, 'edge.example'), rr.a('edge.example', '101.45.8.8')] };
      return defaultHandler(q);
    }).start();
    const base = testConfig(upstream.port);
    server = await startTestServer(
      testConfig(upstream.port, {
        lists: { dir },
        segments: base.segments.map((s) => (s.name === 'service' || s.name === 'personal' ? { ...s, lists: ['tiktok', 'test-networks'] } : s)),
      }),
      { decisions: sink },
    );
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('blocks an unlisted name answered inside a listed network, fresh and from cache, A and AAAA', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await queryUdp(server.port, { name: 'new-app.example', from: '127.0.0.2' })).rcode).toBe(3);
      expect((await queryUdp(server.port, { name: 'new-app.example', type: 28, from: '127.0.0.2' })).rcode).toBe(3);
    }
    expect((await queryUdp(server.port, { name: 'behind.example', from: '127.0.0.2' })).rcode).toBe(3);
    const blocked = sink.decisions.filter((d) => d.segment === 'service' && d.action === 'blocked');
    expect(blocked.map((d) => [d.qname, d.rule, d.list])).toEqual([
      ['new-app.example', 'ip:101.45.0.0/16', 'test-networks'],
      ['new-app.example', 'ip:2001:db8:bd::/48', 'test-networks'],
      ['new-app.example', 'ip:101.45.0.0/16', 'test-networks'],
      ['new-app.example', 'ip:2001:db8:bd::/48', 'test-networks'],
      ['behind.example', 'ip:101.45.0.0/16', 'test-networks'],
    ]);
    expect(blocked[0]?.listVersion).toMatch(/^[0-9a-f]{12}$/);
  });

  it('answers and logs it on a log-only segment', async () => {
    const reply = await queryUdp(server.port, { name: 'new-app.example', from: '127.0.0.3' });
    expect(reply.rcode).toBe(0);
    expect(reply.packet.answers[0]).toMatchObject({ address: '101.45.7.7' });
    expect(sink.decisions.filter((d) => d.segment === 'personal').map((d) => [d.qname, d.action, d.rule, d.response])).toEqual([['new-app.example', 'logged', 'ip:101.45.0.0/16', 'answer']]);
  });

  it('passes answers outside the networks, and clients of segments without the network list', async () => {
    const before = sink.decisions.length;
    expect((await queryUdp(server.port, { name: 'elsewhere.example', from: '127.0.0.2' })).rcode).toBe(0);
    expect((await queryUdp(server.port, { name: 'new-app.example', from: '127.0.0.4' })).rcode).toBe(0);
    expect((await queryUdp(server.port, { name: 'new-app.example', from: '127.0.0.9' })).rcode).toBe(0);
    expect(sink.decisions).toHaveLength(before);
  });
});
