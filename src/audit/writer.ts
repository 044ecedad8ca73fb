// The block-log writer: the DecisionSink that makes decisions durable. It wires the parts
// and owns the order of disk work:
//   batcher.ts    record() pushes; what a turn recorded is encoded at its end (a microtask)
//   encoder.ts    decisions become chained, hashed lines (rotation.ts picks the file)
//   outbox.ts     the lines wait in reused blocks, per file, at most MAX_SEALED_EVENTS per write
//   seal.ts       each write ends with a signed seal line covering its lines
//   appender.ts   each write (lines and seal) in writevs of whole lines, resumed after errors, fdatasync
//   recovery.ts   where the chain continues at open: after the last good seal; the rest is set aside
//   checkpoint-log.ts, retention.ts   signed checkpoints, deleting expired files
// One promise chain serialises every disk operation, so lines, checkpoints and pruning
// never interleave. A disk error keeps the encoded lines for the next attempt; memory is
// bounded by audit.max_buffered (the batcher counts drops, signed into the next checkpoint).
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors.ts';
import { EventAppender, MAX_WRITEV_BYTES, MAX_WRITEV_BYTES_BEHIND } from './appender.ts';
import { Batcher } from './batcher.ts';
import type { CheckpointReason } from './checkpoint.ts';
import { CheckpointLog } from './checkpoint-log.ts';
import { ChainEncoder } from './encoder.ts';
import { publicKeyFileName } from './files.ts';
import { keyFingerprint, publicKeyPem, rawPublicKey } from './keys.ts';
import { type Chunk, Outbox } from './outbox.ts';
import { type RecoveredChain, ensureAuditDir, recoverChain } from './recovery.ts';
import { pruneExpired } from './retention.ts';
import { FileRotation } from './rotation.ts';
import { MAX_SEALED_EVENTS, type SealReason, type UnsignedSeal, sealLine, signSeal } from './seal.ts';
import { ThrottledLog } from './throttled-log.ts';
import type { Decision, DecisionSink } from './types.ts';

export interface AuditWriterOptions {
  dir: string;
  instance: string;
  /** Maps a client address to its pseudonym (used when a decision has pseudonymize set). */
  pseudonymize: (address: string) => string;
  signingKey: KeyObject;
  flushIntervalMs: number;
  maxBatch: number;
  maxBuffered: number;
  maxFileBytes: number;
  /** 0 = keep forever. */
  retentionDays: number;
  checkpointIntervalMs: number;
  fsync: boolean;
  logger: Logger;
  /** Clock for checkpoints and retention (tests). */
  now?: () => number;
}

/**
 * One write as it reached the file: its event lines (the seal left out), valid only during the call:
 * the buffers are then reused or freed (a view kept past the call may read as empty).
 */
export interface WrittenEvents {
  first: number;
  last: number;
  blocks: readonly { buf: Buffer; used: number }[];
}

export type WrittenListener = (written: WrittenEvents) => void;
/** Sets (or, with undefined, removes) the one listener of a writer's writes: AuditWriter.onWritten. */
export type WrittenFeed = (listener: WrittenListener | undefined) => void;

export interface AuditWriterStats {
  /** Decisions accepted by record(). */
  recorded: number;
  /** Events durably appended. */
  written: number;
  /** Decisions refused because the buffer was full. */
  dropped: number;
  /** Events accepted but not yet on disk. */
  buffered: number;
  writeErrors: number;
  checkpoints: number;
  /** Last durable sequence number. */
  seq: number;
}

const RETENTION_CHECK_MS = 3_600_000;
/** Room kept in each file for seal lines (a seal is ~450 bytes; a start seal with `recovered` ~800). */
const SEAL_RESERVE_BYTES = 1024;

