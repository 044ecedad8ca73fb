// DAMON, the kernel's Data Access MONitor, on the bench machine. Some VMs run a kdamond that
// samples physical memory every 500 ms and pages out what is cold. Each pass held a CPU for
// ~3.6 ms in a `perf sched` trace (docs/BENCHMARKS.md, stop 24). That is long enough to set
// the p99 of every resolver at 20k qps, dnsmasq's included. The bench names the monitors in
// its machine line, and `--pause-damon` turns them off for the run and on again after.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DAMON_ADMIN = '/sys/kernel/mm/damon/admin';

export interface DamonMonitor {
  /** The kdamond's directory: its `state` file turns it on and off. */
  dir: string;
  /** Its index under kdamonds/. */
  index: string;
  /** "on" or "off". */
  state: string;
  /** Of its first context: "paddr" (physical memory), "vaddr" (processes), ... */
  operations: string | undefined;
  /** Of its first context, in microseconds. */
  sampleUs: number | undefined;
  /** The actions of its first context's schemes ("pageout", "lru_prio", ...). */
  actions: string[];
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
}

/** Every kdamond under `admin` (none where DAMON is not built in, or the directory is unreadable). */
export function findDamonMonitors(admin = DAMON_ADMIN): DamonMonitor[] {
  const kdamonds = join(admin, 'kdamonds');
  return entries(kdamonds).map((index) => {
    const dir = join(kdamonds, index);
    const context = join(dir, 'contexts', '0');
    const sample = read(join(context, 'monitoring_attrs', 'intervals', 'sample_us'));
    const schemes = join(context, 'schemes');
    return {
      dir,
      index,
      state: read(join(dir, 'state')) ?? 'unknown',
      operations: read(join(context, 'operations')),
      sampleUs: sample === undefined || !/^\d+$/.test(sample) ? undefined : Number(sample),
      actions: entries(schemes).flatMap((scheme) => read(join(schemes, scheme, 'action')) ?? []),
    };
  });
}

/** One line for the machine description: what runs, how often, what it does, and whether the run paused it. */
export function describeDamon(monitors: readonly DamonMonitor[], paused = false): string {
  if (monitors.length === 0) return 'DAMON: no kdamond';
  const parts = monitors.map((m) => {
    const details = [m.operations, m.sampleUs === undefined ? undefined : `samples every ${m.sampleUs / 1000} ms`, ...m.actions].filter((d) => d !== undefined);
    return `kdamond ${m.index} ${m.state}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  });
  const running = monitors.some((m) => m.state === 'on');
  const note = !running ? '' : paused ? ': paused for this run (--pause-damon)' : ': its passes stall a CPU for milliseconds, expect them in the p99 (--pause-damon)';
  return `DAMON: ${parts.join('; ')}${note}`;
}

/**
 * Turns every running kdamond off; returns what turns them on again (idempotent, synchronous,
 * so that it can run in an 'exit' handler). Throws, naming the file, where a state cannot be
 * written (not root): the caller reports it and runs with DAMON on.
 */
export function pauseDamon(monitors: readonly DamonMonitor[]): () => void {
  const paused: DamonMonitor[] = [];
  for (const m of monitors) {
    if (m.state !== 'on') continue;
    const state = join(m.dir, 'state');
    try {
      writeFileSync(state, 'off\n');
    } catch (error) {
      resume(paused);
      throw new Error(`cannot turn kdamond ${m.index} off (${state}: ${(error as Error).message})`, { cause: error });
    }
    paused.push(m);
  }
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    resume(paused);
  };
}

function resume(paused: readonly DamonMonitor[]): void {
  for (const m of paused) {
    try {
      writeFileSync(join(m.dir, 'state'), 'on\n');
    } catch (error) {
      process.stderr.write(`bench: could not turn kdamond ${m.index} back on: ${(error as Error).message} (echo on > ${join(m.dir, 'state')})\n`);
    }
  }
}

/**
 * --pause-damon of a bench script: the monitors off for the run, on again at exit (whatever the
 * exit); returns what the machine line says of DAMON (`found` with the failure when not root).
 */
export function pauseDamonForRun(found: string): string {
  const monitors = findDamonMonitors();
  try {
    process.on('exit', pauseDamon(monitors));
    return describeDamon(monitors, true);
  } catch (error) {
    return `${found}; --pause-damon failed: ${(error as Error).message}`;
  }
}
