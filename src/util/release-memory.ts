// Gives back the heap pages that a start's garbage filled (a million-name list parsed, its
// download read, the config and lists checked), once, before DNS answers anything.
//
// V8 keeps the old generation's pages committed after its ordinary collections, and its
// memory reducer, which would shrink them, did not run in 20 s of an idle dnsward after a
// start (bench/memory.ts --timeline with --trace-gc). A "last-resort" full collection (what V8
// does on a low-memory notification: compaction, the young generation shrunk, free pages
// unmapped) gave back 20-22 MB of a 150 MB first start in 35-40 ms; an ordinary full one
// almost nothing (docs/BENCHMARKS.md, stop 33). Node has no API for it but the gc() that
// --expose-gc installs: bin/dnsward passes that flag. Without it (an embedding host, a test
// runner) this does nothing: another program's heap is its own business.

interface GcOptions {
  type: 'major';
  execution: 'sync';
  flavor: 'last-resort';
}

export interface MemoryReleased {
  ms: number;
  rssBeforeMB: number;
  rssAfterMB: number;
}

const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

/** One memory-reducing full collection when the process runs with --expose-gc; undefined otherwise. */
export function releaseMemory(): MemoryReleased | undefined {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  if (typeof gc !== 'function') return undefined;
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { ms: Math.round(performance.now() - started), rssBeforeMB: mb(rssBefore), rssAfterMB: mb(process.memoryUsage.rss()) };
}
