// The block log as the resolver sees it: a DecisionSink whose record() only pushes onto an
// array. Every flush interval (or full batch) the decisions go, packed as flat arrays, to a
// worker thread (worker.ts) that pseudonymises, chains, hashes and writes them. Encoding an
// event costs ~3 µs of CPU; handing it over costs ~0.3 µs of the DNS thread's time.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes, type ErrorCode } from '../errors.ts';
import type { Decision, DecisionSink } from './types.ts';
import type { FromWorker, PackedDecision, ToWorker, WorkerInit } from './worker.ts';
import type { AuditWriterStats } from './writer.ts';

export interface ThreadedSinkOptions {
  init: WorkerInit;
  /** Memory bound (decisions held here and in the worker); beyond it decisions are counted as dropped. */
  maxBuffered: number;
  logger: Logger;
}

const ERROR_LOG_INTERVAL_MS = 10_000;
/**
 * Decisions go to the worker at least this often, or every HANDOFF_BATCH of them: held longer
 * they would outlive V8's young generation (dnsward runs with a small one) and cost old-space
 * collections. Writing to disk follows audit.flush_interval_ms in the worker.
 */
const HANDOFF_MS = 20;
const HANDOFF_BATCH = 512;
const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export class ThreadedAuditSink implements DecisionSink {
  private readonly worker: Worker;
  private readonly logger: Logger;
  private readonly maxBuffered: number;
  private readonly maxBatch: number;
  private pending: Decision[] = [];
  private readonly inFlight = new Map<number, { count: number; resolve: () => void }>();
  private inFlightEvents = 0;
  private nextId = 1;
  private recorded = 0;
  private dropped = 0;
  private workerStats: AuditWriterStats = { recorded: 0, written: 0, dropped: 0, buffered: 0, writeErrors: 0, checkpoints: 0, seq: 0 };
  private timer: NodeJS.Timeout | undefined;
  private batchScheduled = false;
  private closed = false;
  private dead = false;
  private closing: Promise<void> | undefined;
  private lastDropLog = 0;
  private readonly exited: Promise<void>;

  private constructor(options: ThreadedSinkOptions, worker: Worker) {
    this.worker = worker;
    this.logger = options.logger;
    this.maxBuffered = options.maxBuffered;
    this.maxBatch = Math.min(options.init.maxBatch, HANDOFF_BATCH);
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
    sink.timer = setInterval(() => {
      if (sink.pending.length > 0) sink.post();
    }, Math.min(HANDOFF_MS, options.init.flushIntervalMs));
    sink.timer.unref();
    return sink;
  }

  /** Hot path: never throws, never waits. */
  record(decision: Decision): void {
    if (this.closed) return;
    if (this.dead || this.pending.length + this.inFlightEvents + this.workerStats.buffered >= this.maxBuffered) {
      this.dropped++;
      this.noteDrop();
      return;
    }
    this.recorded++;
    this.pending.push(decision);
    if (this.pending.length >= this.maxBatch && !this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => {
        this.batchScheduled = false;
        this.post();
      });
    }
  }

  /** Resolves when everything recorded so far has been handled by the worker (written, or kept for retry and logged). */
  async flush(): Promise<void> {
    if (this.dead) return;
    await this.send({ t: 'flush', id: 0, events: this.take(), dropped: this.dropped });
  }

  /** Hands over the rest, lets the worker write its shutdown checkpoint, and waits for the thread to end. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    clearInterval(this.timer);
    this.closing = (async () => {
      if (!this.dead) {
        await this.send({ t: 'close', id: 0, events: this.take(), dropped: this.dropped });
      }
      await this.exited;
    })();
    return this.closing;
  }

  stats(): AuditWriterStats {
    return { ...this.workerStats, recorded: this.recorded, dropped: this.dropped, buffered: this.pending.length + this.inFlightEvents + this.workerStats.buffered };
  }

  private take(): PackedDecision[] {
    const batch = this.pending;
    this.pending = [];
    const out: PackedDecision[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i] as Decision;
      out[i] = [d.ts, d.segment, d.client, d.pseudonymize ? 1 : 0, d.qname, d.qtype, d.action, d.list, d.rule, d.listVersion, d.response];
    }
    return out;
  }

  private post(): void {
    if (this.dead || this.pending.length === 0) return;
    void this.send({ t: 'batch', id: 0, events: this.take(), dropped: this.dropped });
  }

  private send(message: ToWorker): Promise<void> {
    const id = this.nextId++;
    const count = message.events.length;
    return new Promise<void>((resolve) => {
      this.inFlight.set(id, { count, resolve });
      this.inFlightEvents += count;
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
    if (!pending) return;
    this.inFlight.delete(m.id);
    this.inFlightEvents -= pending.count;
    pending.resolve();
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
    this.dropped += this.pending.length + this.inFlightEvents;
    this.recorded -= this.pending.length + this.inFlightEvents;
    this.pending = [];
    this.inFlightEvents = 0;
    for (const p of this.inFlight.values()) p.resolve();
    this.inFlight.clear();
  }

  private relayLog(line: string): void {
    try {
      const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as Record<string, unknown>;
      const method = LEVELS[level as number] ?? 'info';
      this.logger[method](fields, typeof msg === 'string' ? msg : 'block log');
    } catch {
      this.logger.warn({ component: 'audit', line }, 'unreadable log line from the block log worker');
    }
  }

  private noteDrop(): void {
    const now = Date.now();
    if (now - this.lastDropLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastDropLog = now;
    this.logger.error(
      { component: 'audit', code: ErrorCodes.AUDIT_WRITE, dropped: this.dropped, maxBuffered: this.maxBuffered },
      'block log: buffer full (disk slow or failing), decisions dropped (the count is signed into the next checkpoint)',
    );
  }
}
