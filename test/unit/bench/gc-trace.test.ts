// The bench's reading of V8's --trace-gc-nvp lines, on lines this Node really prints.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGcLine, parseGcTrace, readFrom, summarizeGc } from '../../../bench/lib/gc-trace.ts';

/** Allocates ~40 MB of short-lived objects (scavenges), then asks for two full collections. */
const SCRIPT = 'let keep; for (let i = 0; i < 400000; i++) keep = { i, s: "x".repeat(i % 64) }; globalThis.gc(); globalThis.gc(); console.log("done", keep.i);';

describe('parseGcTrace', () => {
  const output = execFileSync(process.execPath, ['--trace-gc-nvp', '--expose-gc', '--max-semi-space-size=1', '-e', SCRIPT], { encoding: 'utf8' });

  it('counts the scavenges and the full collections Node printed, and what was allocated', () => {
    const window = parseGcTrace(output);
    expect(window.scavenges).toBeGreaterThan(5);
    expect(window.scavengePausesMs).toHaveLength(window.scavenges);
    expect(window.fullPausesMs.length).toBeGreaterThanOrEqual(2);
    // At least the ~40 MB the loop made: the new space between scavenges is counted.
    expect(window.allocatedBytes).toBeGreaterThan(20e6);
    expect(output).toContain('done 399999');
  });

  it('summarizes per second and per query, and skips lines that are not the collector’s', () => {
    const window = parseGcTrace(`${output}\n{"level":40,"msg":"a log line of dnsward's own, gc=s in its text"}\nnot a gc line\n`);
    expect(window.scavenges).toBe(parseGcTrace(output).scavenges);
    const summary = summarizeGc(window, 2, 1000);
    expect(summary.scavengesPerSecond).toBe(window.scavenges / 2);
    expect(summary.bytesPerQuery).toBe(window.allocatedBytes / 1000);
    expect(summary.fullGcs).toBe(window.fullPausesMs.length);
    expect(summary.scavengePauseMaxMs).toBe(Math.max(...window.scavengePausesMs));
  });

  it("reads each line's isolate and, for a scavenge, its helpers' time", () => {
    const lines = output.split('\n').map(parseGcLine).filter((gc) => gc !== undefined);
    expect(lines).toHaveLength(parseGcTrace(output).scavenges + parseGcTrace(output).fullPausesMs.length);
    expect(new Set(lines.map((gc) => gc.isolate)).size).toBe(1);
    expect(lines[0]?.isolate).toMatch(/^0x[0-9a-f]+$/);
    for (const gc of lines.filter((l) => l.kind === 's')) expect(gc.helperMs).toBeGreaterThanOrEqual(0);
    expect(parseGcLine('[1:0x1]   5 ms: pause=0.2 mutator=1 gc=s allocated=8')).toEqual({ isolate: '0x1', pauseMs: 0.2, kind: 's', allocatedBytes: 8, helperMs: undefined });
    expect(parseGcLine('{"msg":"gc=s"}')).toBeUndefined();
  });

  it('reads what a file gained after an offset', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gc-trace-')), 'trace.log');
    writeFileSync(file, 'before\nafter\n');
    expect(await readFrom(file, 'before\n'.length)).toBe('after\n');
  });
});
