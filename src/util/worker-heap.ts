// bin/dnsward fixes the main thread's young generation at 8 MB a half (its first line). V8's
// flags belong to the process, so every worker thread (the feed, the list renderers, the
// block-log writer, DNS workers) would get the same: ~12 MB more resident each once busy
// (a million-name first start with http.thread on: 188 MB, against 176 with this). V8 reads these two
// flags only when it creates an isolate, so resetting them once the main thread runs gives
// the threads started after it the small young generation they had before (at most 2 MB a
// half), and leaves the main thread's as it is. Node warns that flags changed at run time may
// do nothing; test/unit/util/worker-heap.test.ts checks that they do what is said here.
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

/** Worker threads' young generation, MB a half: what the whole process had before stop 29. */
const WORKER_MAX_SEMI_SPACE_MB = 2;

/** Call once on the main thread, before the first worker thread starts. */
export function smallWorkerYoungGeneration(): void {
  if (!isMainThread) return;
  setFlagsFromString(`--max-semi-space-size=${WORKER_MAX_SEMI_SPACE_MB}`);
  // 0: V8's own initial size (below the maximum), not the main thread's fixed 8.
  setFlagsFromString('--min-semi-space-size=0');
}
