import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceCache } from '../../../src/lists/source-cache.ts';

async function cacheDir(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'dnsward-cache-')), 'nested', 'lists');
  await SourceCache.ensureDir(dir);
  return dir;
}

describe('SourceCache', () => {
  it('has nothing before the first save', async () => {
    expect(await new SourceCache(await cacheDir(), 'ads').loadMeta()).toBeUndefined();
  });

  it('keeps the body and its meta per source, in <name>.txt and <name>.meta.json, with no temp files left', async () => {
    const dir = await cacheDir();
    const cache = new SourceCache(dir, 'ads');
    await cache.saveBody(Buffer.from('0.0.0.0 a.example\n'));
    await cache.saveMeta({ etag: '"v1"', sha256: 'ab'.repeat(32), changedAt: '2026-11-28T00:00:00.000Z' });
    await cache.saveBody(Buffer.from('0.0.0.0 b.example\n'));
    const kept = await cache.loadMeta();
    expect(kept?.file).toBe(join(dir, 'ads.txt'));
    expect((await cache.readBody()).toString()).toBe('0.0.0.0 b.example\n');
    expect(kept?.meta).toEqual({ etag: '"v1"', sha256: 'ab'.repeat(32), changedAt: '2026-11-28T00:00:00.000Z' });
    expect((await readdir(dir)).sort()).toEqual(['ads.meta.json', 'ads.txt']);
    expect(JSON.parse(await readFile(join(dir, 'ads.meta.json'), 'utf8'))).toMatchObject({ etag: '"v1"' });
    expect(await new SourceCache(dir, 'other').loadMeta()).toBeUndefined();
  });

  it('adopts a finished download as the body in one rename, beside the kept copy', async () => {
    const dir = await cacheDir();
    const cache = new SourceCache(dir, 'ads');
    await cache.saveBody(Buffer.from('old.example\n'));
    expect(cache.downloadFile.startsWith(join(dir, 'ads.txt.download-'))).toBe(true);
    await writeFile(cache.downloadFile, 'new.example\n');
    await cache.adopt(cache.downloadFile);
    expect((await cache.readBody()).toString()).toBe('new.example\n');
    expect(await readdir(dir)).toEqual(['ads.txt']);
  });

  it('treats a body without readable meta as no copy', async () => {
    const dir = await cacheDir();
    await writeFile(join(dir, 'ads.txt'), 'a.example\n');
    expect(await new SourceCache(dir, 'ads').loadMeta()).toBeUndefined();
    await writeFile(join(dir, 'ads.meta.json'), '{ truncated');
    expect(await new SourceCache(dir, 'ads').loadMeta()).toBeUndefined();
  });
});
