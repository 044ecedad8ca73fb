// DNS over HTTPS (GET and POST, HTTP/2 and HTTP/1.1) and DNS over TLS against the real resolver
// on loopback: every segment's policy (block, log, allow), block-log records naming the
// transport, query counts per transport, X-Forwarded-For from a trusted proxy only, the HTTP
// error statuses, and Cache-Control from the answer's TTL.
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { buildQuery, decode } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { dnsParam, dohRequest, dotExchange } from '../helpers/encrypted-dns-client.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { makeTestCert, type TestCert } from '../helpers/tls-certs.ts';

const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const DEFAULT = '127.0.0.1';
const PROXY = '127.0.0.9';

let upstream: StubUpstream;
let server: TestServer;
let cert: TestCert;
let stopped = false;

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  cert = makeTestCert(mkdtempSync(join(tmpdir(), 'dnsward-doh-')), 'dns');
  server = await startTestServer(
    testConfig(upstream.port, {
      dns: {
        doh_listen: ['127.0.0.1:0'],
        dot_listen: ['127.0.0.1:0'],
        doh_trusted_proxies: [`${PROXY}/32`],
        tls: { cert_file: cert.cert, key_file: cert.key },
      },
    }),
  );
});
afterAll(async () => {
  if (!stopped) await server?.stop();
  await upstream?.stop();
});

const dohPort = (): number => server.app.doh[0]?.port as number;
const dotPort = (): number => server.app.dot[0]?.port as number;

type Way = 'doh-get' | 'doh-post' | 'doh-http1' | 'dot';

/** One query by `way` from `from`; the decoded DNS answer. */
async function ask(way: Way, name: string, from: string) {
  const message = buildQuery({ name, id: 0 });
  if (way === 'dot') {
    const { replies } = await dotExchange(dotPort(), [message], { from, ca: cert.cert });
    return decode(replies[0] as Buffer);
  }
  const res =
    way === 'doh-get'
      ? await dohRequest(dohPort(), { path: `/dns-query?dns=${dnsParam(message)}`, from, ca: cert.cert })
      : await dohRequest(dohPort(), { method: 'POST', body: message, headers: { 'content-type': 'application/dns-message' }, from, ca: cert.cert, http1: way === 'doh-http1' });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/dns-message');
  expect(res.protocol).toBe(way === 'doh-http1' ? 'http/1.1' : 'h2');
  return decode(res.body);
}

