// The DNS thread first. libuv's thread pool does the process's background work: block-log
// writes, the zstd frames of the fleet stream, the feed's compression. Where the DNS thread
// and the pool share a core (2 CPUs with a load generator on one, or any saturated host),
// every millisecond the pool runs is taken from answering. `dnsward serve` lowers the pool's
// threads to a lower CPU priority (a higher nice value) on Linux, where a thread id works as
// a process id for setpriority(2): they still run whenever a core is idle, and under
// contention they get a share in proportion (nice +10 weighs ~1/10 of nice 0 under CFS).
// Not done by the embeddable engine: a host process owns its own thread pool.
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** What libuv names its pool threads (Linux comm, as /proc shows it). */
export const POOL_THREAD_NAME = 'libuv-worker';
/** How much lower than the process the pool runs. */
export const POOL_NICE_DELTA = 10;
const LOWEST = 19;

/** Lowers every libuv pool thread to the process's nice + `delta`; returns how many were changed (0 off Linux). */
export function lowerPoolPriority(delta = POOL_NICE_DELTA, taskDir = '/proc/self/task'): number {
  if (process.platform !== 'linux') return 0;
  let tasks: string[];
  try {
    tasks = readdirSync(taskDir);
  } catch {
    return 0;
  }
  const nice = Math.min(LOWEST, getPriority() + delta);
  let changed = 0;
  for (const tid of tasks) {
    try {
      if (readFileSync(`${taskDir}/${tid}/comm`, 'utf8').trim() !== POOL_THREAD_NAME) continue;
      setPriority(Number(tid), nice);
      changed++;
    } catch {
      // A thread that exited meanwhile, or a sandbox that refuses: the pool keeps its priority.
    }
  }
  return changed;
}
