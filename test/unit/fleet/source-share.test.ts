// Two replicas' source shares over one shared state: the first downloads, the second takes its
// copy; a fresh copy is never downloaded again; a replica waits for the lease holder's copy.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FleetSourceShare } from '../../../src/fleet/source-share.ts';
import type { SourceMeta } from '../../../src/lists/source-cache.ts';
import type { FetchResult } from '../../../src/lists/source-fetch.ts';
import { sha256InSlices } from '../../../src/lists/sources.ts';
import { MemoryState } from '../../../src/state/memory.ts';
import { silent } from '../audit/helpers.ts';

const source = { name: 'partner', url: 'http://127.0.0.1:1/p.txt', format: 'auto' as const, refresh: 3600 };
const BODY = Buffer.from('0.0.0.0 one.partner.example\n');

describe('FleetSourceShare', () => {
  it('one replica downloads, the other takes the copy; a fresh copy is not downloaded again', async () => {
    const state = new MemoryState();
    const a = new FleetSourceShare({ state, instance: 'a', logger: silent });
    const b = new FleetSourceShare({ state, instance: 'b', logger: silent });
    let downloads = 0;
    const direct = async (): Promise<FetchResult> => {
      downloads++;
      return { body: BODY, validators: { etag: '"e1"' } };
    };
    const got = await a.fetch(source, {}, direct);
    expect(got).toEqual({ body: BODY, validators: { etag: '"e1"' } });
    // Installed and valid: shared.
    const meta: SourceMeta = { etag: '"e1"', sha256: await sha256InSlices(BODY), fetchedAt: new Date().toISOString() };
    await a.loaded(source, BODY, meta);
    expect(await state.leaseHolder('sources:partner')).toBeUndefined();
    const taken = await b.fetch(source, {}, direct);
    expect(taken).toEqual({ body: BODY, validators: { etag: '"e1"' } });
    expect(downloads).toBe(1);
    expect([a.downloads, b.downloads, b.taken]).toEqual([1, 0, 1]);
    // b has it now: the fleet's copy is the one it holds.
    expect(await b.fetch(source, meta, direct)).toBe('unchanged');
    expect(await a.fetch(source, meta, direct)).toBe('unchanged');
    expect(downloads).toBe(1);
  });

  it('waits for the lease holder, then takes its copy', async () => {
    const state = new MemoryState();
    const a = new FleetSourceShare({ state, instance: 'a', logger: silent });
    const b = new FleetSourceShare({ state, instance: 'b', logger: silent, pollMs: 20 });
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const aFetch = a.fetch(source, {}, async () => {
      await slow;
      return { body: BODY, validators: {} };
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await state.leaseHolder('sources:partner')).toBe('a');
    let bDownloaded = false;
    const bFetch = b.fetch(source, {}, async () => {
      bDownloaded = true;
      return { body: BODY, validators: {} };
    });
    release();
    await aFetch;
    await a.loaded(source, BODY, { sha256: await sha256InSlices(BODY), fetchedAt: new Date().toISOString() });
    expect(await bFetch).toEqual({ body: BODY, validators: {} });
    expect(bDownloaded).toBe(false);
  });

  it('a shared copy that is damaged or does not match its SHA-256 is not used: the source is downloaded', async () => {
    const state = new MemoryState();
    const b = new FleetSourceShare({ state, instance: 'b', logger: silent });
    const meta = JSON.stringify({ sha256: 'f'.repeat(64), fetchedAt: new Date().toISOString(), by: 'x', bytes: 1 });
    for (const body of [Buffer.from('not gzip'), gzipSync(BODY)]) {
      await state.putSource('partner', { meta, body });
      expect(await b.fetch(source, {}, async () => ({ body: BODY, validators: { etag: '"own"' } }))).toEqual({ body: BODY, validators: { etag: '"own"' } });
    }
    expect(b.downloads).toBe(2);
  });

  it('a replica that joins after the shared copy went stale revalidates that copy: a 304 means it is taken, not downloaded again', async () => {
    const state = new MemoryState();
    const sha256 = await sha256InSlices(BODY);
    const staleAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    await state.putSource('partner', { meta: JSON.stringify({ sha256, etag: '"e1"', fetchedAt: staleAt, by: 'a', bytes: BODY.length }), body: gzipSync(BODY) });
    const c = new FleetSourceShare({ state, instance: 'c', logger: silent });
    const asked: (string | undefined)[] = [];
    const got = await c.fetch(source, {}, async (validators) => {
      asked.push(validators?.etag);
      return validators?.etag === '"e1"' ? 'unchanged' : { body: Buffer.from('other'), validators: {} };
    });
    expect(asked).toEqual(['"e1"']);
    expect(got).toEqual({ body: BODY, validators: { etag: '"e1"' } });
    expect(c.taken).toBe(1);
    // The origin vouched for the copy: it is fresh again for the rest of the fleet, and the lease is free.
    const meta = JSON.parse((await state.sourceMeta('partner')) ?? '{}') as { fetchedAt: string; by: string };
    expect(Date.parse(meta.fetchedAt)).toBeGreaterThan(Date.parse(staleAt));
    expect(meta.by).toBe('c');
    expect(await state.leaseHolder('sources:partner')).toBeUndefined();
  });

  it('a stale shared copy that changed at the origin is downloaded once and shared', async () => {
    const state = new MemoryState();
    const staleAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    await state.putSource('partner', { meta: JSON.stringify({ sha256: await sha256InSlices(BODY), etag: '"e1"', fetchedAt: staleAt, by: 'a', bytes: BODY.length }), body: gzipSync(BODY) });
    const c = new FleetSourceShare({ state, instance: 'c', logger: silent });
    const NEW = Buffer.from('0.0.0.0 two.partner.example\n');
    const got = await c.fetch(source, {}, async (validators) => (validators?.etag === '"e2"' ? 'unchanged' : { body: NEW, validators: { etag: '"e2"' } }));
    expect(got).toEqual({ body: NEW, validators: { etag: '"e2"' } });
    await c.loaded(source, NEW, { etag: '"e2"', sha256: await sha256InSlices(NEW), fetchedAt: new Date().toISOString() });
    const meta = JSON.parse((await state.sourceMeta('partner')) ?? '{}') as { etag: string; by: string };
    expect([meta.etag, meta.by, c.downloads, c.taken]).toEqual(['"e2"', 'c', 1, 0]);
  });
});
