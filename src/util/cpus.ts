// Where optional helper threads go. A thread pays on a host with CPUs to spare; on one or two
// CPUs it competes with the DNS thread (and, in a benchmark, with the load generator) for the
// same cores, and each thread is a second V8 isolate (~20-30 MB resident). `auto` settings
// (audit.worker_thread, http.thread) therefore start their thread from this many CPUs on.
import { availableParallelism } from 'node:os';

export const AUTO_THREAD_MIN_CPUS = 4;

/** Whether a `true | false | auto` thread setting starts its thread on a host with `cpus` CPUs. */
export function threadWanted(setting: boolean | 'auto', cpus = availableParallelism()): boolean {
  return setting === 'auto' ? cpus >= AUTO_THREAD_MIN_CPUS : setting;
}
