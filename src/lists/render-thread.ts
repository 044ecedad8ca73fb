// Renders a list's files (every format, with SHA-256, gzip and brotli) in a worker thread
// (render-worker.ts), so the event loop that answers DNS never does that work: a million-name
// list takes seconds of CPU to sort, render and compress. The main thread only copies the
// names out (a few ms) and receives the finished bodies (transferred, not copied).
// Small lists (the maintained ones have hundreds of names) render on the calling thread, one
// format per turn of the event loop, with zlib on libuv's threadpool: a worker's isolate
// leaves about 10 MB resident per render for the life of the process (bench/memory.ts),
// for well under a millisecond of rendering each.
// One render at a time: each holds a list's worth of strings and bodies in memory.
import { Worker } from 'node:worker_threads';
import type { NameBlock } from './domain-set.ts';
import type { NetworkListSnapshot } from './network-list.ts';
import { RENDERERS } from './render/index.ts';
import { NETWORK_RENDERERS } from './render/networks.ts';
import { type RenderedFile, renderedFile } from './rendered-file.ts';
import type { ListSnapshot } from './types.ts';
import { lowerBackgroundThreads } from '../util/thread-priority.ts';

/** Lists with at most this many names render on the calling thread, not in a worker. */
export const INLINE_RENDER_MAX = 5_000;

/** What a renderer reads from a snapshot, as plain data a worker can receive. */
export interface SnapshotData extends Omit<ListSnapshot, 'domains' | 'set'> {
  /** The names, sorted; or, for lists held in a compact set, ... */
  readonly domains?: readonly string[];
  /** ... the set's names, which the worker sorts. */
  readonly names?: NameBlock;
}

export interface RenderJob {
  readonly snapshot: SnapshotData;
  readonly homepage: string | undefined;
  readonly expires: string;
  /** The absolute URL of each format, when lists.public_url is set. */
  readonly urls: Readonly<Record<string, string>> | undefined;
  /** Where the changelog is served, for the "Changes:" header line (absent: no changelog). */
  readonly changes?: string | undefined;
}

/** A network list's job: every network format (render/networks.ts). */
export interface NetworkRenderJob {
  readonly kind: 'networks';
  readonly list: NetworkListSnapshot;
  readonly homepage: string | undefined;
  readonly expires: string;
  readonly urls: Readonly<Record<string, string>> | undefined;
}

export type FromRenderWorker = { t: 'file'; file: RenderedFile } | { t: 'done' } | { t: 'error'; message: string };

/** The worker sits next to this file: src/ (TypeScript, type-stripped) or dist/ (compiled). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './render-worker.ts' : './render-worker.js', import.meta.url);

let queue: Promise<unknown> = Promise.resolve();

/** Renders every format of `snapshot` off the event loop; files in RENDERERS order. */
export function renderInWorker(
  snapshot: ListSnapshot,
  homepage: string | undefined,
  expires: string,
  urls: Record<string, string> | undefined,
  changes?: string,
): Promise<RenderedFile[]> {
  const run = async (): Promise<RenderedFile[]> => {
    const data = await snapshotData(snapshot);
    const job = { snapshot: data, homepage, expires, urls, changes };
    return data.names === undefined && (data.domains?.length ?? 0) <= INLINE_RENDER_MAX ? renderHere(job, data.domains ?? []) : runJob(job);
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Renders every format of a network list (off the event loop when it is big); files in NETWORK_RENDERERS order. */
export function renderNetworksInWorker(list: NetworkListSnapshot, homepage: string | undefined, expires: string, urls: Record<string, string> | undefined): Promise<RenderedFile[]> {
  const job: NetworkRenderJob = { kind: 'networks', list, homepage, expires, urls };
  const run = async (): Promise<RenderedFile[]> => (list.entries.length <= INLINE_RENDER_MAX ? renderNetworksHere(job) : runJob(job));
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Plain data for the worker: a set's names as typed arrays (strings would be built here), else the arrays as they are. */
async function snapshotData(s: ListSnapshot): Promise<SnapshotData> {
  const common = {
    name: s.name,
    title: s.title,
    description: s.description,
    version: s.version,
    lastModified: s.lastModified,
    license: s.license,
    hosts: s.hosts,
    provenance: s.provenance,
    sourceCodes: s.sourceCodes,
    origin: s.origin,
  };
  if (!s.set) return { ...common, domains: s.domains };
  // A small set's names are sorted here, as the worker sorts a big one's.
  return s.set.size > INLINE_RENDER_MAX ? { ...common, names: await s.set.exportNames() } : { ...common, domains: s.set.toSortedArray() };
}

/** A small list's files, rendered as the worker would (same snapshot fields, same order), here. */
async function renderHere(job: RenderJob, domains: readonly string[]): Promise<RenderedFile[]> {
  const snapshot: ListSnapshot = { ...job.snapshot, domains };
  const files: RenderedFile[] = [];
  try {
    for (const renderer of RENDERERS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const text = renderer.render(snapshot, { homepage: job.homepage, expires: job.expires, url: job.urls?.[renderer.format], changes: job.changes });
      files.push(await renderedFile(renderer.format, renderer.fileName(snapshot.name), renderer.contentType, text));
    }
  } catch (error) {
    throw new Error(`rendering list "${snapshot.name}" failed: ${(error as Error).message}`, { cause: error });
  }
  return files;
}

/** A small network list's files, rendered as the worker would, here. */
async function renderNetworksHere(job: NetworkRenderJob): Promise<RenderedFile[]> {
  const files: RenderedFile[] = [];
  try {
    for (const renderer of NETWORK_RENDERERS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const text = renderer.render(job.list, { homepage: job.homepage, expires: job.expires, url: job.urls?.[renderer.format] });
      files.push(await renderedFile(renderer.format, renderer.fileName(job.list.name), renderer.contentType, text));
    }
  } catch (error) {
    throw new Error(`rendering list "${job.list.name}" failed: ${(error as Error).message}`, { cause: error });
  }
  return files;
}

function runJob(job: RenderJob | NetworkRenderJob): Promise<RenderedFile[]> {
  const names = 'snapshot' in job ? job.snapshot.names : undefined;
  const transfer = names ? [names.pool.buffer] : [];
  const listName = 'snapshot' in job ? job.snapshot.name : job.list.name;
  const worker = new Worker(WORKER_URL, { workerData: job, transferList: transfer as ArrayBuffer[], name: `dnsward-render-${listName}` });
  // Rendering never answers DNS: it yields to the threads that do (thread-priority.ts).
  worker.once('online', () => lowerBackgroundThreads());
  return new Promise<RenderedFile[]>((resolve, reject) => {
    const files: RenderedFile[] = [];
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(new Error(`rendering list "${listName}" failed: ${message}`));
    };
    worker.on('message', (m: FromRenderWorker) => {
      if (m.t === 'file') files.push(fromWorker(m.file));
      else if (m.t === 'error') fail(m.message);
      else if (!settled) {
        settled = true;
        resolve(files);
      }
    });
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`the render worker exited (code ${code}) before it finished`));
  });
}

/** Bodies arrive as Uint8Arrays over transferred memory; the feed serves Buffers. */
function fromWorker(file: RenderedFile): RenderedFile {
  const buffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  return { ...file, body: buffer(file.body), gzip: buffer(file.gzip), br: buffer(file.br) };
}
