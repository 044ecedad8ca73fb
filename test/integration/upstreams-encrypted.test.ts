// Encrypted upstreams through the real dnsward: DNS over HTTPS (HTTP/2) and DNS over TLS
// servers on loopback with a test certificate; clients ask dnsward over UDP. Resolution,
// connection reuse, failover to the next upstream (refused, hanging, HTTP errors, wrong
// answers, untrusted certificates) and the stats and metrics they show.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamState } from '../../src/resolver/forwarder.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { DohUpstream, DotUpstream } from '../helpers/encrypted-upstream.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { makeTestCert, type TestCert } from '../helpers/tls-certs.ts';

let cert: TestCert;
let otherCa: TestCert;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(() => {
  const dir = mkdtempSync(`${tmpdir()}/dnsward-upstream-tls-`);
  cert = makeTestCert(dir, 'upstream', ['dns.example']);
  otherCa = makeTestCert(dir, 'other');
});

// Each test starts a dnsward; on a loaded 2-core machine that alone can take seconds.
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `caFile` null: no upstream_tls, only the default roots. */
async function server(upstreams: string[], caFile: string | null = cert.cert): Promise<TestServer> {
  const s = await startTestServer(testConfig(0, { upstreams, ...(caFile ? { upstream_tls: { ca_file: caFile } } : {}), dns: { upstream_timeout_ms: 1000, query_timeout_ms: 4000, serve_stale: { enabled: false } } }));
  cleanup.push(() => s.stop());
  return s;
}

async function doh(): Promise<DohUpstream> {
  const up = await new DohUpstream(cert).start();
  cleanup.push(() => up.stop());
  return up;
}

async function dot(): Promise<DotUpstream> {
  const up = await new DotUpstream(cert).start();
  cleanup.push(() => up.stop());
  return up;
}

/** A loopback port that refuses connections (bound, then closed). */
async function refusedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function upstream(s: TestServer, label: string): UpstreamState {
  const found = s.app.resolver.stats().forwarder.upstreams.find((u) => u.label === label);
  if (!found) throw new Error(`no upstream ${label}`);
  return found;
}

async function metrics(s: TestServer): Promise<string> {
  return fetch(`http://127.0.0.1:${s.app.api?.port}/metrics`).then((r) => r.text());
}

describe('DNS over HTTPS upstream', { timeout: 60_000 }, () => {
  it('resolves over HTTP/2 POST with ID 0, many queries on one connection, and shows in stats and metrics', async () => {
    const up = await doh();
    const s = await server([up.url()]);
    for (let i = 0; i < 5; i++) {
      const reply = await queryUdp(s.port, { name: `seq${i}.doh.example` });
      expect(reply.rcode).toBe(0);
      expect(reply.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    }
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => queryUdp(s.port, { name: `par${i}.doh.example` })));
    expect(together.every((r) => r.rcode === 0)).toBe(true);
    expect(up.seen.length).toBe(25);
    expect(up.seen.every((q) => q.id === 0)).toBe(true);
    expect(new Set(up.methods)).toEqual(new Set(['POST']));
    expect(up.sessions).toBe(1);
    const label = `https://127.0.0.1:${up.port}/dns-query`;
    expect(upstream(s, label)).toMatchObject({ transport: 'doh', up: true, sent: 25, answered: 25, timeouts: 0, errors: 0 });
    expect(await metrics(s)).toContain(`dnsward_upstream_queries_total{upstream="${label}",result="answered"} 25`);
  });

  it('checks the certificate against the name after "#", which the URL host need not carry', async () => {
    const up = await doh();
    const s = await server([`${up.url()}#dns.example`]);
    expect((await queryUdp(s.port, { name: 'named.doh.example' })).rcode).toBe(0);
  });

  it('fails a server whose certificate does not carry the name after "#"', async () => {
    const up = await doh();
    const wrong = await server([`${up.url()}#other.example`]);
    expect((await queryUdp(wrong.port, { name: 'misnamed.doh.example' })).rcode).toBe(2);
    expect(up.seen).toHaveLength(0);
  });

  for (const fault of ['wrong-question', 'status', 'media-type'] as const) {
    it(`does not accept an answer with ${fault === 'status' ? 'HTTP status 503' : fault === 'media-type' ? 'another media type' : 'a wrong question'}`, async () => {
      const up = await doh();
      up.fault = fault;
      const s = await server([up.url()]);
      const reply = await queryUdp(s.port, { name: `${fault}.doh.example` });
      expect(reply.rcode).toBe(2);
      expect(up.seen.length).toBeGreaterThanOrEqual(1);
      expect(upstream(s, up.url())).toMatchObject({ answered: 0, up: false });
      expect(upstream(s, up.url()).errors).toBeGreaterThanOrEqual(1);
      if (fault === 'wrong-question') expect(s.app.resolver.stats().forwarder.mismatched).toBeGreaterThanOrEqual(1);
    });
  }

  for (const [what, caFile] of [
    ['not trusted (default roots only)', () => null],
    ['signed by another CA', () => otherCa.cert],
  ] as const) {
    it(`fails a server whose certificate is ${what}, and says why in the log`, async () => {
      const up = await doh();
      const s = await server([up.url()], caFile());
      const reply = await queryUdp(s.port, { name: 'untrusted.doh.example' });
      expect(reply.rcode).toBe(2);
      expect(upstream(s, up.url())).toMatchObject({ answered: 0, up: false });
      const line = s.logs.find((l) => l.msg === 'upstream failed; marked down');
      expect(String(line?.reason)).toMatch(/CERT|SELF_SIGNED|certificate/i);
      expect(up.seen).toHaveLength(0);
    });
  }
});

