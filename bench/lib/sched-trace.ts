// What held the CPU while a resolver's DNS thread had work waiting (`npm run bench -- --sched-trace`),
// from the kernel's scheduler events: `perf sched record` during a fixed-rate latency run, then
// `perf sched timehist --state`, one line per time slice of every thread. The DNS thread was
// runnable but not running during its scheduling delay after a wakeup, and during the whole wait
// after it was preempted (state R): perf before 6.11 prints that wait with a delay of 0, later
// ones with a delay equal to it, so the wait alone counts. Whatever ran on its CPU meanwhile held it: V8's helper threads,
// libuv's pool, dnsperf, another service. This is how stop 27 found V8's concurrent marking holding
// both CPUs for 18-24 ms (docs/BENCHMARKS.md).
import { rm } from 'node:fs/promises';
import { runToEnd } from './procs.ts';

export const PERF = 'perf';

/** One time slice of one thread, as `perf sched timehist --state` prints it. */
export interface SchedSlice {
  /** When the slice ended (ms, the trace's clock). */
  endMs: number;
  cpu: number;
  /** The thread's name (comm), without the [tid/pid] suffix. */
  name: string;
  tid: number;
  pid: number;
  waitMs: number;
  delayMs: number;
  runMs: number;
  /** State at the switch-out: R preempted, S sleeping, D uninterruptible, I idle. */
  state: string;
}

// "    6134.432429 [0001]  MainThread[2005]     0.068      0.008      0.030      S"
// "    6134.432443 [0000]  dnsperf[2041/2039]   0.079      0.009      0.019      S"
const LINE = /^\s*(\d+\.\d+)\s+\[(\d+)\]\s+(.+?)\[(\d+)(?:\/(\d+))?\]\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\S+)\s*$/;

/** The slices of `text` (headers, `<idle>` lines and anything else are skipped). */
export function parseTimehist(text: string): SchedSlice[] {
  const slices: SchedSlice[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const tid = Number(m[4]);
    slices.push({
      endMs: Number(m[1]) * 1000,
      cpu: Number(m[2]),
      name: m[3] as string,
      tid,
      pid: m[5] === undefined ? tid : Number(m[5]),
      waitMs: Number(m[6]),
      delayMs: Number(m[7]),
      runMs: Number(m[8]),
      state: m[9] as string,
    });
  }
  return slices;
}

export interface SchedSummary {
  /** Length of the trace (ms). */
  windowMs: number;
  /** Time the DNS thread was runnable but not running, per second of trace (ms/s). */
  waitingMsPerS: number;
  /** Such waits longer than 0.5 ms, per second. */
  longWaitsPerS: number;
  longestWaitMs: number;
  /** The DNS thread's own slices longer than 0.2 ms, per second, and their share of the time. */
  longRunsPerS: number;
  longRunsShare: number;
  /** Who ran on the DNS thread's CPU while it waited, most first (ms/s); `own`: a thread of the resolver's process. */
  heldBy: { name: string; own: boolean; msPerS: number }[];
}

/** A time the DNS thread was runnable but not running, on the CPU it then ran on. */
interface Wait {
  cpu: number;
  start: number;
  end: number;
}

/** The DNS thread's waits in `slices` (thread `tid` of process `pid`), and who held its CPU meanwhile. */
export function summarizeSched(slices: readonly SchedSlice[], pid: number, tid = pid): SchedSummary {
  // A loop, not Math.max(...): a few seconds of trace are a few hundred thousand slices.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of slices) {
    first = Math.min(first, s.endMs - s.runMs);
    last = Math.max(last, s.endMs);
  }
  const windowMs = slices.length > 0 ? last - first : 0;
  const perS = (n: number): number => (windowMs > 0 ? (n * 1000) / windowMs : 0);
  // The DNS thread's waits: [start, end) on the CPU it then ran on, in time order and disjoint
  // (one thread waits once at a time), so both ends increase.
  const waits: Wait[] = [];
  let preempted = false;
  let waitingMs = 0;
  let longWaits = 0;
  let longestWaitMs = 0;
  let longRuns = 0;
  let longRunMs = 0;
  for (const s of slices) {
    if (s.tid !== tid || s.pid !== pid) continue;
    const start = s.endMs - s.runMs;
    const waited = preempted ? s.waitMs : s.delayMs;
    if (waited > 0) {
      waits.push({ cpu: s.cpu, start: start - waited, end: start });
      waitingMs += waited;
      if (waited > 0.5) longWaits++;
      longestWaitMs = Math.max(longestWaitMs, waited);
    }
    preempted = s.state === 'R';
    if (s.runMs > 0.2) {
      longRuns++;
      longRunMs += s.runMs;
    }
  }
  const held = new Map<string, { name: string; own: boolean; ms: number }>();
  for (const s of slices) {
    if (s.tid === tid && s.pid === pid) continue;
    const start = s.endMs - s.runMs;
    // The first wait that ends after this slice starts; the overlapping ones follow it.
    let lo = 0;
    let hi = waits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((waits[mid] as Wait).end <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < waits.length && (waits[i] as Wait).start < s.endMs; i++) {
      const w = waits[i] as Wait;
      if (w.cpu !== s.cpu) continue;
      const own = s.pid === pid;
      const key = `${s.name}\u0000${own}`;
      const entry = held.get(key) ?? { name: s.name, own, ms: 0 };
      entry.ms += Math.min(w.end, s.endMs) - Math.max(w.start, start);
      held.set(key, entry);
    }
  }
  return {
    windowMs,
    waitingMsPerS: perS(waitingMs),
    longWaitsPerS: perS(longWaits),
    longestWaitMs,
    longRunsPerS: perS(longRuns),
    longRunsShare: windowMs > 0 ? longRunMs / windowMs : 0,
    heldBy: [...held.values()].sort((a, b) => b.ms - a.ms).map((e) => ({ name: e.name, own: e.own, msPerS: perS(e.ms) })),
  };
}

/** Records the scheduler for `seconds` into `file` (perf sched needs root, or kernel.perf_event_paranoid = -1 and tracefs access). */
export async function recordSched(file: string, seconds: number): Promise<void> {
  const { code, output } = await runToEnd('perf-sched', PERF, ['sched', 'record', '-o', file, '--', 'sleep', String(seconds)]);
  if (code !== 0) throw new Error(`perf sched record failed (exit ${code}): ${output.trim().slice(-300)}`);
}

/** The slices of a recorded trace (the file is removed: a few seconds make ~50 MB). */
export async function readSched(file: string): Promise<SchedSlice[]> {
  try {
    const { code, output } = await runToEnd('perf-timehist', PERF, ['sched', 'timehist', '--state', '-i', file]);
    if (code !== 0) throw new Error(`perf sched timehist failed (exit ${code}): ${output.trim().slice(-300)}`);
    return parseTimehist(output);
  } finally {
    await rm(file, { force: true });
  }
}
