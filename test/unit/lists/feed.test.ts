import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { buildPublication, EAGER_RENDER_MAX, feedOptionsFromConfig, ListFeed, loadSigningKey, renderedFile } from '../../../src/lists/feed.ts';
import { ListRegistry } from '../../../src/lists/registry.ts';
import { FORMATS } from '../../../src/lists/render/index.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const demo: ListSnapshot = {
  name: 'demo',
  title: 'Demo',
  description: 'A demo list',
  version: 'abcdef012345',
  lastModified: new Date('2026-11-28T09:30:00Z'),
  domains: ['example.com', 'example.net'],
  hosts: ['example.com', 'example.net', 'www.example.com'],
  license: 'CC0-1.0',
  origin: 'maintained',
};
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };

describe('renderedFile', () => {
  it('carries the body, its SHA-256, a strong ETag from it, and gzip and brotli bodies of the same bytes', async () => {
    const file = await renderedFile('hosts', 'demo.hosts.txt', 'text/plain; charset=utf-8', 'x'.repeat(10_000));
    expect(file.body.toString()).toBe('x'.repeat(10_000));
    expect(file.sha256).toBe(createHash('sha256').update('x'.repeat(10_000)).digest('hex'));
    expect(file.etag).toBe(`"${file.sha256.slice(0, 32)}"`);
    expect(gunzipSync(file.gzip).equals(file.body)).toBe(true);
    expect(brotliDecompressSync(file.br).equals(file.body)).toBe(true);
    expect(file.gzip.length).toBeLessThan(100);
  });
});

describe('buildPublication', () => {
  it('renders every format, lists their SHA-256 in the manifest, and signs the manifest when a key is given', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pub = await buildPublication(demo, { ...options, signingKey: privateKey }, (f) => `/lists/demo/${f}`);
    expect([...pub.files.keys()]).toEqual(FORMATS);
    const manifest = pub.manifest.body.toString();
    for (const file of pub.files.values()) expect(manifest).toContain(`\n${file.sha256}  ${file.format}\n`);
    expect(manifest.split('\n')[0]).toBe('# dnsward list manifest: demo version abcdef012345, last modified 2026-11-28T09:30:00.000Z');
    expect(pub.signature?.body.length).toBe(64);
    expect(verify(null, pub.manifest.body, publicKey, pub.signature?.body as Buffer)).toBe(true);
    expect((await buildPublication(demo, options, (f) => f)).signature).toBeUndefined();
  });

  it('writes a Source line with the absolute URL only when a public URL is set', async () => {
    const relative = await buildPublication(demo, options, (f) => `/lists/demo/${f}`);
    expect(relative.files.get('hosts')?.body.toString()).not.toContain('Source:');
    const absolute = await buildPublication(demo, { ...options, publicUrl: 'https://lists.example.org' }, (f) => `https://lists.example.org/lists/demo/${f}`);
    expect(absolute.files.get('hosts')?.body.toString()).toContain('# Source: https://lists.example.org/lists/demo/hosts\n');
  });
});

describe('ListFeed', () => {
  it('builds a publication once per list version, and a new one when the version changes', async () => {
    const registry = new ListRegistry();
    registry.set(demo);
    const feed = new ListFeed(registry, options);
    const first = feed.publication('demo');
    expect(feed.publication('demo')).toBe(first);
    registry.set({ ...demo, version: '0123456789ab', domains: ['example.org'] });
    const second = feed.publication('demo');
    expect(second).not.toBe(first);
    expect((await second)?.snapshot.version).toBe('0123456789ab');
  });

  it('publishes maintained lists only', async () => {
    const registry = new ListRegistry();
    registry.set(demo);
    registry.set({ ...demo, name: 'ads', origin: 'subscribed' });
    const feed = new ListFeed(registry, options);
    expect(feed.published().map((s) => s.name)).toEqual(['demo']);
    expect(feed.publication('ads')).toBeUndefined();
    expect(feed.publication('nope')).toBeUndefined();
  });

  it('indexes the published lists, cached until a version changes', async () => {
    const registry = new ListRegistry();
    registry.set(demo);
    const feed = new ListFeed(registry, options);
    const index = await feed.index();
    expect(await feed.index()).toBe(index);
    const body = JSON.parse(index.body.toString()) as { homepage: string; signing_key: null; lists: Record<string, unknown>[] };
    expect(body.homepage).toBe('https://lists.example.org/');
    expect(body.signing_key).toBeNull();
    expect(body.lists[0]).toMatchObject({ name: 'demo', version: 'abcdef012345', entries: 2, hosts: 3, formats: { rpz: '/lists/demo/rpz' }, manifest: '/lists/demo/sha256sums', signature: null });
    registry.set({ ...demo, version: '0123456789ab' });
    expect(await feed.index()).not.toBe(index);
  });

  it('renders small lists at start and big ones only when asked', async () => {
    const registry = new ListRegistry();
    registry.set(demo);
    let bigReads = 0;
    const set = DomainSet.from(Array.from({ length: EAGER_RENDER_MAX + 1 }, (_, i) => `n${i}.example.com`));
    registry.set({
      ...demo,
      name: 'big',
      hosts: undefined,
      set,
      get domains() {
        bigReads++;
        return set.toSortedArray();
      },
    });
    const feed = new ListFeed(registry, options);
    const errors: unknown[] = [];
    feed.start((e) => errors.push(e));
    await feed.publication('demo');
    expect(bigReads).toBe(0);
    feed.stop();
    expect(errors).toEqual([]);
  });
});

describe('loadSigningKey', () => {
  it('loads an Ed25519 PEM key and refuses anything else with the fix in the message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-feed-key-'));
    const good = join(dir, 'good.pem');
    await writeFile(good, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(createPublicKey(await loadSigningKey(good)).asymmetricKeyType).toBe('ed25519');
    const rsa = join(dir, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(loadSigningKey(rsa)).rejects.toThrow(/rsa key; lists are signed with Ed25519/);
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a key');
    await expect(loadSigningKey(junk)).rejects.toThrow(/not a PEM private key; create one with: openssl genpkey -algorithm ed25519/);
    await expect(loadSigningKey(join(dir, 'missing.pem'))).rejects.toThrow(/lists.signing_key_file: cannot read/);
  });
});

describe('feedOptionsFromConfig', () => {
  it('takes homepage, else public_url + "/"', async () => {
    expect((await feedOptionsFromConfig({ expires: '1 day', homepage: 'https://h.example/' })).homepage).toBe('https://h.example/');
    expect((await feedOptionsFromConfig({ expires: '1 day', public_url: 'https://lists.example.org' })).homepage).toBe('https://lists.example.org/');
  });
});
