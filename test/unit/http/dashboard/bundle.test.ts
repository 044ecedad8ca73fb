import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../../../src/http/dashboard/build.ts';
import { contentType, isAssetName, loadDashboard } from '../../../../src/http/dashboard/bundle.ts';

const dirs: string[] = [];
async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-dashboard-bundle-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('loadDashboard', () => {
  it('loads the current build: the page apart, every asset with its type, ETag and compressed bodies', async () => {
    const out = await temp();
    const manifest = await buildDashboard(out);
    const bundle = await loadDashboard(out);
    expect(bundle?.hash).toBe(manifest.hash);
    expect(bundle?.page.contentType).toBe('text/html; charset=utf-8');
    expect([...(bundle?.assets.keys() ?? [])].sort()).toEqual(manifest.files.filter((f) => f !== 'index.html'));
    const main = bundle?.assets.get('main.js');
    expect(main?.contentType).toBe('text/javascript; charset=utf-8');
    expect(main?.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(gunzipSync(main?.gzip ?? Buffer.alloc(0)).equals(main?.body ?? Buffer.alloc(1))).toBe(true);
  });

  it('is undefined when nothing was built', async () => {
    expect(await loadDashboard(join(await temp(), 'nothing-here'))).toBeUndefined();
  });

  it('refuses a manifest that is not one, or that names a file outside the bundle', async () => {
    const out = await temp();
    await writeFile(join(out, 'current.json'), '{"version":1,"hash":"../../etc","files":["index.html"]}');
    await expect(loadDashboard(out)).rejects.toThrow('is not a dashboard manifest; run npm run build again');
    await mkdir(join(out, 'abcdef0123456789'));
    await writeFile(join(out, 'current.json'), '{"version":1,"hash":"abcdef0123456789","files":["index.html","../secret.js"]}');
    await expect(loadDashboard(out)).rejects.toThrow('names "../secret.js", which is not a dashboard file');
  });
});

describe('asset names', () => {
  it('are single path segments of a known type', () => {
    expect(isAssetName('main.js')).toBe(true);
    expect(isAssetName('dashboard.css')).toBe(true);
    expect(isAssetName('../main.js')).toBe(false);
    expect(isAssetName('a/b.js')).toBe(false);
    expect(isAssetName('.hidden.js')).toBe(false);
    expect(isAssetName('notes.txt')).toBe(false);
    expect(contentType('icon.svg')).toBe('image/svg+xml');
    expect(contentType('README')).toBeUndefined();
  });
});
