import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { RENDERERS } from '../../../src/lists/render/index.ts';
import { INLINE_RENDER_MAX, renderInWorker } from '../../../src/lists/render-thread.ts';
import { renderedFileSync } from '../../../src/lists/rendered-file.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const names = Array.from({ length: 2000 }, (_, i) => `host${i}.example${i % 7}.com`);
const base: ListSnapshot = {
  name: 'demo',
  title: 'Demo',
  description: 'generated',
  version: 'abcdef012345',
  lastModified: new Date('2026-11-28T09:30:00Z'),
  domains: [...names].sort(),
  license: 'CC0-1.0',
  origin: 'maintained',
  provenance: [{ domain: 'host0.example0.com', added: '2026-11-28', sources: ['X'] }],
  sourceCodes: { X: 'test' },
};

describe('renderInWorker', () => {
  it('gives the bytes rendering on this thread would give, for every format', async () => {
    const files = await renderInWorker(base, 'https://lists.example.org/', '1 day', undefined);
    expect(files.map((f) => f.format)).toEqual(RENDERERS.map((r) => r.format));
    for (const renderer of RENDERERS) {
      const here = renderedFileSync(renderer.format, renderer.fileName('demo'), renderer.contentType, renderer.render(base, { homepage: 'https://lists.example.org/', expires: '1 day' }));
      const there = files.find((f) => f.format === renderer.format);
      expect(there, renderer.format).toEqual(here);
      expect(Buffer.isBuffer(there?.body)).toBe(true);
    }
  });

  it('sorts a compact set\'s names in the worker: same files as the sorted array', async () => {
    // Above INLINE_RENDER_MAX: the set's names go to the worker; a small set renders here.
    for (const count of [INLINE_RENDER_MAX + 1, 100]) {
      const many = Array.from({ length: count }, (_, i) => `host${i}.example${i % 7}.com`);
      const set = DomainSet.from(many);
      const fromSet = await renderInWorker({ ...base, provenance: undefined, set, domains: [] }, undefined, '1 day', undefined);
      const fromArray = await renderInWorker({ ...base, provenance: undefined, domains: [...many].sort() }, undefined, '1 day', undefined);
      expect(fromSet.map((f) => f.sha256), String(count)).toEqual(fromArray.map((f) => f.sha256));
      expect(fromSet.find((f) => f.format === 'domains')?.body.toString(), String(count)).toContain(`\nhost${count - 1}.example${(count - 1) % 7}.com\n`);
    }
  }, 90_000);

  it('passes each format its absolute URL', async () => {
    const urls = Object.fromEntries(RENDERERS.map((r) => [r.format, `https://lists.example.org/lists/demo/${r.format}`]));
    const files = await renderInWorker(base, undefined, '1 day', urls);
    expect(files.find((f) => f.format === 'rpz')?.body.toString()).toContain('; Source: https://lists.example.org/lists/demo/rpz\n');
  });

  it('runs jobs one after another, and a failed one rejects without stopping the next', async () => {
    const broken = renderInWorker({ ...base, lastModified: new Date(Number.NaN) }, undefined, '1 day', undefined);
    const fine = renderInWorker(base, undefined, '1 day', undefined);
    await expect(broken).rejects.toThrow(/rendering list "demo" failed: Invalid time value/);
    expect((await fine).length).toBe(RENDERERS.length);
  });
});