describe('DNS over TLS upstream', { timeout: 60_000 }, () => {
  it('resolves with queries pipelined on one connection, and shows in stats and metrics', async () => {
    const up = await dot();
    const s = await server([up.address()]);
    expect((await queryUdp(s.port, { name: 'first.dot.example' })).rcode).toBe(0);
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => queryUdp(s.port, { name: `par${i}.dot.example` })));
    expect(together.every((r) => r.rcode === 0 && r.packet.answers.length === 1)).toBe(true);
    expect(up.seen.length).toBe(21);
    expect(up.connections).toBe(1);
    const label = `tls://127.0.0.1:${up.port}`;
    expect(upstream(s, label)).toMatchObject({ transport: 'dot', up: true, sent: 21, answered: 21, timeouts: 0, errors: 0 });
    expect(await metrics(s)).toContain(`dnsward_upstream_up{upstream="${label}"} 1`);
  });

  it('connects again after the server closes the connection', async () => {
    const up = await dot();
    up.closeAfter = 1;
    const s = await server([up.address()]);
    for (let i = 0; i < 3; i++) expect((await queryUdp(s.port, { name: `again${i}.dot.example` })).rcode).toBe(0);
    expect(up.connections).toBe(3);
    expect(upstream(s, up.address()).up).toBe(true);
  });

  const refusals = [
    ['not trusted (default roots only)', (up: DotUpstream) => up.address(), () => null],
    ['signed by another CA', (up: DotUpstream) => up.address(), () => otherCa.cert],
    ['without the name after "#"', (up: DotUpstream) => `${up.address()}#other.example`, () => cert.cert],
  ] as const;
  for (const [what, address, caFile] of refusals) {
    it(`fails a server whose certificate is ${what}, and says why in the log`, async () => {
      const up = await dot();
      const s = await server([address(up)], caFile());
      expect((await queryUdp(s.port, { name: 'untrusted.dot.example' })).rcode).toBe(2);
      expect(upstream(s, address(up))).toMatchObject({ answered: 0, up: false });
      const line = s.logs.find((l) => l.msg === 'upstream failed; marked down');
      expect(String(line?.reason)).toMatch(/CERT|SELF_SIGNED|certificate|ALTNAME/i);
      expect(up.seen).toHaveLength(0);
    });
  }

  it('accepts the certificate by the name after "#"', async () => {
    const up = await dot();
    const named = await server([`${up.address()}#dns.example`]);
    expect((await queryUdp(named.port, { name: 'named.dot.example' })).rcode).toBe(0);
  });

  it('does not accept an answer to another question', async () => {
    const up = await dot();
    up.fault = 'wrong-question';
    const s = await server([up.address()]);
    expect((await queryUdp(s.port, { name: 'xwrong.dot.example' })).rcode).toBe(2);
    expect(s.app.resolver.stats().forwarder.mismatched).toBeGreaterThanOrEqual(1);
  });
});

