// Gives back the heap pages that a start's garbage filled (a million-name list parsed, its
// download read, the config and lists checked), once, before DNS answers anything.
//
// V8 keeps the old generation's pages committed after its ordinary collections, and its
// memory reducer, which would shrink them, did not run in 20 s of an idle dnsward after a
// start (bench/memory.ts --timeline with --trace-gc). A "last-resort" full collection (what V8
// does on a low-memory notification: compaction, the young generation shrunk, free pages
// unmapped) gave back about 20 MB of a 143 MB first start in 35-40 ms; an ordinary full one
// far less (docs/BENCHMARKS.md, stop 33). Node has no API for it but the gc() that
// --expose-gc installs: bin/dnsward passes that flag, and its serve command starts the replica
// (app.ts). Without the flag this does nothing (`node bin/dnsward`, a test runner). V8's gc()
// ignores options it does not know, so the test checks that this frees what an ordinary one leaves.

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

/** MiB, as bench/memory.ts and the docs count (one decimal). */
const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** One memory-reducing full collection when the process runs with --expose-gc; undefined otherwise. */
export function releaseMemory(): MemoryReleased | undefined {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  if (typeof gc !== 'function') return undefined;
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { ms: Math.round(performance.now() - started), rssBeforeMB: mb(rssBefore), rssAfterMB: mb(process.memoryUsage.rss()) };
}