export class AuditWriter implements DecisionSink {
  private readonly options: AuditWriterOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly batcher: Batcher<Decision>;
  private readonly encoder: ChainEncoder;
  private readonly files: FileRotation;
  private readonly outbox = new Outbox(MAX_SEALED_EVENTS);
  private readonly appender: EventAppender;
  private readonly checkpoints: CheckpointLog;
  private readonly errorLog: ThrottledLog;
  private readonly publicKeyRaw: string;
  private readonly runStarted: string;
  /** Durable head: the last event on disk. */
  private headSeq: number;
  private headHash: string;
  private headFile: string;
  private checkpointedSeq: number;
  private work: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private timers: NodeJS.Timeout[] = [];
  /** Restarted by every write (drain), so it fires only after a flush interval without one. */
  private flushTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private written = 0;
  private writeErrors = 0;
  private writtenListener: WrittenListener | undefined;
  private externalDropped = 0;

  private constructor(options: AuditWriterOptions, log: Logger, checkpoints: CheckpointLog, chain: RecoveredChain, runStarted: string) {
    this.options = options;
    this.log = log;
    this.now = options.now ?? Date.now;
    this.checkpoints = checkpoints;
    this.publicKeyRaw = rawPublicKey(options.signingKey);
    this.runStarted = runStarted;
    this.errorLog = new ThrottledLog(log);
    // Decisions are encoded at the end of the turn that made them, once its answers are sent (the lines
    // still go to the file per max_batch or flush interval): they die young instead of surviving into old
    // space, and no query waits behind a burst of encoding. Every 32 instead (stop 22 to 27) made a slice
    // of ~100 us every 1.6 ms at 20k qps; at the end of the turn, the blocked p99 at 20k qps was 0.46 ms
    // against 0.62 (median of 5 runs each, interleaved; docs/BENCHMARKS.md, stop 28).
    this.batcher = new Batcher({ batchSize: 1, endOfTurn: true, intervalMs: options.flushIntervalMs, maxBuffered: options.maxBuffered, onBatch: this.onBatch, logger: log });
    this.encoder = new ChainEncoder(options.instance, options.pseudonymize, chain);
    this.files = new FileRotation(options.instance, options.maxFileBytes, chain.current, SEAL_RESERVE_BYTES);
    this.appender = new EventAppender(options.dir, options.fsync);
    this.headSeq = chain.seq;
    this.headHash = chain.hash;
    this.headFile = chain.file;
    this.checkpointedSeq = chain.checkpointedSeq;
  }

  /**
   * Opens the log: continues the chain after the last good seal (setting aside, and declaring in
   * a start seal, anything after it), applies retention, starts the timers.
   */
  static async open(options: AuditWriterOptions): Promise<AuditWriter> {
    const { dir, instance, signingKey } = options;
    const log = options.logger.child({ component: 'audit' });
    const now = options.now ?? Date.now;
    const publicKeyRaw = rawPublicKey(signingKey);
    const runStarted = new Date(now()).toISOString();
    await ensureAuditDir(dir);
    const checkpoints = new CheckpointLog({ dir, instance, signingKey, publicKeyRaw, runStarted, fsync: options.fsync, now });
    const chain = await recoverChain(dir, instance, checkpoints, log, runStarted);
    await writeFile(join(dir, publicKeyFileName(instance)), publicKeyPem(signingKey));
    const previousKey = chain.anchor && chain.anchor.key !== publicKeyRaw ? chain.anchor.key : undefined;
    if (previousKey) log.warn({ previousKey, key: publicKeyRaw }, 'block log: the log so far is sealed by another key (was the signing key replaced?); pin both keys to verify it');
    log.info({ dir, seq: chain.seq, file: chain.file || undefined, key: publicKeyRaw, fingerprint: keyFingerprint(signingKey) }, 'block log opened');
    const writer = new AuditWriter(options, log, checkpoints, chain, runStarted);
    if (chain.tail || previousKey) {
      await writer.appendSeal('start', { ...(chain.tail ? { recovered: chain.tail } : {}), ...(previousKey ? { previous_key: previousKey } : {}) });
    }
    await writer.prune();
    writer.startTimers();
    return writer;
  }

  get checkpointPath(): string {
    return this.checkpoints.path;
  }

  /** Hot path: never throws, never waits. */
  record(decision: Decision): void {
    this.batcher.push(decision);
  }

  /** Writes everything recorded so far (resolves when it is on disk, or when the attempt failed and was logged). */
  flush(): Promise<void> {
    return this.enqueue(() => this.drain());
  }

