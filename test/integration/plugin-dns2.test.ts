// A dns2 server with dnsward's plugin, next to the standalone resolver with the same segments
// and the same upstream: blocked names get the same bytes per segment, over UDP and TCP;
// logged names are answered and recorded; the host's relayed answers pass untouched unless
// they cloak a listed name; the block log is a real one that `dnsward audit verify` accepts.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import dns2, { type DnsServer, type Packet } from 'dns2';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditReader } from '../../src/audit/reader.ts';
import { dnswardHandler, guardDns2Server, rawRequestBytes } from '../../src/plugin/dns2.ts';
import { createPolicyEngine, type PolicyEngine } from '../../src/plugin/engine.ts';
import { buildQuery, decode, exchangeTcp, extendedError, sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { defaultHandler, encodeReply, rr, StubUpstream } from '../helpers/stub-upstream.ts';

const run = promisify(execFile);
const HTTPS_RDATA = Buffer.from('0001000001000302683200', 'hex');

let upstream: StubUpstream;
let standalone: TestServer;
let engine: PolicyEngine;
let server: DnsServer;
let port = 0;
let tcpPort = 0;
let auditDir: string;

/** The host's own resolution: the request's bytes to the upstream, its answer back as bytes (nothing re-encoded). */
function relay(request: Packet, send: (response: Packet | Buffer) => unknown): Promise<void> {
  const query = rawRequestBytes(request) ?? request.toBuffer();
  const socket = createSocket('udp4');
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      socket.close();
      fail(new Error('upstream timeout'));
    }, 2000);
    socket.on('message', (answer) => {
      clearTimeout(timer);
      socket.close();
      send(answer);
      done();
    });
    socket.send(query, upstream.port, '127.0.0.1');
  });
}

beforeAll(async () => {
  upstream = await new StubUpstream((q) => {
    if (q.qname === 'cloaked.example') return { answers: [rr.cname('cloaked.example', 'edge.tiktokcdn.com'), rr.a('edge.tiktokcdn.com', '192.0.2.9')] };
    if (q.qtype === 65) return { answers: [rr.raw(q.qname, 65, HTTPS_RDATA)] };
    return defaultHandler(q);
  }).start();
  const config = testConfig(upstream.port);
  standalone = await startTestServer(config);
  auditDir = mkdtempSync(join(tmpdir(), 'dnsward-plugin-dns2-'));
  // The same segments as the standalone resolver's test config, as an embedder writes them.
  engine = await createPolicyEngine({
    config: {
      // The engine runs the checks of a served config: the test segments' 10.10.0.0/16 must be allowed too.
      dns: { allow: [...config.dns.allow, '10.0.0.0/8'] },
      lists: { dir: resolve('lists') },
      segments: config.segments,
      audit: { dir: 'log', signing_key_file: 'keys/signing.key', pseudonym_secret_file: 'keys/pseudonym.key', fsync: false, worker_thread: false },
      instance: 'embedded',
    },
    baseDir: auditDir,
    logger: pino({ level: 'silent' }),
  });
  server = dns2.createServer({ udp: true, tcp: true, handle: dnswardHandler(engine, { resolve: relay }) });
  guardDns2Server(server);
  const bound = await server.listen({ udp: { port: 0, address: '127.0.0.1' }, tcp: { port: 0, host: '127.0.0.1' } as never });
  port = bound.udp?.port ?? 0;
  tcpPort = bound.tcp?.port ?? 0;
});

let serverClosed = false;

afterAll(async () => {
  if (!serverClosed) await server?.close();
  await engine?.close();
  await standalone?.stop();
  await upstream?.stop();
});

const SEGMENTS = [
  { from: '127.0.0.2', segment: 'service', rcode: 3, response: 'nxdomain' },
  { from: '127.0.0.4', segment: 'nullseg', rcode: 0, response: 'null' },
  { from: '127.0.0.5', segment: 'refuseseg', rcode: 5, response: 'refused' },
] as const;

