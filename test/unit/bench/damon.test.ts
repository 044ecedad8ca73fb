import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeDamon, findDamonMonitors, pauseDamon } from '../../../bench/lib/damon.ts';

// The layout of /sys/kernel/mm/damon/admin, written to a temp dir: the bench must never turn
// the real monitors off from a test.
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

function adminTree(kdamonds: { state: string; operations?: string; sampleUs?: string; actions?: string[] }[]): string {
  const admin = mkdtempSync(join(tmpdir(), 'dnsward-damon-'));
  roots.push(admin);
  mkdirSync(join(admin, 'kdamonds'));
  writeFileSync(join(admin, 'kdamonds', 'nr_kdamonds'), `${kdamonds.length}\n`);
  kdamonds.forEach((k, i) => {
    const dir = join(admin, 'kdamonds', String(i));
    write(join(dir, 'state'), `${k.state}\n`);
    const context = join(dir, 'contexts', '0');
    if (k.operations !== undefined) write(join(context, 'operations'), `${k.operations}\n`);
    if (k.sampleUs !== undefined) write(join(context, 'monitoring_attrs', 'intervals', 'sample_us'), `${k.sampleUs}\n`);
    (k.actions ?? []).forEach((action, j) => write(join(context, 'schemes', String(j), 'action'), `${action}\n`));
  });
  return admin;
}

const stateOf = (admin: string, index: number): string => readFileSync(join(admin, 'kdamonds', String(index), 'state'), 'utf8').trim();

describe('bench DAMON monitors', () => {
  it('reads each kdamond: state, operations, sampling interval and scheme actions', () => {
    const admin = adminTree([
      { state: 'on', operations: 'paddr', sampleUs: '500000', actions: ['pageout'] },
      { state: 'off', operations: 'vaddr' },
    ]);
    const monitors = findDamonMonitors(admin);
    expect(monitors.map(({ index, state, operations, sampleUs, actions }) => ({ index, state, operations, sampleUs, actions }))).toEqual([
      { index: '0', state: 'on', operations: 'paddr', sampleUs: 500_000, actions: ['pageout'] },
      { index: '1', state: 'off', operations: 'vaddr', sampleUs: undefined, actions: [] },
    ]);
    expect(describeDamon(monitors)).toBe(
      'DAMON: kdamond 0 on (paddr, samples every 500 ms, pageout); kdamond 1 off (vaddr): its passes stall a CPU for milliseconds, expect them in the p99 (--pause-damon)',
    );
    expect(describeDamon(monitors, true)).toBe('DAMON: kdamond 0 on (paddr, samples every 500 ms, pageout); kdamond 1 off (vaddr): paused for this run (--pause-damon)');
  });

  it('says so where there is no DAMON, and gives no warning when every kdamond is off', () => {
    expect(findDamonMonitors(join(tmpdir(), 'no-such-damon-dir'))).toEqual([]);
    expect(describeDamon([])).toBe('DAMON: no kdamond');
    expect(describeDamon(findDamonMonitors(adminTree([{ state: 'off' }])))).toBe('DAMON: kdamond 0 off');
  });

  it('pauses the running monitors only, and turns them on again once however often resume is called', () => {
    const admin = adminTree([{ state: 'on' }, { state: 'off' }, { state: 'on' }]);
    const resume = pauseDamon(findDamonMonitors(admin));
    expect([0, 1, 2].map((i) => stateOf(admin, i))).toEqual(['off', 'off', 'off']);
    resume();
    expect([0, 1, 2].map((i) => stateOf(admin, i))).toEqual(['on', 'off', 'on']);
    writeFileSync(join(admin, 'kdamonds', '0', 'state'), 'off\n');
    resume();
    expect(stateOf(admin, 0)).toBe('off');
  });

  it('names the file it cannot write, and turns back on what it had already paused', () => {
    const admin = adminTree([{ state: 'on' }, { state: 'on' }]);
    const monitors = findDamonMonitors(admin);
    // A state that cannot be written: a directory where the file should be.
    const blocked = join(admin, 'kdamonds', '1', 'state');
    rmSync(blocked);
    mkdirSync(blocked);
    expect(() => pauseDamon(monitors)).toThrow(`cannot turn kdamond 1 off (${blocked}`);
    expect(stateOf(admin, 0)).toBe('on');
  });
});