  /** Flushes, ends the run with a shutdown seal and a shutdown checkpoint, and closes the files. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.batcher.close();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.flushTimer = undefined;
    this.closing = this.enqueue(async () => {
      for (let attempt = 0; attempt < 3 && this.unwritten() > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        await this.drain();
      }
      const lost = this.unwritten();
      if (lost > 0) this.log.error({ code: ErrorCodes.AUDIT_WRITE, events: lost }, 'block log: events could not be written before shutdown');
      // The run ends here: nothing after this seal is dnsward's. Never after a write that stopped
      // half-way (a disk error): its records are unsealed and the next start sets them aside.
      const halfWritten = this.outbox.first !== undefined && (this.outbox.first.blockIndex > 0 || this.outbox.first.blockOffset > 0);
      if (this.files.current && !halfWritten) await this.appendSeal('shutdown').catch((error: unknown) => this.writeFailed(error, 'shutdown seal'));
      await this.writeCheckpoint('shutdown').catch((error: unknown) => this.writeFailed(error, 'shutdown checkpoint'));
      await this.appender.close();
      this.log.info({ seq: this.headSeq, written: this.written, dropped: this.batcher.dropped }, 'block log closed');
    });
    return this.closing;
  }

  /** Decisions dropped before they reached this writer (the worker-thread proxy's buffer): signed into checkpoints. */
  setExternalDropped(count: number): void {
    this.externalDropped = count;
  }

  /** Turns buffered decisions into chained lines now (the worker does this on receipt, so decisions die young). */
  encodeBuffered(): void {
    this.encodePending();
  }

  stats(): AuditWriterStats {
    return {
      recorded: this.batcher.recorded,
      written: this.written,
      dropped: this.batcher.dropped,
      buffered: this.unwritten(),
      writeErrors: this.writeErrors,
      checkpoints: this.checkpoints.appended,
      seq: this.headSeq,
    };
  }

  private unwritten(): number {
    return this.batcher.size + this.outbox.events;
  }

  /** A batch is ready: encode it (decisions die young); a full batch of lines is written at once. */
  private readonly onBatch = (): void => {
    this.encodePending();
    if (this.outbox.events >= this.options.maxBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      void this.flush().finally(() => {
        this.flushScheduled = false;
      });
    }
  };

  /** A decision that cannot be encoded (a pseudonymiser that throws, say) is counted as dropped by Batcher.takeEach. */
  private readonly encodeOne = (decision: Decision): void => this.encoder.encode(decision, this.files, this.outbox);

  private encodePending(): void {
    if (this.batcher.size === 0) return;
    this.batcher.takeEach(this.encodeOne);
    this.batcher.held = this.outbox.events;
  }

  /**
   * Writes the chunks that wait now, then syncs. Not what arrives meanwhile: chasing it would
   * write (and sign) a few dozen lines at a time under steady load, and put off the fdatasync
   * until the stream paused. Those lines wait for max_batch or the flush timer.
   */
  private async drain(): Promise<void> {
    // The flush timer counts from this write's start: what waits now goes out with it, and a
    // stream that fills max_batch within the interval is written max_batch at a time, not cut
    // short by a timer out of phase (that doubled the seals and syncs at 20k events a second).
    this.flushTimer?.refresh();
    this.encodePending();
    const last = this.outbox.chunks.at(-1);
    try {
      for (let chunk = this.outbox.first; chunk; chunk = chunk === last ? undefined : this.outbox.first) {
        if (!chunk.writing) this.seal(chunk);
        // Behind (more than two chunks' worth waiting, this one included): fewer, bigger writes.
        await this.appender.write(chunk, this.outbox.events > 2 * MAX_SEALED_EVENTS ? MAX_WRITEV_BYTES_BEHIND : MAX_WRITEV_BYTES);
        this.announce(chunk);
        const done = this.outbox.completeFirst() as Chunk;
        this.batcher.held = this.outbox.events;
        this.written += done.count;
        this.headSeq = done.lastSeq;
        this.headHash = done.lastHash;
        this.headFile = done.name;
      }
      await this.appender.sync();
    } catch (error) {
      this.writeFailed(error, 'events');
      await this.appender.close().catch(() => undefined);
    }
  }

