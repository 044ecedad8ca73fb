// A served body as the feed keeps it: the bytes, their SHA-256, a strong ETag, and the gzip and
// brotli bodies, all computed once per list version. Two ways to make one with the same bytes:
// renderedFile (async zlib, on libuv's threadpool; for small bodies on the main thread) and
// renderedFileSync (for the render worker, which has its own thread).
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, type BrotliOptions, constants as zlibConstants, gzip, gzipSync, type ZlibOptions } from 'node:zlib';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export interface RenderedFile {
  readonly format: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
  readonly sha256: string;
  /** Strong validator of the identity body; encoded bodies get "-gz"/"-br" suffixed tags. */
  readonly etag: string;
}

/**
 * Above this size the best settings cost seconds of CPU per body for a few percent (brotli 11
 * runs at about 1 MB/s): the maintained lists are tens of KB, a million-name list has nine
 * bodies of 20-70 MB.
 */
const BIG_BODY_BYTES = 1024 * 1024;

function gzipOptions(length: number): ZlibOptions {
  return { level: length > BIG_BODY_BYTES ? 6 : 9 };
}

function brotliOptions(length: number): BrotliOptions {
  return { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: length > BIG_BODY_BYTES ? 5 : 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: length } };
}

function toBuffer(content: string | Buffer): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function assemble(format: string, fileName: string, contentType: string, body: Buffer, gz: Buffer, br: Buffer): RenderedFile {
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { format, fileName, contentType, body, gzip: gz, br, sha256, etag: `"${sha256.slice(0, 32)}"` };
}

export async function renderedFile(format: string, fileName: string, contentType: string, content: string | Buffer): Promise<RenderedFile> {
  const body = toBuffer(content);
  const [gz, br] = await Promise.all([gzipAsync(body, gzipOptions(body.length)), brotliAsync(body, brotliOptions(body.length))]);
  return assemble(format, fileName, contentType, body, gz, br);
}

export function renderedFileSync(format: string, fileName: string, contentType: string, content: string | Buffer): RenderedFile {
  const body = toBuffer(content);
  return assemble(format, fileName, contentType, body, gzipSync(body, gzipOptions(body.length)), brotliCompressSync(body, brotliOptions(body.length)));
}
