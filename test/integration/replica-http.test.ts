// The two HTTP listeners: TLS from files on both (a new certificate after a reload), the
// routes each one serves, and the connection caps that keep a flood from taking descriptors.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { makeTestCert } from '../helpers/tls-certs.ts';
import { threadWanted } from '../../src/util/cpus.ts';

const ADMIN = 'a'.repeat(32);


/** GET over TLS trusting `ca` only; resolves with status, body and the server certificate's fingerprint. */
function httpsGet(port: number, path: string, ca: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: readFileSync(ca), headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const peer = (res.socket as unknown as { getPeerCertificate(): { raw: Buffer } }).getPeerCertificate();
        resolve({ status: res.statusCode ?? 0, body, fingerprint: createHash('sha256').update(peer.raw ?? Buffer.alloc(0)).digest('hex') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (file: string): string => createHash('sha256').update(new X509Certificate(readFileSync(file)).raw).digest('hex');

describe('TLS on both listeners', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  let dir: string;
  let first: { cert: string; key: string };

  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    dir = mkdtempSync(join(tmpdir(), 'dnsward-tls-'));
    first = makeTestCert(dir, 'first');
    const config = testConfig(upstream.port, {
      http: { listen: '127.0.0.1:0', thread: true, tls: { cert_file: first.cert, key_file: first.key } },
      api: { listen: '127.0.0.1:0', tls: { cert_file: first.cert, key_file: first.key } },
      auth: { tokens: [{ name: 'ops', role: 'admin', token: ADMIN }] },
    });
    server = await startTestServer(config);
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('serves the feed on the public listener and the API on the private one, both over TLS', async () => {
    const feed = await httpsGet(server.app.http?.port as number, '/lists', first.cert);
    expect(feed.status).toBe(200);
    expect(feed.fingerprint).toBe(fingerprintOf(first.cert));
    const health = await httpsGet(server.app.api?.port as number, '/healthz', first.cert);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', ready: true });
    // Each listener serves only its own routes: no API on the public one, no feed on the private one.
    expect((await httpsGet(server.app.http?.port as number, '/healthz', first.cert)).status).toBe(404);
    expect((await httpsGet(server.app.http?.port as number, '/api/audit/events', first.cert)).status).toBe(404);
    expect((await httpsGet(server.app.api?.port as number, '/lists', first.cert)).status).toBe(404);
  });

  it('refuses plain HTTP on a TLS listener', async () => {
    await expect(fetch(`http://127.0.0.1:${server.app.api?.port}/healthz`)).rejects.toThrow();
  });

  it('presents a new certificate after a reload', async () => {
    const second = makeTestCert(dir, 'second');
    const next = {
      ...server.app.config,
      http: { ...server.app.config.http, tls: { cert_file: second.cert, key_file: second.key } },
      api: { ...server.app.config.api, tls: { cert_file: second.cert, key_file: second.key } },
    };
    const result = await server.app.reload('test', next);
    expect(result.ok).toBe(true);
    for (const port of [server.app.http?.port, server.app.api?.port] as number[]) {
      const res = await httpsGet(port, port === server.app.api?.port ? '/healthz' : '/lists', second.cert);
      expect(res.status).toBe(200);
      expect(res.fingerprint).toBe(fingerprintOf(second.cert));
    }
  });
});

/** Threads of this process named as the feed's worker thread (Linux names them after Worker's `name`). */
function feedThreads(): number {
  return readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'dnsward-feed').length;
}

describe('where the feed runs (http.thread)', () => {
  it.each([true, false, 'auto'] as const)('http.thread: %s serves the same feed, in its own thread only when asked (auto: with 4 or more CPUs)', async (thread) => {
    const upstream = await new StubUpstream().start();
    const before = feedThreads();
    const server = await startTestServer(testConfig(upstream.port, { http: { listen: '127.0.0.1:0', thread } }));
    try {
      expect(feedThreads() - before).toBe(threadWanted(thread) ? 1 : 0);
      const res = await fetch(`http://127.0.0.1:${server.app.http?.port}/lists/tiktok/domains`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('\ntiktok.com\n');
      expect((await fetch(`http://127.0.0.1:${server.app.http?.port}/healthz`)).status).toBe(404);
    } finally {
      await server.stop();
      await upstream.stop();
    }
    expect(feedThreads()).toBe(before);
  });
});

describe('connection caps', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    server = await startTestServer(testConfig(upstream.port, { http: { listen: '127.0.0.1:0', thread: true, max_connections: 6, max_connections_per_client: 3, headers_timeout_ms: 2000 } }));
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  function open(from: string): Promise<Socket & { gone: boolean }> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.app.http?.port as number, localAddress: from }) as Socket & { gone: boolean };
      socket.gone = false;
      socket.on('close', () => (socket.gone = true));
      socket.on('error', () => undefined);
      socket.on('connect', () => resolve(socket));
    });
  }

  it('closes connections beyond the per-client cap and the total cap at once, and still serves', async () => {
    const a = await Promise.all([1, 2, 3, 4].map(() => open('127.0.0.21')));
    await new Promise((r) => setTimeout(r, 100));
    expect(a.filter((s) => s.gone)).toHaveLength(1); // the fourth from one client
    const b = await Promise.all([1, 2, 3, 4].map((i) => open(`127.0.0.${30 + i}`)));
    await new Promise((r) => setTimeout(r, 100));
    // 3 + 4 open attempts from others: 6 in total at most.
    expect([...a, ...b].filter((s) => !s.gone)).toHaveLength(6);
    for (const s of [...a, ...b]) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`http://127.0.0.1:${server.app.http?.port}/lists`)).status).toBe(200);
  });

  it('closes a connection whose headers never finish (headers timeout)', async () => {
    const slow = await open('127.0.0.40');
    slow.write('GET /lists HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    // A header line every 500 ms keeps the socket active: only the headers deadline (2 s) can end it.
    const drip = setInterval(() => !slow.gone && slow.write('X-Slow: 1\r\n'), 500);
    while (!slow.gone && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 100));
    clearInterval(drip);
    expect(slow.gone).toBe(true);
  }, 20_000);
});

