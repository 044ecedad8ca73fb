// Renders a list's files (every format, with SHA-256, gzip and brotli) in a worker thread
// (render-worker.ts), so the event loop that answers DNS never does that work: a million-name
// list takes seconds of CPU to sort, render and compress. The main thread only copies the
// names out (a few ms) and receives the finished bodies (transferred, not copied).
// One render at a time: each holds a list's worth of strings and bodies in memory.
import { Worker } from 'node:worker_threads';
import type { NameBlock } from './domain-set.ts';
import type { NetworkListSnapshot } from './network-list.ts';
import type { RenderedFile } from './rendered-file.ts';
import type { ListSnapshot } from './types.ts';

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
  const run = async (): Promise<RenderedFile[]> => runJob({ snapshot: await snapshotData(snapshot), homepage, expires, urls, changes });
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Renders every format of a network list off the event loop; files in NETWORK_RENDERERS order. */
export function renderNetworksInWorker(list: NetworkListSnapshot, homepage: string | undefined, expires: string, urls: Record<string, string> | undefined): Promise<RenderedFile[]> {
  const run = async (): Promise<RenderedFile[]> => runJob({ kind: 'networks', list, homepage, expires, urls });
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
  return s.set ? { ...common, names: await s.set.exportNames() } : { ...common, domains: s.domains };
}

function runJob(job: RenderJob | NetworkRenderJob): Promise<RenderedFile[]> {
  const names = 'snapshot' in job ? job.snapshot.names : undefined;
  const transfer = names ? [names.pool.buffer, names.offsets.buffer, names.lengths.buffer] : [];
  const listName = 'snapshot' in job ? job.snapshot.name : job.list.name;
  const worker = new Worker(WORKER_URL, { workerData: job, transferList: transfer as ArrayBuffer[], name: `dnsward-render-${listName}` });
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
