import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDashboard, compileDashboard, PAGE_SOURCES, transpilePageModule } from '../../../../src/http/dashboard/build.ts';

const dirs: string[] = [];
async function temp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-dashboard-build-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A copy of the page sources to change. */
async function sourcesCopy(): Promise<string> {
  const dir = await temp();
  await cp(PAGE_SOURCES, dir, { recursive: true });
  return dir;
}

describe('buildDashboard', () => {
  it('writes one content-hashed directory of ES modules, the page that loads them, and the manifest', async () => {
    const out = await temp();
    const manifest = await buildDashboard(out);
    expect(manifest.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse(await readFile(join(out, 'current.json'), 'utf8'))).toEqual(manifest);
    expect((await readdir(join(out, manifest.hash))).sort()).toEqual(manifest.files);
    expect(manifest.files).toEqual(expect.arrayContaining(['index.html', 'main.js', 'model.js', 'dashboard.css', 'icon.svg']));

    const page = await readFile(join(out, manifest.hash, 'index.html'), 'utf8');
    const base = `/dashboard/assets/${manifest.hash}`;
    expect(page).toContain(`<script type="module" src="${base}/main.js"></script>`);
    expect(page).not.toMatch(/\{\{|<script>|<script [^>]*>[^<]/);
    for (const module of manifest.files.filter((f) => f.endsWith('.js') && f !== 'main.js')) expect(page).toContain(`<link rel="modulepreload" href="${base}/${module}">`);

    // Every import in every module names a module of the bundle.
    for (const module of manifest.files.filter((f) => f.endsWith('.js'))) {
      const text = await readFile(join(out, manifest.hash, module), 'utf8');
      expect(text).not.toMatch(/\.ts["']/);
      for (const [, target] of text.matchAll(/from "\.\/([^"]+)"/g)) expect(manifest.files).toContain(target);
    }
  });

  it('gives the same sources the same hash, and a change a new one (the old directory goes)', async () => {
    const out = await temp();
    const src = await sourcesCopy();
    const first = await buildDashboard(out, src);
    const written = (await stat(join(out, first.hash, 'main.js'))).mtimeMs;
    expect((await buildDashboard(out, src)).hash).toBe(first.hash);
    expect((await stat(join(out, first.hash, 'main.js'))).mtimeMs).toBe(written);

    await writeFile(join(src, 'dashboard.css'), `${await readFile(join(src, 'dashboard.css'), 'utf8')}\nfooter { color: red; }\n`);
    const second = await buildDashboard(out, src);
    expect(second.hash).not.toBe(first.hash);
    expect((await readdir(out)).filter((n) => !n.startsWith('.')).sort()).toEqual([second.hash, 'current.json'].sort());
  });

  it('refuses what the browser could not load or the server would not serve', async () => {
    const src = await sourcesCopy();
    await rm(join(src, 'main.ts'));
    await expect(compileDashboard(src)).rejects.toThrow('no main.ts');
    const other = await sourcesCopy();
    await writeFile(join(other, 'notes.txt'), 'x');
    await expect(compileDashboard(other)).rejects.toThrow('notes.txt: not a dashboard file type');
  });
});

describe('transpilePageModule', () => {
  const known = new Set(['main.js', 'dom.js']);

  it('strips types and rewrites sibling imports to .js', () => {
    const out = transpilePageModule('main.ts', "import { el } from './dom.ts';\nimport type { X } from './dom.ts';\nexport const n: number = el as unknown as number;\nlet x: X | undefined;\n", known);
    expect(out).toContain('import { el } from "./dom.js";');
    expect(out).not.toContain('type');
    expect(out).toContain('export const n = el;');
  });

  it.each([
    ["import Fastify from 'fastify';", 'imports "fastify"'],
    ["import { x } from '../bundle.ts';", 'imports "../bundle.js"'],
    ["import { x } from './missing.ts';", 'imports "./missing.js"'],
    ["export const x = await import('./other.ts');", 'imports "./other.js"'],
  ])('refuses %s', (source, message) => {
    expect(() => transpilePageModule('main.ts', source, known)).toThrow(message);
  });

  it('refuses a syntax error', () => {
    expect(() => transpilePageModule('main.ts', 'export const = ;', known)).toThrow(/^main\.ts: /);
  });
});

describe('page sources', () => {
  it('use no HTML or code sinks (the CSP enforces Trusted Types too)', async () => {
    for (const name of (await readdir(PAGE_SOURCES)).filter((n) => n.endsWith('.ts'))) {
      const text = await readFile(join(PAGE_SOURCES, name), 'utf8');
      expect(text, name).not.toMatch(/\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\b|setAttribute\(\s*['"]on|localStorage|document\.cookie/);
    }
  });
});
