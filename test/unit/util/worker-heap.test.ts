// Run in a child with bin/dnsward's own Node flags: the young generation is fixed at start, so
// only a fresh process shows what the flags and smallWorkerYoungGeneration() give each thread.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { shebangFlags } from '../../../bench/lib/servers.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'dnsward');
const MODULE = pathToFileURL(join(ROOT, 'src', 'util', 'worker-heap.ts')).href;

// Each thread allocates well past its young generation, then reports the new space's size
// (both halves, in MB): V8 grows it to its maximum under allocation that survives.
const SCRIPT = `
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { getHeapSpaceStatistics } from 'node:v8';
const newSpaceMb = () => {
  const keep = [];
  for (let i = 0; i < 400000; i++) keep.push({ i });
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576 + (keep.length > 0 ? 0 : 1);
};
if (isMainThread) {
  const { smallWorkerYoungGeneration } = await import(process.env.MODULE);
  if (process.env.RESET === '1') smallWorkerYoungGeneration();
  const main = newSpaceMb();
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url));
    w.once('message', resolve);
    w.once('error', reject);
  });
  console.log(JSON.stringify({ main, worker }));
} else {
  parentPort.postMessage(newSpaceMb());
}
`;

const script = join(mkdtempSync(join(tmpdir(), 'dnsward-worker-heap-')), 'threads.mjs');
writeFileSync(script, SCRIPT);

function measure(reset: boolean): { main: number; worker: number } {
  const flags = shebangFlags(BIN);
  const out = execFileSync(process.execPath, [...flags, script], { encoding: 'utf8', env: { ...process.env, MODULE, RESET: reset ? '1' : '0' } });
  return JSON.parse(out) as { main: number; worker: number };
}

describe('smallWorkerYoungGeneration', () => {
  it("keeps the main thread's 8 MB halves and gives worker threads at most 2 MB ones (without it, they get 8 too)", () => {
    expect(shebangFlags(BIN)).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--min-semi-space-size=8']));
    const before = measure(false);
    expect(before).toEqual({ main: 16, worker: 16 });
    const after = measure(true);
    expect(after.main).toBe(16);
    // Two 2 MB halves; V8 sometimes counts one more 256 KB page in the space (4.25 seen once in CI, stop 32).
    expect(after.worker).toBeLessThanOrEqual(4.5);
  }, 60_000);
});
