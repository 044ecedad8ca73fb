// The source worker's own logic; fetching, parsing and caching have their own tests, and
// test/integration/lists-sources.test.ts runs the whole against a local HTTP server.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sha256InSlices } from '../../../src/lists/sources.ts';

describe('sha256InSlices', () => {
  it('hashes like one createHash call, across 4 MB steps', async () => {
    for (const size of [0, 10, 4 * 1024 * 1024, 9 * 1024 * 1024 + 7]) {
      const body = Buffer.alloc(size, 0x61);
      expect(await sha256InSlices(body), String(size)).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });
});

describe('startListSources', () => {
  // undici costs ~30 MB resident: a replica with only file sources must never load it.
  // A fresh process records every module it resolves.
  async function resolvesUndici(sources: Record<string, unknown>[]): Promise<boolean> {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-lazy-'));
    const src = new URL('../../../src/', import.meta.url).href;
    const script = `
      import { registerHooks } from 'node:module';
      let undici = false;
      registerHooks({ resolve(specifier, context, next) { if (specifier === 'undici' || specifier.startsWith('undici/')) undici = true; return next(specifier, context); } });
      const { startListSources } = await import('${src}lists/sources.ts');
      const { ListRegistry } = await import('${src}lists/registry.ts');
      const { listsSection } = await import('${src}config/sections/lists.ts');
      const { pino } = await import('pino');
      const config = listsSection.parse({ cache_dir: ${JSON.stringify(join(dir, 'cache'))}, sources: ${JSON.stringify(sources)} });
      const running = await startListSources(config, new ListRegistry(), pino({ level: 'silent' }), { initialTimeoutMs: 2000 });
      await running.stop();
      console.log(JSON.stringify({ undici }));
    `;
    await writeFile(join(dir, 'a.txt'), 'a.example.com\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, NODE_OPTIONS: '' } });
    return (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { undici: boolean }).undici;
  }

  it('loads undici only when some source has a url', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-lazy-file-'));
    await writeFile(join(dir, 'list.txt'), 'a.example.com\n');
    expect(await resolvesUndici([{ name: 'local', file: join(dir, 'list.txt'), format: 'domains' }])).toBe(false);
    // Port 9 (discard) on loopback: nothing listens, the fetch fails fast; undici was loaded for it.
    expect(await resolvesUndici([{ name: 'remote', url: 'http://127.0.0.1:9/list.txt' }])).toBe(true);
  }, 30_000);
});