  /**
   * Calls `listener` after each write with its event lines, before their buffers are reused or freed (the
   * fleet's shipper takes them from memory instead of reading the file back). One listener.
   */
  onWritten(listener: WrittenListener | undefined): void {
    this.writtenListener = listener;
  }

  private announce(chunk: Chunk): void {
    if (!this.writtenListener || chunk.count === 0) return;
    try {
      // The seal is the chunk's last block (Outbox.close).
      this.writtenListener({ first: chunk.lastSeq - chunk.count + 1, last: chunk.lastSeq, blocks: chunk.blocks.slice(0, -1) });
    } catch (error) {
      this.log.error({ err: error }, 'block log: a listener of written events failed');
    }
  }

  /** Ends the chunk with its seal: signed once, so a retried write writes the same bytes. */
  private seal(chunk: Chunk): void {
    const line = sealLine(signSeal(this.sealBody('batch', chunk.lastSeq, this.outbox.lastHash(chunk), chunk.count), this.options.signingKey, this.publicKeyRaw));
    this.outbox.close(chunk, line);
    this.files.account(chunk.name, line.length);
  }

  /** A seal covering no events (start, shutdown) at the durable head, in the current file. */
  private async appendSeal(reason: SealReason, extra: Partial<UnsignedSeal> = {}): Promise<void> {
    const line = sealLine(signSeal({ ...this.sealBody(reason, this.headSeq, this.headHash, 0), ...extra }, this.options.signingKey, this.publicKeyRaw));
    const name = this.files.placeOther(new Date(this.now()).toISOString().slice(0, 10), line.length);
    await this.appender.appendLine(name, line);
    await this.appender.sync();
  }

  private sealBody(reason: SealReason, seq: number, hash: string, count: number): UnsignedSeal {
    return { reason, instance: this.options.instance, run_started: this.runStarted, ts: new Date(this.now()).toISOString(), seq, hash, count };
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.work.then(task, task);
    this.work = next.catch((error: unknown) => this.writeFailed(error, 'task'));
    return this.work;
  }

  private async writeCheckpoint(reason: CheckpointReason): Promise<void> {
    if (this.headSeq === 0 || this.headSeq === this.checkpointedSeq) return;
    await this.checkpoints.append({ kind: 'head', reason, seq: this.headSeq, hash: this.headHash, file: this.headFile, dropped: this.dropped() });
    this.checkpointedSeq = this.headSeq;
  }

  private dropped(): number {
    return this.batcher.dropped + this.externalDropped;
  }

  private async prune(): Promise<void> {
    const keep = new Set([this.files.current?.name ?? '', this.appender.openName].filter((n) => n !== ''));
    const { dir, instance, retentionDays } = this.options;
    await pruneExpired({ dir, instance, retentionDays, now: this.now(), keep, checkpoints: this.checkpoints, dropped: this.dropped(), log: this.log });
  }

  private startTimers(): void {
    this.batcher.start();
    const flush = setInterval(() => {
      if (this.unwritten() > 0) void this.flush();
    }, this.options.flushIntervalMs);
    this.flushTimer = flush;
    const checkpoint = setInterval(() => {
      void this.enqueue(async () => {
        await this.drain();
        await this.writeCheckpoint('interval');
      });
    }, this.options.checkpointIntervalMs);
    const retention = setInterval(() => void this.enqueue(() => this.prune()), RETENTION_CHECK_MS);
    for (const t of [flush, checkpoint, retention]) t.unref();
    this.timers.push(flush, checkpoint, retention);
  }

  private writeFailed(error: unknown, what: string): void {
    this.writeErrors++;
    this.errorLog.error(
      () => ({ code: ErrorCodes.AUDIT_WRITE, err: error, what, buffered: this.unwritten(), dir: this.options.dir }),
      'block log: write failed; keeping the events in memory and retrying (check disk space and permissions of audit.dir)',
    );
  }
}
