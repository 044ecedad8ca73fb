// The threads that answer DNS come first: every other thread of the process (V8's garbage
// collector and compiler helpers, libuv's file I/O pool, the list feed and renderers) runs at
// a lower priority (a higher nice value, dns.background_nice). On a busy host those threads
// otherwise take the CPU a waiting query needs: at 20k qps on 2 cores, V8's concurrent marking
// held both CPUs for ~18 ms at a time, and the pool threads writing the block log preempted
// the DNS thread (docs/BENCHMARKS.md, stop 27). A lower priority only yields the CPU when
// a DNS thread wants it; idle CPUs still run them at once. The value is absolute: a thread
// already nicer (a systemd Nice= above it) is left as it is.
// Linux only: the nice value is a per-thread attribute there (setpriority(2), NOTES), and a
// thread's ID works as the PID of os.setPriority. Raising a nice value needs no privilege.
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Thread names (/proc/.../comm, at most 15 characters) of the threads that never answer DNS.
 * Not the block-log thread (dnsward-audit), which encodes and signs: it keeps the default
 * priority. Its file writes and fdatasync run in libuv's pool, lowered like the rest (they
 * need little CPU: copies into the page cache, and waits).
 */
export const BACKGROUND_THREAD = /^(V8Worker|libuv-worker|dnsward-feed|dnsward-render)/;

let configuredNice = 0;

/** Sets the nice value background threads get from now on (dns.background_nice; 0: leave them alone). */
export function configureBackgroundNice(nice: number): void {
  configuredNice = nice;
}

export interface LoweredThreads {
  /** Threads whose nice value was raised to the target by this call. */
  lowered: number;
  /** Background threads found already at the target or lower in priority. */
  already: number;
  /** Why not every background thread could be lowered (no /proc, none found, a thread that refused), if so. */
  problem?: string;
}

/**
 * Raises every background thread of this process to nice `nice` (never lowers one that is
 * already nicer). Idempotent and cheap (a directory of a few dozen entries): call it again
 * after starting a background worker thread.
 */
export function lowerBackgroundThreads(nice = configuredNice, tasksDir = '/proc/self/task'): LoweredThreads {
  const result: LoweredThreads = { lowered: 0, already: 0 };
  if (nice <= 0 || process.platform !== 'linux') return result;
  let tids: string[];
  try {
    tids = readdirSync(tasksDir);
  } catch (error) {
    return { ...result, problem: `cannot list ${tasksDir}: ${(error as Error).message}` };
  }
  let found = 0;
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`${tasksDir}/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    if (!BACKGROUND_THREAD.test(name)) continue;
    found++;
    try {
      if (getPriority(Number(tid)) >= nice) {
        result.already++;
        continue;
      }
      setPriority(Number(tid), nice);
      result.lowered++;
    } catch (error) {
      // ESRCH: the thread ended between the listing and the call (a finished render thread).
      if ((error as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
      result.problem ??= `thread ${tid} (${name}): ${(error as Error).message}`;
    }
  }
  // V8's helpers always exist: none found means the threads are named otherwise (another runtime).
  if (found === 0) result.problem = `no thread named V8Worker, libuv-worker, dnsward-feed or dnsward-render in ${tasksDir}`;
  return result;
}