describe('dns2 with dnsward\'s plugin', () => {
  it.each(SEGMENTS)('blocks per segment ($segment) with the standalone resolver\'s bytes, over UDP and TCP', async ({ from, rcode }) => {
    for (const name of ['www.tiktok.com', 'TikTokV.com']) {
      const query = buildQuery({ id: 0x2a2a, name, edns: 1232 });
      const ours = await sendUdp(port, query, { from });
      const theirs = await sendUdp(standalone.port, query, { from });
      expect(ours, `${name} from ${from}`).toEqual(theirs);
      expect(ours && decode(ours).rcode).toBe(rcode);
      const [overTcp] = await exchangeTcp(tcpPort, [query], { from });
      const [theirsTcp] = await exchangeTcp(standalone.port, [query], { from });
      expect(overTcp).toEqual(theirsTcp);
    }
    const nulled = await sendUdp(port, buildQuery({ name: 'tiktok.com' }), { from: '127.0.0.4' });
    expect(nulled && decode(nulled).packet.answers[0]).toMatchObject({ address: '0.0.0.0' });
  });

  it('answers listed names normally on the log-only segment, and other names from the host\'s resolution', async () => {
    const logged = await sendUdp(port, buildQuery({ name: 'www.tiktok.com' }), { from: '127.0.0.3' });
    expect(logged && decode(logged).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    const other = await sendUdp(port, buildQuery({ name: 'example.org' }), { from: '127.0.0.2' });
    expect(other && decode(other).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
  });

  it('passes the host\'s relayed bytes untouched (HTTPS records, EDNS) and blocks a CNAME into a listed domain as the resolver does', async () => {
    const query = buildQuery({ id: 0x3131, name: 'svc.example', type: 65, edns: 1232, dnssecOk: true });
    expect(await sendUdp(port, query, { from: '127.0.0.2' })).toEqual(encodeReply(query, { answers: [rr.raw('svc.example', 65, HTTPS_RDATA)] }, true));
    const cloaked = buildQuery({ id: 0x3232, name: 'cloaked.example', edns: 1232 });
    const ours = await sendUdp(port, cloaked, { from: '127.0.0.2' });
    expect(ours && decode(ours).rcode).toBe(3);
    expect(ours && extendedError(ours)?.text).toBe('blocked by dnsward: segment service, list tiktok');
    expect(ours).toEqual(await sendUdp(standalone.port, cloaked, { from: '127.0.0.2' }));
  });

  it('records every decision in a block log that `dnsward audit verify` accepts', async () => {
    await sendUdp(port, buildQuery({ name: 'log.tiktokv.com' }), { from: '127.0.0.3' });
    await exchangeTcp(tcpPort, [buildQuery({ name: 'm.tiktok.com' })], { from: '127.0.0.2' });
    await engine.flush();
    const { events } = await new FileAuditReader(join(auditDir, 'log')).events({ limit: 1000 });
    for (const { segment, response } of SEGMENTS) {
      expect(events.filter((e) => e.segment === segment && e.action === 'blocked' && e.response === response).length, segment).toBeGreaterThanOrEqual(4);
    }
    const logged = events.find((e) => e.qname === 'log.tiktokv.com');
    expect(logged).toMatchObject({ instance: 'embedded', segment: 'personal', action: 'logged', rule: 'tiktokv.com', response: 'answer', client: expect.stringMatching(/^anon:/) });
    expect(events.find((e) => e.qname === 'cloaked.example')).toMatchObject({ action: 'blocked', rule: 'cname:tiktokcdn.com' });
    expect(events.find((e) => e.qname === 'm.tiktok.com')).toMatchObject({ segment: 'service', client: '127.0.0.2' });
    expect(engine.stats()).toEqual(expect.arrayContaining([expect.objectContaining({ segment: 'service', outcome: 'blocked', transport: 'tcp' })]));
    // Closed as a host closes it on shutdown: the last checkpoint is sealed.
    serverClosed = true;
    await server.close();
    await engine.close();
    const { stdout } = await run(process.execPath, ['bin/dnsward', 'audit', 'verify', join(auditDir, 'log')]);
    expect(stdout).toMatch(/OK/);
  });
});
