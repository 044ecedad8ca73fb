// Work that waits for the end of the current turn: after the answers of the datagrams that made
// it have been sent (the block log encodes the decisions a turn made, src/audit/writer.ts).
// A listener that handles a batch of datagrams in one callback brackets it with beginTurn() and
// endTurn(), and the waiting work runs at endTurn(), with nothing allocated per turn. Outside a
// bracket (node:dgram, TCP, DoH, timers) it runs in a microtask, after the callback that asked.
// Each with its own state per thread (module instances are per isolate).

const waiting: (() => void)[] = [];
let depth = 0;
let microtaskQueued = false;

/** Runs `task` at the end of this turn, once however often it is asked (`task` must be the same function each time). */
export function afterTurn(task: () => void): void {
  if (!waiting.includes(task)) waiting.push(task);
  if (depth === 0 && !microtaskQueued) {
    microtaskQueued = true;
    queueMicrotask(runMicrotask);
  }
}

/** A listener's batch starts: work asked for meanwhile waits for endTurn(). */
export function beginTurn(): void {
  depth++;
}

/** The batch's answers are out: runs what waits (when no outer batch is still open). */
export function endTurn(): void {
  depth = Math.max(0, depth - 1);
  if (depth === 0) runWaiting();
}

function runMicrotask(): void {
  microtaskQueued = false;
  if (depth === 0) runWaiting();
}

function runWaiting(): void {
  // A task may ask again (it then runs again in this pass); one that throws leaves the rest for the next turn.
  while (waiting.length > 0) (waiting.shift() as () => void)();
}
