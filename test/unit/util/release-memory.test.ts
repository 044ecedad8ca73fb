// Run in a child with bin/dnsward's own Node flags: gc() exists only when the process starts
// with --expose-gc, and what a collection gives back shows only in a fresh process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
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
const before = heapMb();
const released = releaseMemory();
console.log(JSON.stringify({ before, after: heapMb(), released: released ?? null, kept: kept.length }));
`;

const script = join(mkdtempSync(join(tmpdir(), 'dnsward-release-memory-')), 'release.mjs');
writeFileSync(script, SCRIPT);

interface Outcome {
  before: number;
  after: number;
  released: { ms: number; rssBeforeMB: number; rssAfterMB: number } | null;
  kept: number;
}

function run(flags: string[]): Outcome {
  return JSON.parse(execFileSync(process.execPath, [...flags, script], { encoding: 'utf8', env: { ...process.env, MODULE } })) as Outcome;
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
    // The heap V8 holds shrinks by most of what the dead objects took (tens of MB here) ...
    expect(outcome.before - outcome.after).toBeGreaterThan(10);
    // ... and so does the process's resident memory.
    expect(released.rssBeforeMB - released.rssAfterMB).toBeGreaterThan(5);
  }, 60_000);

  it('does nothing in a process started without --expose-gc (an embedding host, a test runner)', () => {
    const outcome = run(shebangFlags(BIN).filter((f) => f !== '--expose-gc'));
    expect(outcome.released).toBeNull();
    expect(outcome.kept).toBe(60_000);
  }, 60_000);
});