describe('every segment over every encrypted transport', () => {
  for (const way of ['doh-get', 'doh-post', 'doh-http1', 'dot'] as const) {
    it(`${way}: blocks on the blocking segment, answers and logs on the log-only one, answers on the allow one`, async () => {
      const name = `${way}.tiktok.com`;
      const blocked = await ask(way, name, SERVICE);
      expect(blocked.rcode).toBe(3);
      const logged = await ask(way, name, PERSONAL);
      expect(logged.rcode).toBe(0);
      expect(logged.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
      const allowed = await ask(way, name, DEFAULT);
      expect(allowed.rcode).toBe(0);
      expect(allowed.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    });
  }

  it('counts the queries per transport (the dnsward_queries_total series)', () => {
    const counted = server.app.resolver.stats().queries;
    const count = (segment: string, outcome: string, transport: string): number =>
      counted.filter((q) => q.segment === segment && q.outcome === outcome && q.transport === transport).reduce((n, q) => n + q.count, 0);
    expect(count('service', 'blocked', 'doh')).toBe(3);
    expect(count('service', 'blocked', 'dot')).toBe(1);
    expect(count('personal', 'logged', 'doh')).toBe(3);
    expect(count('personal', 'logged', 'dot')).toBe(1);
    expect(count('default', 'forwarded', 'doh') + count('default', 'cached', 'doh')).toBe(3);
    expect(count('default', 'forwarded', 'dot') + count('default', 'cached', 'dot')).toBe(1);
  });
});

describe('the client behind a reverse proxy', () => {
  const viaProxy = (from: string, xff: string) =>
    dohRequest(dohPort(), { path: `/dns-query?dns=${dnsParam(buildQuery({ name: 'xff.tiktok.com', id: 0 }))}`, from, ca: cert.cert, headers: { 'x-forwarded-for': xff } }).then((r) => decode(r.body).rcode);

  it('takes X-Forwarded-For from a trusted proxy: its right-most address that is no trusted proxy', async () => {
    expect(await viaProxy(PROXY, SERVICE)).toBe(3);
    expect(await viaProxy(PROXY, `${SERVICE}, ${PROXY}`)).toBe(3);
    // What the client wrote itself (left of the proxy's own entry) is not believed.
    expect(await viaProxy(PROXY, `${SERVICE}, ${DEFAULT}`)).toBe(0);
  });

  it('ignores X-Forwarded-For from any other address', async () => {
    expect(await viaProxy(DEFAULT, SERVICE)).toBe(0);
    expect(await viaProxy(SERVICE, DEFAULT)).toBe(3);
  });
});

describe('HTTP statuses and caching', () => {
  const query = buildQuery({ name: 'status.example', id: 0 });
  const post = { method: 'POST', headers: { 'content-type': 'application/dns-message' } };

  it('answers 404, 405, 415, 400 and 413 for what is not a DoH query', async () => {
    const cases: [number, Parameters<typeof dohRequest>[1]][] = [
      [404, { path: `/resolve?dns=${dnsParam(query)}`, ca: cert.cert }],
      [405, { method: 'PUT', body: query, headers: { 'content-type': 'application/dns-message' }, ca: cert.cert }],
      [415, { method: 'POST', body: query, headers: { 'content-type': 'text/plain' }, ca: cert.cert }],
      [400, { path: '/dns-query?dns=not*base64', ca: cert.cert }],
      [400, { path: `/dns-query?dns=${dnsParam(query)}==`, ca: cert.cert }],
      [400, { path: '/dns-query', ca: cert.cert }],
      [400, { ...post, body: Buffer.from('short'), ca: cert.cert }],
      // A DNS response is no query.
      [400, { ...post, body: Buffer.from([0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]), ca: cert.cert }],
      [413, { ...post, body: Buffer.alloc(70_000), ca: cert.cert }],
      [413, { ...post, body: Buffer.alloc(70_000), ca: cert.cert, http1: true }],
    ];
    for (const [status, options] of cases) {
      const res = await dohRequest(dohPort(), options);
      expect([options.method ?? 'GET', options.path, res.status]).toEqual([options.method ?? 'GET', options.path, status]);
    }
    const res = await dohRequest(dohPort(), { method: 'DELETE', ca: cert.cert });
    expect(res.headers.allow).toBe('GET, POST');
  });

  it('lets HTTP caches keep an answer no longer than its smallest TTL, never in a shared cache', async () => {
    const answered = await dohRequest(dohPort(), { path: `/dns-query?dns=${dnsParam(query)}`, ca: cert.cert });
    expect(answered.headers['cache-control']).toBe('private, max-age=300');
    // NXDOMAIN: the SOA's negative TTL (RFC 2308), min(TTL 300, MINIMUM 60).
    const negative = await dohRequest(dohPort(), { path: `/dns-query?dns=${dnsParam(buildQuery({ name: 'gone.nx.test', id: 0 }))}`, ca: cert.cert });
    expect(decode(negative.body).rcode).toBe(3);
    expect(negative.headers['cache-control']).toBe('private, max-age=60');
  });
});

describe('the block log', () => {
  it('names the transport of every record', async () => {
    stopped = true;
    await server.stop();
    const dir = server.app.config.audit.dir;
    const events: AuditEvent[] = [];
    for (const n of (await readdir(dir)).filter((f) => /-\d{3}\.jsonl$/.test(f)).sort()) {
      for (const line of (await readFile(join(dir, n), 'utf8')).split('\n')) if (line && !line.startsWith('{"type":')) events.push(JSON.parse(line) as AuditEvent);
    }
    const seen = events.filter((e) => e.qname.startsWith('doh-') || e.qname.startsWith('dot.')).map((e) => [e.qname, e.segment, e.action, e.transport]);
    expect(seen.sort()).toEqual(
      [
        ['doh-get.tiktok.com', 'personal', 'logged', 'doh'],
        ['doh-get.tiktok.com', 'service', 'blocked', 'doh'],
        ['doh-http1.tiktok.com', 'personal', 'logged', 'doh'],
        ['doh-http1.tiktok.com', 'service', 'blocked', 'doh'],
        ['doh-post.tiktok.com', 'personal', 'logged', 'doh'],
        ['doh-post.tiktok.com', 'service', 'blocked', 'doh'],
        ['dot.tiktok.com', 'personal', 'logged', 'dot'],
        ['dot.tiktok.com', 'service', 'blocked', 'dot'],
      ].sort(),
    );
    // The proxied client is recorded as itself, not as the proxy.
    expect(events.filter((e) => e.qname === 'xff.tiktok.com').map((e) => [e.client, e.transport])).toEqual([
      [SERVICE, 'doh'],
      [SERVICE, 'doh'],
      [SERVICE, 'doh'],
    ]);
  });
});
