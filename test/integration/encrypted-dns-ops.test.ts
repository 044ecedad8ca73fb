// The encrypted listeners as an operator sees them: real clients (kdig +https, +https-get,
// +tls), a certificate swapped by reload and seen by new connections, and the guards that close
// connections which hold a descriptor without asking anything.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { dnsParam, dohRequest, dotExchange, fingerprintOfFile, tlsOver } from '../helpers/encrypted-dns-client.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { makeTestCert, type TestCert } from '../helpers/tls-certs.ts';

const run = promisify(execFile);
let upstream: StubUpstream;
let server: TestServer;
let dir: string;
let first: TestCert;

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  dir = mkdtempSync(join(tmpdir(), 'dnsward-doh-ops-'));
  first = makeTestCert(dir, 'first');
  server = await startTestServer(
    testConfig(upstream.port, {
      dns: {
        doh_listen: ['127.0.0.1:0'],
        dot_listen: ['127.0.0.1:0'],
        tls: { cert_file: first.cert, key_file: first.key },
        tcp_idle_timeout_ms: 1000,
        tcp: { message_deadline_ms: 300 },
      },
    }),
  );
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

const dohPort = (): number => server.app.doh[0]?.port as number;
const dotPort = (): number => server.app.dot[0]?.port as number;
const closed = (socket: { once(event: 'close', f: () => void): unknown }): Promise<void> => new Promise((r) => socket.once('close', () => r()));

describe('kdig as the client', () => {
  const kdig = async (args: string[]): Promise<string> => (await run('kdig', ['@127.0.0.1', `+tls-ca=${first.cert}`, '+tls-hostname=dns.test', ...args], { timeout: 10_000 })).stdout;

  it('kdig +https (POST) and +https-get: blocked on the blocking segment, answered on the allow one', async () => {
    for (const method of ['+https=/dns-query', '+https-get']) {
      const path = method === '+https-get' ? ['+https=/dns-query', '+https-get'] : [method];
      const blocked = await kdig(['-p', String(dohPort()), '-b', '127.0.0.2', ...path, 'tiktok.com', 'A']);
      expect(blocked).toMatch(/HTTP session \(HTTP\/2-(POST|GET)\)/);
      expect(blocked).toContain('status: NXDOMAIN');
      expect(blocked).toContain("EDE: 15 (Blocked): 'blocked by dnsward: segment service, list tiktok'");
      const allowed = await kdig(['-p', String(dohPort()), '-b', '127.0.0.1', ...path, 'tiktok.com', 'A']);
      expect(allowed).toContain('status: NOERROR');
      expect(allowed).toMatch(/tiktok\.com\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1/);
    }
  });

  it('kdig +tls: the same over DNS over TLS', async () => {
    const blocked = await kdig(['-p', String(dotPort()), '-b', '127.0.0.2', '+tls', 'www.tiktok.com', 'A']);
    expect(blocked).toContain('TLS session (TLS1.3)');
    expect(blocked).toContain('status: NXDOMAIN');
    const logged = await kdig(['-p', String(dotPort()), '-b', '127.0.0.3', '+tls', 'www.tiktok.com', 'A']);
    expect(logged).toContain('status: NOERROR');
  });
});

describe('connections that ask nothing', () => {
  it('closes a connection that opens TCP and never starts TLS, and one that trickles its hello', async () => {
    for (const port of [dohPort(), dotPort()]) {
      const silent = connect({ port, host: '127.0.0.1' });
      const trickle = connect({ port, host: '127.0.0.1' });
      const ticks = setInterval(() => trickle.write(Buffer.from([0x16])), 100);
      for (const s of [silent, trickle]) s.on('error', () => undefined);
      await Promise.all([closed(silent), closed(trickle)]);
      clearInterval(ticks);
    }
  });

  it('closes a DoT connection idle after its handshake, an idle HTTP/2 session, and HTTP/1.1 headers that never end', async () => {
    const dot = tlsOver(dotPort(), undefined, { ca: readFileSync(first.cert) });
    dot.on('error', () => undefined);
    const h2 = h2connect(`https://127.0.0.1:${dohPort()}`, { ca: readFileSync(first.cert) });
    h2.on('error', () => undefined);
    const h1 = tlsOver(dohPort(), undefined, { ca: readFileSync(first.cert), ALPNProtocols: ['http/1.1'] }, () => h1.write('GET /dns-query HTTP/1.1\r\nHost: dns.test\r\n'));
    h1.on('error', () => undefined);
    const ticks = setInterval(() => h1.write('X-Slow: 1\r\n'), 100);
    await Promise.all([closed(dot), closed(h2), closed(h1 as unknown as Socket)]);
    clearInterval(ticks);
  });
});

describe('reload', () => {
  it('serves a new certificate to new DoH and DoT connections after a reload, without a restart', async () => {
    const query = buildQuery({ name: 'example.org', id: 0 });
    const before = await dotExchange(dotPort(), [query], { ca: first.cert });
    expect(before.fingerprint).toBe(fingerprintOfFile(first.cert));
    const second = makeTestCert(dir, 'second');
    const config = server.app.config;
    const result = await server.app.reload('test', { ...config, dns: { ...config.dns, tls: { cert_file: second.cert, key_file: second.key }, doh_trusted_proxies: ['127.0.0.9/32'] } });
    expect(result.ok).toBe(true);
    // The certificate is in force now; the proxies list only after a restart, and says so.
    expect(result.restartNeeded).toEqual(['dns.doh_trusted_proxies']);
    const dot = await dotExchange(dotPort(), [query], { ca: second.cert });
    expect(dot.fingerprint).toBe(fingerprintOfFile(second.cert));
    for (const http1 of [false, true]) {
      const doh = await dohRequest(dohPort(), { path: `/dns-query?dns=${dnsParam(query)}`, ca: second.cert, http1 });
      expect(doh.status).toBe(200);
      expect(doh.fingerprint).toBe(fingerprintOfFile(second.cert));
    }
    // A client that trusts only the old certificate is refused now.
    await expect(dotExchange(dotPort(), [query], { ca: first.cert })).rejects.toThrow();
    // Files that cannot be read: the reload goes through, the certificate in force stays.
    const gone = await server.app.reload('test', { ...server.app.config, dns: { ...server.app.config.dns, tls: { cert_file: join(dir, 'missing.pem'), key_file: join(dir, 'missing.key') } } });
    expect(gone.ok).toBe(true);
    expect((await dotExchange(dotPort(), [query], { ca: second.cert })).fingerprint).toBe(fingerprintOfFile(second.cert));
    expect(server.logs.some((l) => l.listener === 'dns' && String(l.msg).includes('could not be read'))).toBe(true);
  });
});
