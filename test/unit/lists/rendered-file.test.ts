import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { renderedFile, renderedFileSync } from '../../../src/lists/rendered-file.ts';

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

describe('renderedFileSync', () => {
  it('makes the same bytes as renderedFile, small and big bodies alike', async () => {
    for (const text of ['x'.repeat(10_000), Array.from({ length: 80_000 }, (_, i) => `0.0.0.0 host${i}.example.com\n`).join('')]) {
      const a = await renderedFile('hosts', 'h', 'text/plain', text);
      const b = renderedFileSync('hosts', 'h', 'text/plain', text);
      expect(b).toEqual(a);
    }
  });
});
