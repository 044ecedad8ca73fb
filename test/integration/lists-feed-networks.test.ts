// The network list through the real feed (fastify on 127.0.0.1, undici requests): in the index
// with its formats, each format with a header, ETag and 304, a signed manifest that openssl and
// sha256sum verify, and `lists build` writing the same bytes. The feed runs in its own thread as
// `serve` runs it, so the list crosses to the thread as the replica hands it over.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStaticLists } from '../../src/cli/lists.ts';
import { configSchema } from '../../src/config/schema.ts';
import { type FeedThread, startFeedThread } from '../../src/http/feed-thread.ts';
import { loadListDir } from '../../src/lists/list-file.ts';
import { loadNetworkListDir, type NetworkListSnapshot } from '../../src/lists/network-list.ts';
import { NetworkListRegistry } from '../../src/lists/network-registry.ts';
import { ListRegistry } from '../../src/lists/registry.ts';

let feed: FeedThread;
let base: string;
let dir: string;
let list: NetworkListSnapshot;
const networks = new NetworkListRegistry();

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await request(`${base}${path}`, { headers });
  return { status: response.statusCode, headers: response.headers, body: Buffer.from(await response.body.arrayBuffer()) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-feed-networks-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const registry = new ListRegistry();
  for (const snapshot of await loadListDir('lists')) registry.set(snapshot);
  networks.replace(await loadNetworkListDir('lists'));
  list = networks.get('bytedance-networks') as NetworkListSnapshot;
  const config = configSchema.parse({
    upstreams: ['127.0.0.1:9'],
    segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    lists: { dir: 'lists', signing_key_file: join(dir, 'key.pem'), homepage: 'https://lists.example.org/', cache_max_age_s: 600 },
    http: { listen: '127.0.0.1:0' },
    audit: { dir: join(dir, 'audit') },
  });
  feed = await startFeedThread(config, registry, undefined, pino({ level: 'silent' }), networks);
  base = `http://127.0.0.1:${feed.port}`;
  // The thread renders on its own time: wait until the index shows the network list.
  for (let i = 0; i < 100 && !(await get('/lists')).body.toString().includes('bytedance-networks'); i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  await feed?.close();
});

describe('network lists in the feed', () => {
  it('are in the index as kind "networks" with their prefix count, formats and checksums', async () => {
    const index = JSON.parse((await get('/lists')).body.toString()) as { lists: (Record<string, unknown> & { formats: Record<string, string>; sha256: Record<string, string> })[] };
    const entry = index.lists.find((l) => l.name === 'bytedance-networks');
    expect(entry).toMatchObject({ kind: 'networks', title: 'ByteDance networks', version: list.version, entries: list.networks.length, license: 'CC0-1.0', changes: null });
    expect(Object.keys(entry?.formats ?? {})).toEqual(['cidr', 'rpz', 'adguard', 'json']);
    const cidr = await get(entry?.formats.cidr as string);
    expect(createHash('sha256').update(cidr.body).digest('hex')).toBe(entry?.sha256.cidr);
    // The domain lists are all still there, unchanged.
    expect(index.lists.map((l) => l.name)).toEqual(['bytedance', 'doh-bypass', 'tiktok', 'bytedance-networks']);
  });

  it('serve every format with a header (title, version, entry count), strong ETag, Last-Modified and 304', async () => {
    for (const [format, marker] of [['cidr', '#'], ['rpz', ';'], ['adguard', '!']] as const) {
      const r = await get(`/lists/bytedance-networks/${format}`);
      expect(r.status, format).toBe(200);
      const text = r.body.toString();
      expect(text, format).toMatch(new RegExp(`^\\${marker} Title: ByteDance networks\\n`));
      expect(text, format).toContain(`${marker} Version: ${list.version}\n`);
      expect(text, format).toContain(`${marker} Number of entries: ${list.networks.length}\n`);
      expect(r.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(r.headers['last-modified']).toBe(list.lastModified.toUTCString());
      expect(r.headers['cache-control']).toBe('public, max-age=600');
      expect((await get(`/lists/bytedance-networks/${format}`, { 'if-none-match': r.headers.etag as string })).status).toBe(304);
      expect((await get(`/lists/bytedance-networks/${format}`, { 'if-modified-since': list.lastModified.toUTCString() })).status).toBe(304);
    }
    const json = JSON.parse((await get('/lists/bytedance-networks/json')).body.toString()) as { kind: string; networks: string[]; entries: { prefix: string; asn: string; seen: string; sources: string[] }[] };
    expect(json.kind).toBe('networks');
    expect(json.networks).toEqual(list.networks);
    expect(json.entries.find((e) => e.prefix === '71.18.1.0/24')).toEqual({ prefix: '71.18.1.0/24', seen: '2026-12-02', asn: 'AS396986', sources: ['IPV1', 'CSA'] });
    const missing = await get('/lists/bytedance-networks/hosts');
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain('use one of: cidr, rpz, adguard, json, sha256sums, sha256sums.sig');
  });

  it('sign a sha256sums manifest that openssl and sha256sum verify', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dnsward-verify-networks-'));
    for (const file of ['sha256sums', 'sha256sums.sig', 'cidr', 'rpz', 'adguard', 'json']) await writeFile(join(work, file), (await get(`/lists/bytedance-networks/${file}`)).body);
    await writeFile(join(work, 'signing-key.pem'), (await get('/lists/signing-key.pem')).body);
    const openssl = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'sha256sums', '-sigfile', 'sha256sums.sig'], { cwd: work }).toString();
    expect(openssl).toMatch(/Signature Verified Successfully/);
    const sums = execFileSync('sha256sum', ['-c', 'sha256sums'], { cwd: work }).toString();
    expect(sums.trim().split('\n').sort()).toEqual(['adguard: OK', 'cidr: OK', 'json: OK', 'rpz: OK']);
  });

  it('lists build writes the same bytes at the same paths', async () => {
    const out = join(dir, 'public');
    await buildStaticLists(configSchema.parse({ segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }], lists: { homepage: 'https://lists.example.org/', signing_key_file: join(dir, 'key.pem') } }).lists, out);
    for (const format of ['cidr', 'rpz', 'adguard', 'json', 'sha256sums', 'sha256sums.sig']) {
      const path = `lists/bytedance-networks/${format}`;
      expect((await readFile(join(out, path))).equals((await get(`/${path}`)).body), path).toBe(true);
    }
  });
});