describe('failover with encrypted upstreams', { timeout: 60_000 }, () => {
  const kinds = ['doh', 'dot'] as const;
  const first = ['refusing', 'hanging', 'closing'] as const;
  for (const kind of kinds) {
    for (const how of first) {
      it(`${kind}: a ${how} first upstream is marked down and the second answers`, async () => {
        const good = kind === 'doh' ? await doh() : await dot();
        const bad = kind === 'doh' ? await doh() : await dot();
        if (how === 'hanging') bad.fault = 'hang';
        if (how === 'closing') bad.fault = kind === 'doh' ? 'status' : 'close';
        const address = (up: DohUpstream | DotUpstream): string => (up instanceof DohUpstream ? up.url() : up.address());
        const badAddress = how === 'refusing' ? (kind === 'doh' ? `https://127.0.0.1:${await refusedPort()}/dns-query` : `tls://127.0.0.1:${await refusedPort()}`) : address(bad);
        const s = await server([badAddress, address(good)]);
        const reply = await queryUdp(s.port, { name: `failover-${how}.${kind}.example` });
        expect(reply.rcode).toBe(0);
        expect(reply.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
        expect(upstream(s, badAddress)).toMatchObject({ up: false, answered: 0 });
        expect(upstream(s, address(good))).toMatchObject({ up: true, answered: 1 });
        if (how === 'hanging') expect(upstream(s, badAddress).timeouts).toBe(1);
        else expect(upstream(s, badAddress).errors).toBeGreaterThanOrEqual(1);
        // Marked down: the next query goes straight to the second one.
        const sentBefore = upstream(s, badAddress).sent;
        expect((await queryUdp(s.port, { name: `after-${how}.${kind}.example` })).rcode).toBe(0);
        expect(upstream(s, badAddress).sent).toBe(sentBefore);
        const text = await metrics(s);
        expect(text).toContain(`dnsward_upstream_queries_total{upstream="${badAddress}",result="answered"} 0`);
        expect(text).toContain(`dnsward_upstream_queries_total{upstream="${address(good)}",result="answered"} 2`);
      });
    }
  }

  it('fails over between kinds: a refusing DoT upstream, a hanging DoH one, and UDP share one health list', async () => {
    const udp = await new StubUpstream().start();
    cleanup.push(() => udp.stop());
    const hanging = await doh();
    hanging.fault = 'hang';
    const dead = `tls://127.0.0.1:${await refusedPort()}`;
    const s = await server([hanging.url(), dead, `127.0.0.1:${udp.port}`]);
    const reply = await queryUdp(s.port, { name: 'mixed.example' });
    expect(reply.rcode).toBe(0);
    expect(udp.count('mixed.example')).toBe(1);
    expect(hanging.seen.map((q) => q.qname)).toEqual(['mixed.example']);
    const second = await queryUdp(s.port, { name: 'mixed2.example' });
    expect(second.rcode).toBe(0);
    expect(udp.count('mixed2.example')).toBe(1);
    const states = s.app.resolver.stats().forwarder.upstreams;
    expect(states.map((u) => [u.transport, u.up])).toEqual([
      ['doh', false],
      ['dot', false],
      ['udp', true],
    ]);
  });

  it('answers SERVFAIL soon, without a retry storm, when every encrypted upstream refuses', async () => {
    const a = `tls://127.0.0.1:${await refusedPort()}`;
    const b = `https://127.0.0.1:${await refusedPort()}/dns-query`;
    const s = await server([a, b]);
    const reply = await queryUdp(s.port, { name: 'nobody.example', edns: 1232 }, 6000);
    expect(reply.rcode).toBe(2);
    const sent = s.app.resolver.stats().forwarder.upstreams.reduce((n, u) => n + u.sent, 0);
    expect(sent).toBeLessThanOrEqual(4);
  });
});
