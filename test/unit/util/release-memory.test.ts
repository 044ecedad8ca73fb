// Run in a child with bin/dnsward's own Node flags: gc() exists only when the process starts
// with --expose-gc, and what a collection gives back shows only in a fresh process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { shebangFlags } from '../../../bench/lib/servers.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'dnsward');
const MODULE = pathToFileURL(join(ROOT, 'src', 'util', 'release-memory.ts')).href;

// What a list load leaves: objects that survived long enough to reach the old generation, then
// died (most of them), beside a part that stays. Reports the heap before and after the release.
const SCRIPT = `
import { getHeapStatistics } from 'node:v8';
const { releaseMemory } = await import(process.env.MODULE);
const kept = [];
let garbage = [];
for (let round = 0; round < 6; round++) {
  for (let i = 0; i < 200000; i++) {
    const o = { i, name: 'name-' + round + '-' + i };
    garbage.push(o);
    if (i % 20 === 0) kept.push(o);
  }
}
garbage = undefined;
const heapMb = () => getHeapStatistics().total_heap_size / 1048576;
// An ordinary full collection first (where one exists): what the release adds must be beyond it.
// V8's gc() ignores options it does not know, so a misspelt flavor would only show here.
if (typeof globalThis.gc === 'function') globalThis.gc();
const before = heapMb();
console.log('-- release --');
const released = releaseMemory();
console.log(JSON.stringify({ before, after: heapMb(), released: released ?? null, kept: kept.length }));
`;

const scriptDir = mkdtempSync(join(tmpdir(), 'dnsward-release-memory-'));
const script = join(scriptDir, 'release.mjs');
writeFileSync(script, SCRIPT);
afterAll(() => rmSync(scriptDir, { recursive: true, force: true }));

interface Outcome {
  before: number;
  after: number;
  released: { ms: number; rssBeforeMB: number; rssAfterMB: number } | null;
  kept: number;
}

/** The outcome, and V8's --trace-gc lines printed during the release. */
function run(flags: string[]): Outcome & { traced: string } {
  const out = execFileSync(process.execPath, [...flags, '--trace-gc', script], { encoding: 'utf8', env: { ...process.env, MODULE } });
  const lines = out.trim().split('\n');
  // V8's trace lines share stdout and may follow the outcome (a collection that ends as the process exits).
  const outcomeAt = lines.findLastIndex((line) => line.startsWith('{'));
  const during = lines.slice(lines.indexOf('-- release --') + 1, outcomeAt);
  return { ...(JSON.parse(lines[outcomeAt] as string) as Outcome), traced: during.join('\n') };
}

describe('releaseMemory', () => {
  it("with bin/dnsward's flags, gives back the heap that dead old objects filled, and says what it did", () => {
    const flags = shebangFlags(BIN);
    expect(flags).toContain('--expose-gc');
    const outcome = run(flags);
    expect(outcome.kept).toBe(60_000);
    expect(outcome.released).not.toBeNull();
    const released = outcome.released as NonNullable<Outcome['released']>;
    expect(released.ms).toBeGreaterThanOrEqual(0);
    // A memory-reducing collection (V8 marks it "reduce"), which an ordinary gc() is not ...
    expect(outcome.traced).toMatch(/Mark-Compact \(reduce\)/);
    // ... and the heap V8 holds shrinks well beyond what the ordinary collection before it left (it gave
    // back 40-50 MB more here) ...
    expect(outcome.before - outcome.after).toBeGreaterThan(10);
    // ... and so does the process's resident memory.
    expect(released.rssBeforeMB - released.rssAfterMB).toBeGreaterThan(5);
  }, 60_000);

  it('does nothing in a process started without --expose-gc (node bin/dnsward, a test runner)', () => {
    const outcome = run(shebangFlags(BIN).filter((f) => f !== '--expose-gc'));
    expect(outcome.released).toBeNull();
    // (An ordinary collection begun by the allocations may still end after the marker: only a reducing one counts.)
    expect(outcome.traced).not.toMatch(/Mark-Compact \(reduce\)/);
    expect(outcome.kept).toBe(60_000);
  }, 60_000);
});
