// The block-log writer: the DecisionSink that makes decisions durable. It wires the parts
// and owns the order of disk work:
//   batcher.ts    record() pushes; batches are handed on every 512 decisions or 20 ms
//   encoder.ts    decisions become chained, hashed lines (rotation.ts picks the file)
//   outbox.ts     the lines wait in reused blocks, per file
//   appender.ts   one append per chunk, resumed after errors, fdatasync
//   recovery.ts   where the chain continues at open
//   checkpoint-log.ts, retention.ts   signed checkpoints, deleting expired files
// One promise chain serialises every disk operation, so lines, checkpoints and pruning
// never interleave. A disk error keeps the encoded lines for the next attempt; memory is
// bounded by audit.max_buffered (the batcher counts drops, signed into the next checkpoint).
import type { KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors.ts';
import { EventAppender } from './appender.ts';
import { Batcher } from './batcher.ts';
import type { CheckpointReason } from './checkpoint.ts';
import { CheckpointLog } from './checkpoint-log.ts';
import { ChainEncoder } from './encoder.ts';
import { publicKeyFileName } from './files.ts';
import { publicKeyPem, rawPublicKey } from './keys.ts';
import { Outbox } from './outbox.ts';
import { type RecoveredChain, ensureAuditDir, recoverChain } from './recovery.ts';
import { pruneExpired } from './retention.ts';
import { FileRotation } from './rotation.ts';
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

export class AuditWriter implements DecisionSink {
  private readonly options: AuditWriterOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly batcher: Batcher<Decision>;
  private readonly encoder: ChainEncoder;
  private readonly files: FileRotation;
  private readonly outbox = new Outbox();
  private readonly appender: EventAppender;
  private readonly checkpoints: CheckpointLog;
  private readonly errorLog: ThrottledLog;
  /** Durable head: the last event on disk. */
  private headSeq: number;
  private headHash: string;
  private headFile: string;
  private checkpointedSeq: number;
  private work: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;
  private written = 0;
  private writeErrors = 0;
  private externalDropped = 0;

  private constructor(options: AuditWriterOptions, log: Logger, checkpoints: CheckpointLog, chain: RecoveredChain) {
    this.options = options;
    this.log = log;
    this.now = options.now ?? Date.now;
    this.checkpoints = checkpoints;
    this.errorLog = new ThrottledLog(log);
    this.batcher = new Batcher({ batchSize: options.maxBatch, intervalMs: options.flushIntervalMs, maxBuffered: options.maxBuffered, onBatch: this.onBatch, logger: log });
    this.encoder = new ChainEncoder(options.instance, options.pseudonymize, chain);
    this.files = new FileRotation(options.instance, options.maxFileBytes, chain.current);
    this.appender = new EventAppender(options.dir, options.fsync);
    this.headSeq = chain.seq;
    this.headHash = chain.hash;
    this.headFile = chain.file;
    this.checkpointedSeq = chain.checkpointedSeq;
  }

  /** Opens the log: recovers the chain head from the newest file, applies retention, starts the timers. */
  static async open(options: AuditWriterOptions): Promise<AuditWriter> {
    const { dir, instance, signingKey } = options;
    const log = options.logger.child({ component: 'audit' });
    const now = options.now ?? Date.now;
    const publicKeyRaw = rawPublicKey(signingKey);
    await ensureAuditDir(dir);
    const checkpoints = new CheckpointLog({ dir, instance, signingKey, publicKeyRaw, runStarted: new Date(now()).toISOString(), fsync: options.fsync, now });
    const chain = await recoverChain(dir, instance, checkpoints, log);
    await writeFile(join(dir, publicKeyFileName(instance)), publicKeyPem(signingKey));
    log.info({ dir, seq: chain.seq, file: chain.file || undefined, key: publicKeyRaw }, 'block log opened');
    const writer = new AuditWriter(options, log, checkpoints, chain);
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

  /** Flushes, writes a shutdown checkpoint, and closes the files. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.batcher.close();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closing = this.enqueue(async () => {
      for (let attempt = 0; attempt < 3 && this.unwritten() > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        await this.drain();
      }
      const lost = this.unwritten();
      if (lost > 0) this.log.error({ code: ErrorCodes.AUDIT_WRITE, events: lost }, 'block log: events could not be written before shutdown');
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

  private encodePending(): void {
    if (this.batcher.size === 0) return;
    this.encoder.encode(this.batcher.take(), this.files, this.outbox);
    this.batcher.held = this.outbox.events;
  }

  private async drain(): Promise<void> {
    this.encodePending();
    try {
      for (let chunk = this.outbox.first; chunk; chunk = this.outbox.first) {
        await this.appender.write(chunk);
        this.outbox.completeFirst();
        this.batcher.held = this.outbox.events;
        this.written += chunk.count;
        this.headSeq = chunk.lastSeq;
        this.headHash = chunk.lastHash;
        this.headFile = chunk.name;
      }
      await this.appender.sync();
    } catch (error) {
      this.writeFailed(error, 'events');
      await this.appender.close().catch(() => undefined);
    }
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
