// The list feed through a real HTTP server on 127.0.0.1 (fastify listen, undici requests).
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyHealth } from '../helpers/health.ts';
import { configSchema } from '../../src/config/schema.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { buildStaticLists } from '../../src/cli/lists.ts';
import { loadListDir } from '../../src/lists/list-file.ts';
import { ListRegistry } from '../../src/lists/registry.ts';

let app: FastifyInstance;
let base: string;
let dir: string;
const registry = new ListRegistry();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-feed-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  for (const snapshot of await loadListDir('lists')) registry.set(snapshot);
  const config = configSchema.parse({
    upstreams: ['127.0.0.1:9'],
    segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    lists: { dir: 'lists', signing_key_file: join(dir, 'key.pem'), homepage: 'https://lists.example.org/', cache_max_age_s: 600 },
    audit: { dir: join(dir, 'audit') },
  });
  app = buildHttpApp({ config, logger: pino({ level: 'silent' }), metrics: new Registry(), lists: registry, health: readyHealth() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
});

async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const response = await request(`${base}${path}`, { method, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

describe('GET /lists', () => {
  it('indexes every maintained list with version, counts, checksums and format URLs', async () => {
    const r = await get('/lists');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const index = JSON.parse(r.body.toString()) as { signing_key: string; lists: Record<string, unknown>[] };
    expect(index.lists.map((l) => l.name)).toEqual(['bytedance', 'doh-bypass', 'tiktok']);
    const tiktok = index.lists.find((l) => l.name === 'tiktok') as Record<string, unknown> & { formats: Record<string, string>; sha256: Record<string, string> };
    const snapshot = registry.get('tiktok');
    expect(tiktok).toMatchObject({ title: 'TikTok', version: snapshot?.version, entries: snapshot?.domains.length, last_modified: snapshot?.lastModified.toISOString(), license: 'CC0-1.0' });
    expect(Object.keys(tiktok.formats)).toEqual(['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'dnsmasq-legacy', 'unbound', 'rpz', 'json']);
    expect(tiktok.formats.rpz).toBe('/lists/tiktok/rpz');
    expect(index.signing_key).toBe('/lists/signing-key.pem');
    const hosts = await get(tiktok.formats.hosts as string);
    expect(tiktok.sha256.hosts).toMatch(/^[0-9a-f]{64}$/);
    expect(createHash('sha256').update(hosts.body).digest('hex')).toBe(tiktok.sha256.hosts);
  });
});

describe('GET /lists/<name>/<format>', () => {
  it('serves each format as text with a header, strong ETag, Last-Modified and Cache-Control', async () => {
    for (const format of ['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'dnsmasq-legacy', 'unbound', 'rpz', 'json']) {
      const r = await get(`/lists/tiktok/${format}`);
      expect(r.status, format).toBe(200);
      expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(r.headers['last-modified']).toBe(registry.get('tiktok')?.lastModified.toUTCString());
      expect(r.headers['cache-control']).toBe('public, max-age=600');
      expect(r.headers.vary).toBe('Accept-Encoding');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      if (format !== 'json') expect(r.body.toString()).toMatch(/^[#!;] Title: TikTok\n/);
    }
  });

  it('answers If-None-Match with 304 and no body, also with a list of tags or W/', async () => {
    const first = await get('/lists/tiktok/adblock');
    const etag = first.headers.etag as string;
    for (const inm of [etag, `"nope", ${etag}`, `W/${etag}`, '*']) {
      const r = await get('/lists/tiktok/adblock', { 'if-none-match': inm });
      expect(r.status, inm).toBe(304);
      expect(r.body.length).toBe(0);
      expect(r.headers.etag).toBe(etag);
    }
    expect((await get('/lists/tiktok/adblock', { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('answers If-Modified-Since with 304 when nothing changed since, 200 otherwise; If-None-Match wins', async () => {
    const modified = registry.get('tiktok')?.lastModified ?? new Date(0);
    const second = (d: Date, s: number): string => new Date(d.getTime() + s * 1000).toUTCString();
    expect((await get('/lists/tiktok/hosts', { 'if-modified-since': second(modified, 0) })).status).toBe(304);
    expect((await get('/lists/tiktok/hosts', { 'if-modified-since': second(modified, -1) })).status).toBe(200);
    expect((await get('/lists/tiktok/hosts', { 'if-modified-since': 'garbage' })).status).toBe(200);
    expect((await get('/lists/tiktok/hosts', { 'if-modified-since': second(modified, 0), 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('compresses with gzip or brotli when asked, with a distinct ETag per encoding that still validates', async () => {
    const plain = await get('/lists/tiktok/hosts');
    const gz = await get('/lists/tiktok/hosts', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.body.length).toBeLessThan(plain.body.length / 3);
    const br = await get('/lists/tiktok/hosts', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    expect(new Set([plain.headers.etag, gz.headers.etag, br.headers.etag]).size).toBe(3);
    expect((await get('/lists/tiktok/hosts', { 'accept-encoding': 'br;q=0, gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await get('/lists/tiktok/hosts', { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
    expect((await get('/lists/tiktok/hosts', { 'accept-encoding': 'gzip', 'if-none-match': plain.headers.etag as string })).status).toBe(304);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const g = await get('/lists/tiktok/rpz', { 'accept-encoding': 'gzip' });
    const h = await get('/lists/tiktok/rpz', { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(h.status).toBe(200);
    expect(h.body.length).toBe(0);
    for (const k of ['etag', 'last-modified', 'content-type', 'content-encoding', 'content-length', 'cache-control']) expect(h.headers[k], k).toBe(g.headers[k]);
  });

  it('404s unknown lists and formats with a hint, as text', async () => {
    const list = await get('/lists/nope/hosts');
    expect(list.status).toBe(404);
    expect(list.body.toString()).toMatch(/no list "nope"/);
    const format = await get('/lists/tiktok/pac');
    expect(format.status).toBe(404);
    expect(format.body.toString()).toMatch(/use one of: hosts, domains/);
  });

  it('renders once per version: the same bytes object serves every request', async () => {
    const a = await get('/lists/tiktok/json');
    const b = await get('/lists/tiktok/json');
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.headers.etag).toBe(b.headers.etag);
  });

  it('serves a new version after the registry swaps the snapshot', async () => {
    const before = registry.get('doh-bypass');
    if (!before) throw new Error('doh-bypass missing');
    const old = await get('/lists/doh-bypass/domains');
    registry.set({ ...before, version: 'feedfacecafe', domains: [...before.domains, 'doh.example.net'], hosts: [...(before.hosts ?? []), 'doh.example.net'], lastModified: new Date('2026-11-29T10:00:00Z') });
    try {
      const fresh = await get('/lists/doh-bypass/domains', { 'if-none-match': old.headers.etag as string });
      expect(fresh.status).toBe(200);
      expect(fresh.body.toString()).toContain('\ndoh.example.net\n');
      expect(fresh.body.toString()).toContain('# Version: feedfacecafe');
      const rpz = (await get('/lists/doh-bypass/rpz')).body.toString();
      expect(rpz).toContain(`SOA localhost. root.localhost. ${Date.parse('2026-11-29T10:00:00Z') / 1000} `);
    } finally {
      registry.set(before);
    }
  });
});

describe('integrity', () => {
  it('publishes a sha256sums manifest per list version, signed with Ed25519, verifiable with openssl and sha256sum', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dnsward-verify-'));
    for (const [path, file] of [
      ['/lists/tiktok/sha256sums', 'sha256sums'],
      ['/lists/tiktok/sha256sums.sig', 'sha256sums.sig'],
      ['/lists/signing-key.pem', 'signing-key.pem'],
      ['/lists/tiktok/hosts', 'hosts'],
      ['/lists/tiktok/rpz', 'rpz'],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      await writeFile(join(work, file), r.body);
    }
    const manifest = await readFile(join(work, 'sha256sums'));
    const signature = await readFile(join(work, 'sha256sums.sig'));
    expect(signature.length).toBe(64);
    const publicKey = createPublicKey(await readFile(join(work, 'signing-key.pem'), 'utf8'));
    expect(verify(null, manifest, publicKey, signature)).toBe(true);
    expect(verify(null, Buffer.concat([manifest, Buffer.from('x')]), publicKey, signature)).toBe(false);
    const openssl = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'sha256sums', '-sigfile', 'sha256sums.sig'], { cwd: work }).toString();
    expect(openssl).toMatch(/Signature Verified Successfully/);
    const sums = execFileSync('sha256sum', ['-c', '--ignore-missing', 'sha256sums'], { cwd: work }).toString();
    expect(sums).toContain('hosts: OK');
    expect(sums).toContain('rpz: OK');
  });
});

describe('the subscriber page', () => {
  it('explains the lists and gives per-tool instructions; without lists.public_url the addresses are paths', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    const html = r.body.toString();
    for (const text of ['Pi-hole', 'AdGuard Home', 'Unbound', 'BIND', 'dnsmasq', 'Belgian Centre for Cybersecurity', '&lt;server&gt;/lists/tiktok/adblock', 'href="/lists/tiktok/adblock"', 'openssl pkeyutl -verify']) {
      expect(html).toContain(text);
    }
    expect(html).not.toContain('<script');
  });

  it('is the same bytes whatever Host or X-Forwarded-Proto a request sends: no http:// link, no echoed host', async () => {
    const first = await get('/');
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await get('/', { host: `random-${i}.example`, 'x-forwarded-proto': 'https', 'x-forwarded-host': `fwd-${i}.example` });
      expect(r.body.equals(first.body)).toBe(true);
      seen.add(r.headers.etag as string);
    }
    expect([...seen]).toEqual([first.headers.etag]);
    const html = first.body.toString();
    expect(html).not.toContain('http://');
    expect(html).not.toMatch(/random-\d|fwd-\d|127\.0\.0\.1/);
  });

  it('tells the Pi-hole history right: adblock lines since v5.16 (March 2023), v6 from February 2025', async () => {
    const html = (await get('/')).body.toString();
    expect(html).toContain('v5.16 (March 2023)');
    expect(html).toContain('v6 (February 2025)');
    expect(html).not.toMatch(/before v6 \(March 2023\)/);
  });

  it('shows the signing key\'s fingerprint, the SHA-256 that openssl gives for the served key', async () => {
    const pem = (await get('/lists/signing-key.pem')).body;
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
    const fingerprint = createHash('sha256').update(der).digest('hex');
    const index = JSON.parse((await get('/lists')).body.toString()) as { signing_key_sha256: string };
    expect(index.signing_key_sha256).toBe(fingerprint);
    expect((await get('/')).body.toString()).toContain(`<code>${fingerprint}</code>`);
  });
});

describe('addresses in the feed', () => {
  async function appWith(lists: Record<string, unknown>): Promise<FastifyInstance> {
    const config = configSchema.parse({
      upstreams: ['127.0.0.1:9'],
      segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
      lists: { dir: 'lists', signing_key_file: join(dir, 'key.pem'), ...lists },
      audit: { dir: join(dir, 'audit') },
    });
    return buildHttpApp({ config, logger: pino({ level: 'silent' }), metrics: new Registry(), lists: registry, health: readyHealth() });
  }

  it('with lists.public_url: absolute https addresses on the page, in the index and in each file\'s Homepage and Source', async () => {
    const other = await appWith({ public_url: 'https://lists.example.org/' });
    try {
      const page = (await other.inject({ url: '/', headers: { host: 'internal:8053' } })).body;
      expect(page).toContain('<code>https://lists.example.org/lists/tiktok/adblock</code>');
      expect(page).not.toContain('&lt;server&gt;');
      expect(page).not.toContain('http://');
      const index = JSON.parse((await other.inject('/lists')).body) as { homepage: string; lists: { name: string; formats: Record<string, string> }[] };
      expect(index.homepage).toBe('https://lists.example.org/');
      expect(index.lists.find((l) => l.name === 'tiktok')?.formats.rpz).toBe('https://lists.example.org/lists/tiktok/rpz');
      const hosts = (await other.inject('/lists/tiktok/hosts')).body;
      expect(hosts).toContain('# Homepage: https://lists.example.org/\n');
      expect(hosts).toContain('# Source: https://lists.example.org/lists/tiktok/hosts\n');
      expect(hosts).toContain('# Changes: https://lists.example.org/lists/tiktok/changes\n');
      const atom = (await other.inject('/lists/tiktok/changes.atom')).body;
      expect(atom).toContain('<link rel="self" type="application/atom+xml" href="https://lists.example.org/lists/tiktok/changes.atom"/>');
    } finally {
      await other.close();
    }
  });

  it('without lists.homepage and lists.public_url: no file says "Homepage: /", the index has no homepage', async () => {
    const other = await appWith({});
    try {
      for (const format of ['hosts', 'adblock', 'rpz', 'json']) {
        const body = (await other.inject(`/lists/tiktok/${format}`)).body;
        expect(body, format).not.toMatch(/Homepage/i);
      }
      const index = JSON.parse((await other.inject('/lists')).body) as { homepage: unknown };
      expect(index.homepage).toBeNull();
    } finally {
      await other.close();
    }
  });
});

describe('lists build', () => {
  it('writes the same bytes as the server, at the same paths', async () => {
    const out = join(dir, 'public');
    await buildStaticLists(configSchema.parse({ segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }], lists: { homepage: 'https://lists.example.org/', signing_key_file: join(dir, 'key.pem') } }).lists, out);
    for (const path of ['lists/tiktok/hosts', 'lists/bytedance/rpz', 'lists/doh-bypass/adblock', 'lists/tiktok/sha256sums']) {
      const served = await get(`/${path}`);
      expect((await readFile(join(out, path))).equals(served.body), path).toBe(true);
    }
    const index = JSON.parse(await readFile(join(out, 'lists/index.json'), 'utf8')) as { lists: { name: string }[] };
    // The three domain lists and the network list (lists-feed-networks.test.ts compares its bytes).
    expect(index.lists.map((l) => l.name)).toEqual(['bytedance', 'doh-bypass', 'tiktok', 'bytedance-networks']);
  });
});
