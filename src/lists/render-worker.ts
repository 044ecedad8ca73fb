// Worker thread entry (started by render-thread.ts): renders every format of one list, hashes
// and compresses each body, and posts it back (memory transferred, not copied), one format at a
// time so that only one body's strings and buffers are alive here at once.
import { parentPort, workerData } from 'node:worker_threads';
import { DomainSet } from './domain-set.ts';
import { RENDERERS } from './render/index.ts';
import { NETWORK_RENDERERS } from './render/networks.ts';
import { type RenderedFile, renderedFileSync } from './rendered-file.ts';
import type { FromRenderWorker, NetworkRenderJob, RenderJob } from './render-thread.ts';
import type { ListSnapshot } from './types.ts';

const port = parentPort;
if (!port) throw new Error('render-worker.ts runs as a worker thread (render-thread.ts starts it)');

/** An ArrayBuffer of its own for each body: small Buffers share Node's pool, which must not be transferred. */
function own(buffer: Buffer): Buffer {
  if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength) return buffer;
  const copy = new Uint8Array(buffer.byteLength);
  copy.set(buffer);
  return Buffer.from(copy.buffer);
}

function post(format: string, fileName: string, contentType: string, text: string): void {
  const made = renderedFileSync(format, fileName, contentType, text);
  const file: RenderedFile = { ...made, body: own(made.body), gzip: own(made.gzip), br: own(made.br) };
  port?.postMessage({ t: 'file', file } satisfies FromRenderWorker, [file.body.buffer, file.gzip.buffer, file.br.buffer] as ArrayBuffer[]);
}

try {
  const job = workerData as RenderJob | NetworkRenderJob;
  if ('kind' in job) {
    for (const renderer of NETWORK_RENDERERS) {
      post(renderer.format, renderer.fileName(job.list.name), renderer.contentType, renderer.render(job.list, { homepage: job.homepage, expires: job.expires, url: job.urls?.[renderer.format] }));
    }
  } else {
    const { names, domains, ...rest } = job.snapshot;
    const snapshot: ListSnapshot = { ...rest, domains: names ? DomainSet.names(names).sort() : (domains ?? []) };
    for (const renderer of RENDERERS) {
      const text = renderer.render(snapshot, { homepage: job.homepage, expires: job.expires, url: job.urls?.[renderer.format], changes: job.changes });
      post(renderer.format, renderer.fileName(snapshot.name), renderer.contentType, text);
    }
  }
  port.postMessage({ t: 'done' } satisfies FromRenderWorker);
} catch (error) {
  port.postMessage({ t: 'error', message: (error as Error).message } satisfies FromRenderWorker);
}
