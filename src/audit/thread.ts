// The block log as the resolver sees it: a DecisionSink whose record() only pushes onto the
// batcher (batcher.ts, shared with the inline writer). Every 512 decisions or 20 ms the batch
// goes, packed as flat arrays, to a worker thread (worker.ts) that pseudonymises, chains,
// hashes and writes them. Encoding and hashing an event costs ~0.9 µs of CPU (bench:micro,
// stop 32; its pseudonym and its share of the writes come on top); handing it over costs
// ~0.3 µs of the DNS thread's time.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes, type ErrorCode } from '../errors.ts';
import { Batcher } from './batcher.ts';
import { relayLogLine } from '../util/thread-log.ts';
import type { Decision, DecisionSink } from './types.ts';
import { type PackedDecision, packDecision } from './packed.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.ts';
import type { AuditWriterStats } from './writer.ts';

export interface ThreadedSinkOptions {
  init: WorkerInit;
  /** Memory bound (decisions held here and in the worker); beyond it decisions are counted as dropped. */
  maxBuffered: number;
  logger: Logger;
}


export class ThreadedAuditSink implements DecisionSink {
  private readonly worker: Worker;
  private readonly logger: Logger;
  private readonly batcher: Batcher<Decision>;
  private readonly inFlight = new Map<number, { count: number; resolve: () => void }>();
  private inFlightEvents = 0;
  private nextId = 1;
  private workerStats: AuditWriterStats = { recorded: 0, written: 0, dropped: 0, buffered: 0, writeErrors: 0, checkpoints: 0, seq: 0 };
  private closed = false;
  private dead = false;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(options: ThreadedSinkOptions, worker: Worker) {
    this.worker = worker;
    this.logger = options.logger;
    this.batcher = new Batcher({
      batchSize: options.init.maxBatch,
      intervalMs: options.init.flushIntervalMs,
      maxBuffered: options.maxBuffered,
      onBatch: () => this.post(),
      logger: options.logger.child({ component: 'audit' }),
    });
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts the worker and resolves once it has recovered the chain (or rejects with its error). */
  static async start(options: ThreadedSinkOptions): Promise<ThreadedAuditSink> {
    // Runs from src/ (TypeScript, type-stripped) or from dist/ (compiled): the worker sits next to this file.
    const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    // Its own young generation, sized for a flush interval of lines waiting to be written.
    const worker = new Worker(url, { workerData: options.init, name: 'dnsward-audit', resourceLimits: { maxYoungGenerationSizeMb: 32 } });
    const sink = new ThreadedAuditSink(options, worker);
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
    sink.batcher.start();
    return sink;
  }

  /** Hot path: never throws, never waits. */
  record(decision: Decision): void {
    this.batcher.push(decision);
  }

  /** Resolves when everything recorded so far has been handled by the worker (written, or kept for retry and logged). */
  async flush(): Promise<void> {
    if (this.dead) return;
    await this.send({ t: 'flush', id: 0, events: this.take(), dropped: this.batcher.dropped });
  }

  /** Hands over the rest, lets the worker write its shutdown checkpoint, and waits for the thread to end. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.batcher.close();
    this.closing = (async () => {
      if (!this.dead) {
        await this.send({ t: 'close', id: 0, events: this.take(), dropped: this.batcher.dropped });
      }
      await this.exited;
    })();
    return this.closing;
  }

  stats(): AuditWriterStats {
    return { ...this.workerStats, recorded: this.batcher.recorded, dropped: this.batcher.dropped, buffered: this.batcher.size + this.batcher.held };
  }

  private take(): PackedDecision[] {
    return this.batcher.take().map(packDecision);
  }

  private post(): void {
    if (this.dead || this.batcher.size === 0) return;
    void this.send({ t: 'batch', id: 0, events: this.take(), dropped: this.batcher.dropped });
  }

  private send(message: ToWorker): Promise<void> {
    const id = this.nextId++;
    const count = message.events.length;
    return new Promise<void>((resolve) => {
      this.inFlight.set(id, { count, resolve });
      this.inFlightEvents += count;
      this.updateHeld();
      try {
        this.worker.postMessage({ ...message, id });
      } catch (error) {
        this.onWorkerError(error as Error);
      }
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'log') return this.relayLog(m.line);
    if (m.t !== 'ack') return;
    this.workerStats = m.stats;
    const pending = this.inFlight.get(m.id);
    if (pending) {
      this.inFlight.delete(m.id);
      this.inFlightEvents -= pending.count;
    }
    this.updateHeld();
    pending?.resolve();
  }

  private onWorkerError(error: Error): void {
    this.logger.error({ component: 'audit', code: ErrorCodes.AUDIT_WRITE, err: error }, 'block log worker failed (bug): further decisions are counted as dropped');
    this.markDead();
  }

  private onExit(): void {
    if (!this.closed) this.logger.error({ component: 'audit', code: ErrorCodes.AUDIT_WRITE }, 'block log worker exited unexpectedly: further decisions are counted as dropped');
    this.markDead();
  }

  private markDead(): void {
    this.dead = true;
    this.batcher.fail(this.inFlightEvents);
    this.inFlightEvents = 0;
    for (const p of this.inFlight.values()) p.resolve();
    this.inFlight.clear();
  }

  /** What the worker holds and what is on its way there count toward max_buffered. */
  private updateHeld(): void {
    this.batcher.held = this.inFlightEvents + this.workerStats.buffered;
  }

  private relayLog(line: string): void {
    relayLogLine(this.logger, line, 'block log');
  }
}
