import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'bench', 'latency-shape.ts');

/** A dnsperf -v file: 2,000 answers at 0.05 ms, one stall of 20 answers at 1 ms, 5 slow answers alone, a timeout. */
function verboseFile(): string {
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const stalled = i >= 1000 && i < 1020;
    const alone = i % 400 === 7;
    lines.push(`> NOERROR c${i}.bench.test A ${stalled ? '0.001000' : alone ? '0.000500' : '0.000050'}`);
  }
  lines.push('> T c9.bench.test A', '', 'Statistics:', '  Queries sent: 2001');
  const file = join(mkdtempSync(join(tmpdir(), 'dnsward-latency-shape-')), 'latency-dnsward-blocked-1.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('bench/latency-shape.ts', () => {
  it('tells a stall (a run of consecutive slow answers) from slow answers alone', () => {
    const out = execFileSync(process.execPath, [SCRIPT, '--qps', '20000', '--over', '0.2', verboseFile()], { encoding: 'utf8' });
    expect(out).toContain('2000 answers (~0.1 s)');
    // 25 answers over 0.2 ms: the stall's 20 in one run, and 5 alone.
    expect(out).toContain('over 0.200 ms: 25 answers in 6 runs');
    expect(out).toMatch(/answers by run length: 1 \([\d.]+ ms\) 20%, 2-3 \([\d.]+ ms\) 0%, 4-10 \([\d.]+ ms\) 0%, 11-50 \([\d.]+ ms\) 80%/);
    // The run's p99 (20 of 2,000 answers are slower than the 99th percentile's 0.5 ms) is the stall alone.
    expect(out).toContain('over 0.500 ms: 20 answers in 1 runs');
  });

  it('refuses a misspelt option with the usage and exit status 2', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--qpz', '1', 'x'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--qpz'");
    expect(run.stderr).toContain('usage: node bench/latency-shape.ts');
  });
});
