// The block log as the resolver sees it when it runs in a worker thread (audit.worker_thread):
// record() writes the decision's fields into a shared ring (decision-ring.ts, ~240 ns and no
// garbage on the DNS thread); the worker (worker.ts) takes them from the ring every few ms,
// then pseudonymises, chains, hashes and writes them. Messages carry only flush, close, stats
// and log lines. Memory is bounded by max_buffered, counting what waits in the ring and what
// the worker holds unwritten; beyond it, or with the ring full, decisions are counted as
// dropped (signed into the next checkpoint) and logged (throttled), never waited for.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes, type ErrorCode } from '../errors.ts';
import { relayLogLine } from '../util/thread-log.ts';
import { type DecisionRingMemory, DecisionRingWriter, createDecisionRing, ringBytesFor } from './decision-ring.ts';
import { ThrottledLog } from './throttled-log.ts';
import type { Decision, DecisionSink } from './types.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.ts';
import type { AuditWriterStats } from './writer.ts';

export interface ThreadedSinkOptions {
  init: Omit<WorkerInit, 'ring'>;
  /** Memory bound (decisions in the ring and held by the worker); beyond it decisions are counted as dropped. */
  maxBuffered: number;
  logger: Logger;
}

export class ThreadedAuditSink implements DecisionSink {
  private readonly worker: Worker;
  private readonly logger: Logger;
  private readonly ring: DecisionRingWriter;
  private readonly maxBuffered: number;
  private readonly dropLog: ThrottledLog;
  private readonly unusableLog: ThrottledLog;
  private readonly inFlight = new Map<number, () => void>();
  private nextId = 1;
  private recorded = 0;
  private dropped = 0;
  private workerStats: AuditWriterStats = { recorded: 0, written: 0, dropped: 0, buffered: 0, writeErrors: 0, checkpoints: 0, seq: 0 };
  private closed = false;
  private closedCleanly = false;
  private dead = false;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(options: ThreadedSinkOptions, worker: Worker, ring: DecisionRingMemory) {
    this.worker = worker;
    this.logger = options.logger;
    this.ring = new DecisionRingWriter(ring);
    this.maxBuffered = options.maxBuffered;
    const auditLog = options.logger.child({ component: 'audit' });
    this.dropLog = new ThrottledLog(auditLog);
    this.unusableLog = new ThrottledLog(auditLog);
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts the worker and resolves once it has recovered the chain (or rejects with its error). */
  static async start(options: ThreadedSinkOptions): Promise<ThreadedAuditSink> {
    // Runs from src/ (TypeScript, type-stripped) or from dist/ (compiled): the worker sits next to this file.
    const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    const ring = createDecisionRing(ringBytesFor(options.maxBuffered));
    const init: WorkerInit = { ...options.init, ring };
    // The small young generation of every worker thread (src/util/worker-heap.ts): decisions taken
    // from the ring become short-lived strings here, and lines wait in off-heap blocks. The 32 MB
    // it had (for stop 30's postMessage batches) kept ~14 MB more resident after full-rate runs
    // with a million names (docs/BENCHMARKS.md, stop 37).
    const worker = new Worker(url, { workerData: init, name: 'dnsward-audit' });
    const sink = new ThreadedAuditSink(options, worker, ring);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.t === 'log') return sink.relayLog(m.line);
        worker.off('message', onMessage);
        worker.off('error', onError);
        if (m.t === 'ready') {
          sink.workerStats.seq = m.seq;
          resolve();
        } else if (m.t === 'fatal') {
          void worker.terminate();
          reject(new DnswardError((m.code as ErrorCode | undefined) ?? ErrorCodes.AUDIT_WRITE, m.message));
        }
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(new DnswardError(ErrorCodes.AUDIT_WRITE, `block log worker failed to start: ${error.message}`, { cause: error }));
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
    worker.on('message', (m: FromWorker) => sink.onMessage(m));
    worker.on('error', (error) => sink.onWorkerError(error));
    worker.once('exit', () => sink.onExit());
    return sink;
  }

  /** Hot path: never throws, never waits, allocates nothing (but the drop count's BigInt when it drops). */
  record(decision: Decision): void {
    if (this.closed) return;
    const ring = this.ring;
    if (this.dead || ring.waiting + ring.held >= this.maxBuffered) return this.drop();
    let written: boolean;
    try {
      written = ring.write(decision);
    } catch (error) {
      this.unusableLog.error(() => ({ code: ErrorCodes.AUDIT_WRITE, err: error, dropped: this.dropped + 1 }), 'block log: a decision could not be encoded and was dropped (the count is signed into the next checkpoint)');
      return this.drop();
    }
    if (!written) return this.drop();
    this.recorded++;
  }

  /** Resolves when everything recorded so far has been handled by the worker (written, or kept for retry and logged). */
  async flush(): Promise<void> {
    if (this.dead) return;
    await this.send('flush');
  }

  /** Lets the worker take the rest, write its shutdown checkpoint, and waits for the thread to end. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      if (!this.dead) await this.send('close');
      // The worker has taken the ring and closed the log (what it could not write, it logged): nothing is lost at its exit.
      this.closedCleanly = !this.dead;
      await this.exited;
    })();
    return this.closing;
  }

  stats(): AuditWriterStats {
    return { ...this.workerStats, recorded: this.recorded, dropped: this.dropped, buffered: this.dead ? 0 : this.ring.waiting + this.ring.held };
  }

  private drop(): void {
    this.dropped++;
    this.ring.setDropped(this.dropped);
    this.dropLog.error(
      this.dropFields,
      'block log: buffer full (the writer is behind: a slow or failing disk, or more decisions than it can write), decisions dropped (the count is signed into the next checkpoint)',
    );
  }

  private readonly dropFields = (): Record<string, unknown> => ({ code: ErrorCodes.AUDIT_WRITE, dropped: this.dropped, maxBuffered: this.maxBuffered });

  private send(t: ToWorker['t']): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.inFlight.set(id, resolve);
      try {
        // The ring's records were published before this message: the worker takes them first.
        this.worker.postMessage({ t, id } satisfies ToWorker);
      } catch (error) {
        this.onWorkerError(error as Error);
      }
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'log') return this.relayLog(m.line);
    if (m.t !== 'ack' && m.t !== 'stats') return;
    this.workerStats = m.stats;
    if (m.t === 'ack') {
      const resolve = this.inFlight.get(m.id);
      this.inFlight.delete(m.id);
      resolve?.();
    }
  }

  private onWorkerError(error: Error): void {
    this.logger.error({ component: 'audit', code: ErrorCodes.AUDIT_WRITE, err: error }, 'block log worker failed (bug): further decisions are counted as dropped');
    this.markDead();
  }

  private onExit(): void {
    if (!this.closed) this.logger.error({ component: 'audit', code: ErrorCodes.AUDIT_WRITE }, 'block log worker exited unexpectedly: further decisions are counted as dropped');
    this.markDead();
  }

  /** What waited in the ring and what the worker held unwritten are lost: counted as dropped, not recorded. */
  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    const lost = this.closedCleanly ? 0 : Math.min(this.recorded, this.ring.waiting + this.ring.held);
    this.recorded -= lost;
    this.dropped += lost;
    for (const resolve of this.inFlight.values()) resolve();
    this.inFlight.clear();
  }

  private relayLog(line: string): void {
    relayLogLine(this.logger, line, 'block log');
  }
}
