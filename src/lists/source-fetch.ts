// Getting the body of a subscribed source: over HTTP(S) with undici (conditional request,
// redirects, gzip/brotli, a size cap) or from a local file (re-read when its mtime or size
// changes). What comes back is bytes, or for a download into a file, that file with its
// SHA-256 (the body streams to disk and is never held whole); parsing is source-parser.ts,
// keeping is source-cache.ts.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import type { Dispatcher } from 'undici';

/** Validators and file identity of the copy we hold; sent back as conditions on the next fetch. */
export interface SourceValidators {
  etag?: string;
  lastModified?: string;
  /** For file sources: mtime and size of the copy we loaded. */
  mtimeMs?: number;
  size?: number;
}

/** A body written to a file as it arrived (a temporary file the caller renames or removes). */
export interface Download {
  file: string;
  /** SHA-256 (hex) and length of the (decoded) body. */
  sha256: string;
  bytes: number;
}

/** A new body (in memory, or downloaded into a file) with its validators, or "unchanged" (HTTP 304, or a file with the same mtime and size). */
export type FetchResult = BodyResult | { download: Download; validators: SourceValidators };
export type BodyResult = { body: Buffer; validators: SourceValidators } | 'unchanged';

export interface HttpFetcher {
  fetch(url: string, held: SourceValidators, maxBytes: number): Promise<BodyResult>;
  /** With `into`, the body streams into that file (removed again if the transfer fails) instead of memory. */
  fetch(url: string, held: SourceValidators, maxBytes: number, into: string): Promise<FetchResult>;
  close(): Promise<void>;
}

export interface HttpFetcherOptions {
  /** undici dispatcher (tests pass one; default: an Agent following up to 5 redirects, closed by close()). */
  dispatcher?: Dispatcher | undefined;
  userAgent: string;
}

/**
 * Loads undici and builds the HTTP side. undici costs ~30 MB resident, so callers create a
 * fetcher only when some source has a url.
 */
export async function createHttpFetcher(options: HttpFetcherOptions): Promise<HttpFetcher> {
  const undici = await import('undici');
  const owned = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new undici.Agent({ headersTimeout: 30_000, bodyTimeout: 60_000, connectTimeout: 10_000 }).compose(undici.interceptors.redirect({ maxRedirections: 5 }));
  const fetch = async (url: string, held: SourceValidators, maxBytes: number, into?: string): Promise<FetchResult> => {
    const headers: Record<string, string> = { 'user-agent': options.userAgent, 'accept-encoding': 'gzip, br' };
    if (held.etag) headers['if-none-match'] = held.etag;
    if (held.lastModified) headers['if-modified-since'] = held.lastModified;
    const response = await undici.request(url, { dispatcher, headers });
    // Errors reach the reader below; without a listener of its own, the abort that destroy()
    // emits on an undici body would be an uncaught exception and end the process.
    response.body.on('error', () => {});
    if (response.statusCode === 304) {
      await response.body.dump();
      return 'unchanged';
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`HTTP ${response.statusCode} from ${url}`);
    }
    const declared = Number(header(response.headers['content-length']));
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.body.destroy();
      throw new Error(`${url} is ${declared} bytes, over lists.max_source_bytes (${maxBytes})`);
    }
    const encoding = header(response.headers['content-encoding'])?.toLowerCase();
    const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'br' ? createBrotliDecompress() : undefined;
    if (!decoder && encoding && encoding !== 'identity') {
      response.body.destroy();
      throw new Error(`${url} sent content-encoding "${encoding}", which dnsward does not decode`);
    }
    // pipeline, not pipe: a connection cut mid-body must fail the decoder too (with pipe it
    // would wait for an end that never comes), and giving up on the decoder frees the socket.
    const stream: Readable = decoder ? pipeline(response.body, decoder, () => {}) : response.body;
    const validators: SourceValidators = {};
    const etag = header(response.headers.etag);
    const lastModified = header(response.headers['last-modified']);
    if (etag) validators.etag = etag;
    if (lastModified) validators.lastModified = lastModified;
    // The cap applies to the decoded bytes: a small gzip body cannot inflate past it.
    if (into !== undefined) return { download: await downloadCapped(stream, maxBytes, url, into), validators };
    return { body: await readCapped(stream, maxBytes, url), validators };
  };
  return {
    fetch: fetch as HttpFetcher['fetch'],
    async close() {
      if (owned) await dispatcher.close();
    },
  };
}

/** Reads a file source, or "unchanged" when the copy we hold has its mtime and size. */
export async function readFileSource(file: string, held: SourceValidators | undefined, maxBytes: number): Promise<BodyResult> {
  const info = await stat(file);
  if (held && info.mtimeMs === held.mtimeMs && info.size === held.size) return 'unchanged';
  if (info.size > maxBytes) throw new Error(`${file} is ${info.size} bytes, over lists.max_source_bytes (${maxBytes})`);
  return { body: await readFile(file), validators: { mtimeMs: info.mtimeMs, size: info.size, lastModified: info.mtime.toUTCString() } };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Writes the stream into `file` as it arrives, hashing it on the way; a failed or oversized
 * transfer removes the file. Only one chunk is held at a time.
 */
async function downloadCapped(stream: Readable, max: number, url: string, file: string): Promise<Download> {
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      bytes += (chunk as Buffer).length;
      if (bytes > max) throw new Error(`${url} is over lists.max_source_bytes (${max}); refusing it`);
      hash.update(chunk as Buffer);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    return { file, sha256: hash.digest('hex'), bytes };
  } catch (error) {
    out.destroy();
    await once(out, 'close').catch(() => undefined);
    await rm(file, { force: true });
    throw error;
  }
}

async function readCapped(stream: Readable, max: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    // Leaving the loop by throwing destroys the stream (and, through pipeline, the body).
    if (total > max) {
      throw new Error(`${url} is over lists.max_source_bytes (${max}); refusing it`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}
