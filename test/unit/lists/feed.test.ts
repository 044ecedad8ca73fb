import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { EAGER_RENDER_MAX, feedOptionsFromConfig, ListFeed } from '../../../src/lists/feed.ts';
import { ListRegistry } from '../../../src/lists/registry.ts';
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
    const body = JSON.parse(index.body.toString()) as { homepage: string; signing_key: null; signing_key_sha256: null; lists: Record<string, unknown>[] };
    expect(body.homepage).toBe('https://lists.example.org/');
    expect(body.signing_key).toBeNull();
    expect(body.signing_key_sha256).toBeNull();
    expect(body.lists[0]).toMatchObject({ name: 'demo', version: 'abcdef012345', entries: 2, hosts: 3, formats: { rpz: '/lists/demo/rpz' }, manifest: '/lists/demo/sha256sums', signature: null });
    registry.set({ ...demo, version: '0123456789ab' });
    expect(await feed.index()).not.toBe(index);
  });

  it('renders a big list without holding the event loop: every step on this thread is short', async () => {
    // DNSWARD_FEED_TEST_NAMES=1000000 for the figure in docs/LISTS.md; the default keeps CI quick.
    const n = Number(process.env.DNSWARD_FEED_TEST_NAMES ?? 150_000);
    const set = new DomainSet(n, n * 24);
    for (let i = 0; i < n; i++) set.add(`host${i}.example${i % 997}.com`);
    let materialised: string[] | undefined;
    const registry = new ListRegistry();
    registry.set({
      ...demo,
      name: 'big',
      hosts: undefined,
      provenance: undefined,
      set,
      get domains() {
        materialised ??= set.toSortedArray();
        return materialised;
      },
    });
    const feed = new ListFeed(registry, options);
    // CPU time of this thread between two timer ticks: the longest stretch the event loop was
    // busy, without the noise of a shared machine's scheduler (wall-clock gaps include it).
    const cpuMs = (): number => {
      const u = process.threadCpuUsage();
      return (u.user + u.system) / 1000;
    };
    let worstCpu = 0;
    let worstWall = 0;
    let lastCpu = cpuMs();
    let lastWall = performance.now();
    const ticker = setInterval(() => {
      const c = cpuMs();
      const w = performance.now();
      worstCpu = Math.max(worstCpu, c - lastCpu);
      worstWall = Math.max(worstWall, w - lastWall);
      lastCpu = c;
      lastWall = w;
    }, 1);
    const started = performance.now();
    const startCpu = cpuMs();
    const pub = await feed.publication('big');
    clearInterval(ticker);
    const hosts = pub?.files.get('hosts')?.body.toString() ?? '';
    console.log(
      `first render of a ${n}-name list: ${Math.round(performance.now() - started)} ms, ${Math.round(cpuMs() - startCpu)} ms CPU on the event loop's thread, ` +
        `longest step ${worstCpu.toFixed(1)} ms CPU (${worstWall.toFixed(0)} ms wall), hosts ${(hosts.length / 1e6).toFixed(1)} MB`,
    );
    expect(hosts).toContain(`# Number of entries: ${n}\n`);
    expect(hosts).toContain('\n0.0.0.0 host0.example0.com\n');
    expect(materialised).toBeUndefined();
    // Rendered on this thread, the strings alone (sorting, then each format) hold it for hundreds of ms.
    expect(worstCpu).toBeLessThan(50);
  }, 180_000);

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

describe('feedOptionsFromConfig', () => {
  it('signs by default: makes the key at lists.signing_key_file when missing and logs its fingerprint', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'dnsward-feed-key-')), 'list-keys', 'signing.key');
    const logged: [object, string][] = [];
    const options = await feedOptionsFromConfig({ expires: '1 day', signing_key_file: file }, { info: (fields, message) => logged.push([fields, message]) });
    expect(options.signingKey?.asymmetricKeyType).toBe('ed25519');
    const feed = new ListFeed(new ListRegistry(), options);
    expect(logged).toEqual([[{ file, sha256: feed.publicKeyFingerprint }, expect.stringMatching(/created a new signing key/)]]);
    const again: unknown[] = [];
    await feedOptionsFromConfig({ expires: '1 day', signing_key_file: file }, { info: (fields) => again.push(fields) });
    expect(again).toEqual([]);
  });

  it('takes homepage, else public_url + "/", else none at all (never a relative "/")', async () => {
    const signing_key_file = join(await mkdtemp(join(tmpdir(), 'dnsward-feed-key-')), 'k');
    expect((await feedOptionsFromConfig({ expires: '1 day', signing_key_file, homepage: 'https://h.example/' })).homepage).toBe('https://h.example/');
    expect((await feedOptionsFromConfig({ expires: '1 day', signing_key_file, public_url: 'https://lists.example.org' })).homepage).toBe('https://lists.example.org/');
    expect((await feedOptionsFromConfig({ expires: '1 day', signing_key_file })).homepage).toBeUndefined();
  });
});
