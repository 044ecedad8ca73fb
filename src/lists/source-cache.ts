// The last good copy of every subscribed source, on disk in lists.cache_dir: the body as fetched
// (<name>.txt) and what we know about it (<name>.meta.json: validators, hash, times). A restart
// loads it before fetching, and a failed fetch never replaces it. Writes are atomic (temp file,
// or a finished download beside it, then rename), so a crash leaves the old copy or the new
// one, never half of one.
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceValidators } from './source-fetch.ts';

export interface SourceMeta extends SourceValidators {
  /** SHA-256 (hex) of the body. */
  sha256?: string;
  /** When the source was last checked successfully, and when its content last changed (ISO 8601). */
  fetchedAt?: string;
  changedAt?: string;
}

export class SourceCache {
  private readonly bodyFile: string;
  private readonly metaFile: string;

  constructor(dir: string, name: string) {
    this.bodyFile = join(dir, `${name}.txt`);
    this.metaFile = join(dir, `${name}.meta.json`);
  }

  static async ensureDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }

  /** The kept body's file (read in chunks by the parser, never whole) and its meta, or undefined when there is none (or the meta cannot be read). */
  async loadMeta(): Promise<{ file: string; meta: SourceMeta } | undefined> {
    try {
      await access(this.bodyFile);
      return { file: this.bodyFile, meta: JSON.parse(await readFile(this.metaFile, 'utf8')) as SourceMeta };
    } catch {
      return undefined;
    }
  }

  /** Where a download goes before it is known good: beside the kept copy, so adopt() is one rename. */
  get downloadFile(): string {
    return `${this.bodyFile}.download-${process.pid}`;
  }

  /** Makes a finished download the kept body (atomic: a crash leaves the old copy or this one). */
  async adopt(file: string): Promise<void> {
    await rename(file, this.bodyFile);
  }

  async readBody(): Promise<Buffer> {
    return readFile(this.bodyFile);
  }

  async saveBody(body: Buffer): Promise<void> {
    await writeAtomic(this.bodyFile, body);
  }

  async saveMeta(meta: SourceMeta): Promise<void> {
    await writeAtomic(this.metaFile, `${JSON.stringify(meta, null, 1)}\n`);
  }
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}
