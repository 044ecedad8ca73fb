// Where decisions wait on their way to the block log's encoder: in the AuditWriter (writer.ts)
// wherever it runs (the DNS thread, or the block-log worker, fed by decision-ring.ts), and in a
// DNS worker's relay to the main thread (replica/decision-relay.ts). push() is the query path's whole
// cost: a bounds check and an array push. Batches are handed on every batchSize decisions (or
// at the end of the turn, endOfTurn) or every few ms: held for a whole flush interval they
// would outlive V8's young generation (8 MB on the DNS thread, bin/dnsward) and cost old-space
// collections. Memory is bounded by
// maxBuffered, counting what the owner still holds downstream (`held`); beyond it decisions
// are counted as dropped and logged (throttled), never waited for.
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors.ts';
import { ThrottledLog } from './throttled-log.ts';

/** Hand on at least every HANDOFF_BATCH decisions ... */
export const HANDOFF_BATCH = 512;
/** ... and at least every HANDOFF_MS. */
export const HANDOFF_MS = 20;

export interface BatcherOptions {
  /** Hand on when this many wait (capped at HANDOFF_BATCH). */
  batchSize: number;
  /** Hand on at least this often (capped at HANDOFF_MS). */
  intervalMs: number;
  /** Decisions held here plus `held` downstream; beyond it they are dropped. */
  maxBuffered: number;
  /** Called (outside push()) when a batch is ready: the owner calls take() or takeEach(). */
  onBatch: () => void;
  /**
   * Hand on at the end of the current turn (a microtask: after the batch of datagrams that made
   * the decisions has been answered) instead of in the event loop's next check phase. It fires
   * only once batchSize decisions wait: with batchSize > 1, a turn that ends below it waits for
   * the interval (the writer uses batchSize 1, so every turn hands on).
   */
  endOfTurn?: boolean;
  /** Gets the throttled "buffer full" line. */
  logger: Logger;
}

/** Slots the pending array keeps between batches (a turn holds a few dozen at most). */
const KEPT_CAPACITY = 4096;

export class Batcher<T> {
  /** Accepted by push(). */
  recorded = 0;
  /** Refused because the buffer was full. */
  dropped = 0;
  /** Accepted earlier and still held by the owner (encoded but unwritten, or in flight): counts toward maxBuffered. */
  held = 0;
  /**
   * Items waiting: slots [0, count). The array keeps its capacity from turn to turn: emptied by
   * `length = 0`, V8 drops its backing store, and the next turn's pushes allocated a new one
   * (~75 bytes of garbage a blocked query at 20k a second, two queries a turn).
   */
  private pending: (T | undefined)[] = [];
  private count = 0;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly maxBuffered: number;
  private readonly onBatch: () => void;
  private readonly endOfTurn: boolean;
  private readonly dropLog: ThrottledLog;
  /** Its own throttle: a failing encoder must not hide a full buffer, nor the reverse. */
  private readonly unusableLog: ThrottledLog;
  private scheduled = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: BatcherOptions) {
    this.batchSize = Math.max(1, Math.min(HANDOFF_BATCH, options.batchSize));
    this.intervalMs = Math.max(1, Math.min(HANDOFF_MS, options.intervalMs));
    this.maxBuffered = options.maxBuffered;
    this.onBatch = options.onBatch;
    this.endOfTurn = options.endOfTurn ?? false;
    this.dropLog = new ThrottledLog(options.logger);
    this.unusableLog = new ThrottledLog(options.logger);
  }

  /** Hot path: never throws, never waits, allocates nothing but the array slot. */
  push(item: T): void {
    if (this.closed) return;
    if (this.count + this.held >= this.maxBuffered) {
      this.dropped++;
      this.dropLog.error(this.dropFields, 'block log: buffer full (the writer is behind: a slow or failing disk, or more decisions than it can write), decisions dropped (the count is signed into the next checkpoint)');
      return;
    }
    this.recorded++;
    this.pending[this.count++] = item;
    if (this.count >= this.batchSize && !this.scheduled) {
      this.scheduled = true;
      if (this.endOfTurn) queueMicrotask(this.fire);
      else setImmediate(this.fire);
    }
  }

  /** Everything waiting, oldest first, as a new array (the batcher keeps its own): a DNS worker's batch for the main thread. */
  take(): T[] {
    const batch = this.pending.slice(0, this.count) as T[];
    this.clear();
    return batch;
  }

  /**
   * Calls `use` on everything waiting, oldest first, and empties the batcher (reusing its array:
   * no garbage per batch). Never throws: an item `use` throws on moves from recorded to dropped
   * (so the signed count stays true), is logged (throttled), and the rest are still handed on.
   * Thrown out of the end-of-turn microtask, it would end the process; never handed on twice.
   */
  takeEach(use: (item: T) => void): void {
    const pending = this.pending;
    // Counted on each pass: `use` may push more (it should not, but nothing is lost if it does).
    for (let i = 0; i < this.count; i++) {
      try {
        use(pending[i] as T);
      } catch (error) {
        this.recorded--;
        this.dropped++;
        this.unusableLog.error(() => ({ code: ErrorCodes.AUDIT_WRITE, err: error, dropped: this.dropped }), 'block log: a decision could not be encoded and was dropped (the count is signed into the next checkpoint)');
      }
    }
    this.clear();
  }

  /** Empties the slots (so that the items can be collected) and keeps the array's capacity, unless a burst made it large. */
  private clear(): void {
    if (this.pending.length > KEPT_CAPACITY) this.pending = [];
    else this.pending.fill(undefined, 0, this.count);
    this.count = 0;
  }

  /** Decisions waiting here (not counting `held`). */
  get size(): number {
    return this.count;
  }

  /** Starts the interval hand-off (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (this.count > 0) this.onBatch();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer; later push() calls are ignored (take() and takeEach() still give what waits). */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.scheduled = false;
    this.onBatch();
  };

  private readonly dropFields = (): Record<string, unknown> => ({ code: ErrorCodes.AUDIT_WRITE, dropped: this.dropped, maxBuffered: this.maxBuffered });
}
