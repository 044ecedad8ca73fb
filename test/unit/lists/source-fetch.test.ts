// The fetcher against a real HTTP server on 127.0.0.1, and file sources on disk.
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpFetcher, type HttpFetcher, readFileSource } from '../../../src/lists/source-fetch.ts';

const seen: IncomingHttpHeaders[] = [];
let server: Server;
let base: string;
let fetcher: HttpFetcher;
const BODY = Buffer.from('0.0.0.0 a.example.com\n'.repeat(100));

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    switch (req.url) {
      case '/plain':
        if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
        return void res.writeHead(200, { etag: '"v1"', 'last-modified': 'Sat, 28 Nov 2026 08:00:00 GMT', 'content-length': BODY.length }).end(BODY);
      case '/gzip':
        return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(BODY));
      case '/br':
        return void res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(BODY));
      case '/zstd':
        return void res.writeHead(200, { 'content-encoding': 'zstd' }).end(BODY);
      case '/error':
        return void res.writeHead(500).end('oops');
      case '/moved':
        return void res.writeHead(302, { location: '/plain' }).end();
      case '/chunked':
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write(BODY);
        return void res.end();
      case '/cut': {
        // Half a gzip body, then the connection drops.
        const gz = gzipSync(BODY);
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length });
        res.write(gz.subarray(0, gz.length >> 1));
        return void setTimeout(() => res.socket?.destroy(), 20);
      }
      case '/bomb':
        return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(1_000_000, 0x61)));
      default:
        return void res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  fetcher = await createHttpFetcher({ userAgent: 'dnsward test' });
});

afterAll(async () => {
  await fetcher?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('createHttpFetcher', () => {
  it('fetches a body with its validators, asking for gzip and brotli', async () => {
    const result = await fetcher.fetch(`${base}/plain`, {}, 1 << 20);
    if (result === 'unchanged') throw new Error('expected a body');
    expect(result.body.equals(BODY)).toBe(true);
    expect(result.validators).toEqual({ etag: '"v1"', lastModified: 'Sat, 28 Nov 2026 08:00:00 GMT' });
    expect(seen.at(-1)).toMatchObject({ 'user-agent': 'dnsward test', 'accept-encoding': 'gzip, br' });
  });

  it('sends the held validators and reports 304 as unchanged', async () => {
    expect(await fetcher.fetch(`${base}/plain`, { etag: '"v1"', lastModified: 'Sat, 28 Nov 2026 08:00:00 GMT' }, 1 << 20)).toBe('unchanged');
    expect(seen.at(-1)).toMatchObject({ 'if-none-match': '"v1"', 'if-modified-since': 'Sat, 28 Nov 2026 08:00:00 GMT' });
  });

  it('decodes gzip and brotli bodies, and refuses an encoding it does not decode', async () => {
    for (const path of ['/gzip', '/br']) {
      const result = await fetcher.fetch(`${base}${path}`, {}, 1 << 20);
      expect(result !== 'unchanged' && result.body.equals(BODY), path).toBe(true);
    }
    await expect(fetcher.fetch(`${base}/zstd`, {}, 1 << 20)).rejects.toThrow(/content-encoding "zstd"/);
  });

  it('follows redirects and fails on any status but 200 and 304', async () => {
    const moved = await fetcher.fetch(`${base}/moved`, {}, 1 << 20);
    expect(moved !== 'unchanged' && moved.body.equals(BODY)).toBe(true);
    await expect(fetcher.fetch(`${base}/error`, {}, 1 << 20)).rejects.toThrow(/HTTP 500/);
  });

  it('fails (and does not hang) when the connection drops in the middle of a compressed body', async () => {
    await expect(fetcher.fetch(`${base}/cut`, {}, 1 << 20)).rejects.toThrow();
  }, 5000);

  it('caps the body: by Content-Length, while streaming, and after decompression', async () => {
    await expect(fetcher.fetch(`${base}/plain`, {}, 1024)).rejects.toThrow(/2200 bytes, over lists.max_source_bytes \(1024\)/);
    await expect(fetcher.fetch(`${base}/chunked`, {}, 10_000)).rejects.toThrow(/over lists.max_source_bytes \(10000\)/);
    await expect(fetcher.fetch(`${base}/bomb`, {}, 100_000)).rejects.toThrow(/over lists.max_source_bytes \(100000\)/);
  });
});

describe('createHttpFetcher into a file', () => {
  it('streams the (decoded) body into the file with its SHA-256, and removes the file when the transfer fails or runs over the cap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-fetch-into-'));
    const into = join(dir, 'download');
    for (const path of ['/plain', '/gzip', '/chunked']) {
      const result = await fetcher.fetch(`${base}${path}`, {}, 1 << 20, into);
      if (result === 'unchanged' || !('download' in result)) throw new Error('expected a download');
      const body = path === '/chunked' ? Buffer.concat(Array.from({ length: 10 }, () => BODY)) : BODY;
      expect((await readFile(into)).equals(body), path).toBe(true);
      expect(result.download).toEqual({ file: into, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length });
    }
    await expect(fetcher.fetch(`${base}/cut`, {}, 1 << 20, join(dir, 'cut'))).rejects.toThrow();
    await expect(fetcher.fetch(`${base}/chunked`, {}, 10_000, join(dir, 'big'))).rejects.toThrow(/over lists.max_source_bytes \(10000\)/);
    for (const name of ['cut', 'big']) await expect(access(join(dir, name)), name).rejects.toThrow(/ENOENT/);
  }, 10_000);
});

describe('readFileSource', () => {
  it('reads a file, reports it unchanged while mtime and size match, and reads it again when they change', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'dnsward-fetch-')), 'list.txt');
    await writeFile(file, 'a.example.com\n');
    const first = await readFileSource(file, undefined, 1024);
    if (first === 'unchanged') throw new Error('expected a body');
    expect(first.body.toString()).toBe('a.example.com\n');
    expect(first.validators).toMatchObject({ size: 14, mtimeMs: (await stat(file)).mtimeMs });
    expect(await readFileSource(file, first.validators, 1024)).toBe('unchanged');
    // Without a held copy, the same file is read again.
    expect(await readFileSource(file, undefined, 1024)).not.toBe('unchanged');
    await writeFile(file, 'b.example.com\n');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    const changed = await readFileSource(file, first.validators, 1024);
    expect(changed !== 'unchanged' && changed.body.toString()).toBe('b.example.com\n');
    await expect(readFileSource(file, undefined, 10)).rejects.toThrow(/14 bytes, over lists.max_source_bytes \(10\)/);
  });
});
