// The block-log writer: the DecisionSink that makes decisions durable.
//
// record() only pushes the decision onto an array (the DNS hot path pays nothing else).
// A timer (audit.flush_interval_ms, at most 1 s) or a full batch turns the array into
// chained JSON lines and appends them with one write per file; one promise chain
// serialises every disk operation, so lines, checkpoints and pruning never interleave.
// Disk errors keep the encoded lines for the next attempt; memory is bounded by
// audit.max_buffered, beyond which decisions are counted as dropped (and the count is
// signed into the next checkpoint) rather than ever blocking DNS.
import type { KeyObject } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { type Checkpoint, type CheckpointReason, isCheckpoint, signCheckpoint } from './checkpoint.ts';
import { type EventBody, GENESIS, encodeEventInto, maxEventBytes, qtypeName } from './event.ts';
import { type EventFile, checkpointFileName, eventFileName, lastCompleteLine, listEventFiles, publicKeyFileName } from './files.ts';
import { publicKeyPem, rawPublicKey } from './keys.ts';
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

interface Block {
  buf: Buffer;
  used: number;
}

interface Chunk {
  name: string;
  blocks: Block[];
  /** Set once writing has started: the chunk then takes no more lines. */
  writing: boolean;
  /** Progress of a write interrupted by an error: next block, and bytes of it already written. */
  blockIndex: number;
  blockOffset: number;
  count: number;
  lastSeq: number;
  lastHash: string;
}

const BLOCK_BYTES = 1 << 20;
/**
 * Decisions are encoded every ENCODE_BATCH of them or ENCODE_MS: held for a whole flush interval
 * they would outlive V8's young generation (dnsward runs with a small one) and cost old-space
 * collections. Writing follows flush_interval_ms.
 */
const ENCODE_BATCH = 512;
const ENCODE_MS = 20;
const POOLED_BLOCKS = 8;

interface CurrentFile {
  date: string;
  index: number;
  name: string;
  /** Bytes on disk plus bytes queued for it (approximate: characters). */
  bytes: number;
}

const DAY_MS = 86_400_000;
const ERROR_LOG_INTERVAL_MS = 10_000;

export class AuditWriter implements DecisionSink {
  private readonly options: AuditWriterOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly publicKeyRaw: string;
  private readonly runStarted: string;
  private pending: Decision[] = [];
  private outbox: Chunk[] = [];
  private outboxEvents = 0;
  /** Chain state at encode time. */
  private seq = 0;
  private prev = GENESIS;
  /** Durable head. */
  private headSeq = 0;
  private headHash = GENESIS;
  private headFile = '';
  private checkpointedSeq = 0;
  private file: CurrentFile | undefined;
  private handle: FileHandle | undefined;
  private handleName = '';
  private dirty = false;
  private work: Promise<void> = Promise.resolve();
  private batchScheduled = false;
  private encodeScheduled = false;
  private readonly encodeBatch: number;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private lastErrorLog = 0;
  /** Under load many events share a millisecond: format each one once. */
  private lastTs = Number.NaN;
  private lastIso = '';
  private lastDropLog = 0;
  private readonly counts = { recorded: 0, written: 0, dropped: 0, writeErrors: 0, checkpoints: 0 };
  private externalDropped = 0;

  private constructor(options: AuditWriterOptions) {
    this.options = options;
    this.encodeBatch = Math.min(ENCODE_BATCH, options.maxBatch);
    this.log = options.logger.child({ component: 'audit' });
    this.now = options.now ?? Date.now;
    this.publicKeyRaw = rawPublicKey(options.signingKey);
    this.runStarted = new Date(this.now()).toISOString();
  }

  /** Opens the log: recovers the chain head from the newest file, applies retention, starts the timers. */
  static async open(options: AuditWriterOptions): Promise<AuditWriter> {
    const writer = new AuditWriter(options);
    await writer.recover();
    await writer.prune();
    writer.startTimers();
    return writer;
  }

  get checkpointPath(): string {
    return join(this.options.dir, checkpointFileName(this.options.instance));
  }

  /** Hot path: never throws, never waits. */
  record(decision: Decision): void {
    if (this.closed) return;
    if (this.pending.length + this.outboxEvents >= this.options.maxBuffered) {
      this.counts.dropped++;
      this.noteDrop();
      return;
    }
    this.counts.recorded++;
    this.pending.push(decision);
    if (this.pending.length >= this.encodeBatch && !this.encodeScheduled) {
      this.encodeScheduled = true;
      setImmediate(this.encodeSoon);
    }
  }

  /** Decisions become lines in small batches (they die young); a full batch of lines is written at once. */
  private readonly encodeSoon = (): void => {
    this.encodeScheduled = false;
    this.encodePending();
    if (this.outboxEvents >= this.options.maxBatch && !this.batchScheduled) {
      this.batchScheduled = true;
      void this.flush().finally(() => {
        this.batchScheduled = false;
      });
    }
  };

  /** Writes everything recorded so far (resolves when it is on disk, or when the attempt failed and was logged). */
  flush(): Promise<void> {
    return this.enqueue(() => this.drain());
  }

  /** Flushes, writes a shutdown checkpoint, and closes the files. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closing = this.enqueue(async () => {
      for (let attempt = 0; attempt < 3 && (this.pending.length > 0 || this.outbox.length > 0); attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        await this.drain();
      }
      const lost = this.pending.length + this.outboxEvents;
      if (lost > 0) this.log.error({ code: ErrorCodes.AUDIT_WRITE, events: lost }, 'block log: events could not be written before shutdown');
      await this.writeCheckpoint('head', 'shutdown').catch((error: unknown) => this.writeFailed(error, 'shutdown checkpoint'));
      await this.closeHandle();
      this.log.info({ seq: this.headSeq, written: this.counts.written, dropped: this.counts.dropped }, 'block log closed');
    });
    return this.closing;
  }

  /** Decisions dropped before they reached this writer (the worker-thread proxy's buffer): signed into checkpoints. */
  setExternalDropped(count: number): void {
    this.externalDropped = count;
  }

  stats(): AuditWriterStats {
    return { ...this.counts, buffered: this.pending.length + this.outboxEvents, seq: this.headSeq };
  }

  // ---- chain and files ---------------------------------------------------------------

  private async recover(): Promise<void> {
    const { dir, instance } = this.options;
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new DnswardError(ErrorCodes.AUDIT_WRITE, `audit.dir: cannot create ${dir}: ${(error as Error).message}; create it or point audit.dir elsewhere`, { cause: error });
    }
    const files = await listEventFiles(dir, instance);
    const newest = files.at(-1);
    if (newest) this.file = { date: newest.date, index: newest.index, name: newest.name, bytes: 0 };
    for (let i = files.length - 1; i >= 0; i--) {
      const f = files[i] as EventFile;
      const tail = await lastCompleteLine(f.path);
      if (tail.size > tail.completeEnd) {
        // An interrupted write (crash, power cut): the partial line was never a record.
        this.log.warn({ file: f.name, bytes: tail.size - tail.completeEnd }, 'block log: removing the incomplete last line of an interrupted write');
        await truncate(f.path, tail.completeEnd);
      }
      if (f === newest && this.file) this.file.bytes = tail.completeEnd;
      if (tail.text === undefined) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(tail.text);
      } catch {
        parsed = undefined;
      }
      const record = parsed as { seq?: unknown; hash?: unknown } | undefined;
      if (!record || !Number.isSafeInteger(record.seq) || typeof record.hash !== 'string' || !/^[0-9a-f]{64}$/.test(record.hash)) {
        throw new DnswardError(
          ErrorCodes.AUDIT_CHAIN,
          `block log ${f.path}: the last line is not a valid event, so the chain cannot be continued; run "dnsward audit verify ${dir}", move the damaged file out of audit.dir and start again`,
        );
      }
      this.seq = this.headSeq = this.checkpointedSeq = record.seq as number;
      this.prev = this.headHash = record.hash;
      this.headFile = f.name;
      break;
    }
    const cp = await this.lastCheckpoint();
    if (cp && cp.kind === 'head') {
      this.checkpointedSeq = cp.seq;
      if (cp.seq > this.headSeq) {
        this.log.error(
          { code: ErrorCodes.AUDIT_CHAIN, checkpointSeq: cp.seq, logSeq: this.headSeq },
          'block log is shorter than its last signed checkpoint (records were removed); continuing from the last record; "dnsward audit verify" will report it',
        );
      }
    }
    await writeFile(join(dir, publicKeyFileName(instance)), publicKeyPem(this.options.signingKey));
    this.log.info({ dir, seq: this.headSeq, file: this.headFile || undefined, key: this.publicKeyRaw }, 'block log opened');
  }

  private async lastCheckpoint(): Promise<Checkpoint | undefined> {
    try {
      const { text } = await lastCompleteLine(this.checkpointPath);
      if (text === undefined) return undefined;
      const parsed: unknown = JSON.parse(text);
      return isCheckpoint(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Turns buffered decisions into chained lines now (the worker does this on receipt, so decisions die young). */
  encodeBuffered(): void {
    this.encodePending();
  }

  private encodePending(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const { instance, pseudonymize } = this.options;
    let chunk: Chunk | undefined = this.outbox.at(-1);
    if (chunk && chunk.writing) chunk = undefined; // never append to a chunk being written
    for (const d of batch) {
      if (d.ts !== this.lastTs) {
        this.lastTs = d.ts;
        this.lastIso = new Date(d.ts).toISOString();
      }
      const body: EventBody = {
        ts: this.lastIso,
        instance,
        segment: d.segment,
        client: d.pseudonymize ? pseudonymize(d.client) : d.client,
        qname: d.qname,
        qtype: qtypeName(d.qtype),
        action: d.action,
        list: d.list,
        rule: d.rule,
        list_version: d.listVersion,
        response: d.response,
      };
      const seq = this.seq + 1;
      const need = maxEventBytes(body);
      if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
      const { end: bytes, hash } = encodeEventInto(this.scratch, 0, body, seq, this.prev);
      this.seq = seq;
      this.prev = hash;
      const target = this.targetFile(body.ts.slice(0, 10), bytes);
      target.bytes += bytes;
      if (!chunk || chunk.name !== target.name) {
        chunk = { name: target.name, blocks: [], writing: false, blockIndex: 0, blockOffset: 0, count: 0, lastSeq: 0, lastHash: '' };
        this.outbox.push(chunk);
      }
      // Into reused blocks until written: lines held as strings for a flush interval would be
      // promoted to old space, and fresh Buffers at ~20 MB/s would keep the collector busy.
      let block = chunk.blocks.at(-1);
      if (!block || block.buf.length - block.used < bytes) {
        block = this.takeBlock(bytes);
        chunk.blocks.push(block);
      }
      block.used += this.scratch.copy(block.buf, block.used, 0, bytes);
      chunk.count++;
      chunk.lastSeq = seq;
      chunk.lastHash = hash;
      this.outboxEvents++;
    }
  }

  private readonly pool: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(8192);

  private takeBlock(atLeast: number): Block {
    const pooled = atLeast <= BLOCK_BYTES ? this.pool.pop() : undefined;
    return { buf: pooled ?? Buffer.allocUnsafeSlow(Math.max(BLOCK_BYTES, atLeast)), used: 0 };
  }

  private releaseBlocks(chunk: Chunk): void {
    for (const b of chunk.blocks) if (b.buf.length === BLOCK_BYTES && this.pool.length < POOLED_BLOCKS) this.pool.push(b.buf);
    chunk.blocks = [];
  }

  /** Daily files (UTC date of the event, never going back) and a new index when the size limit is reached. */
  private targetFile(date: string, lineBytes: number): CurrentFile {
    const current = this.file;
    if (!current || date > current.date) {
      const index = 0;
      this.file = { date, index, name: eventFileName(this.options.instance, date, index), bytes: 0 };
    } else if (current.bytes > 0 && current.bytes + lineBytes > this.options.maxFileBytes) {
      const index = current.index + 1;
      this.file = { date: current.date, index, name: eventFileName(this.options.instance, current.date, index), bytes: 0 };
    }
    return this.file as CurrentFile;
  }

  private async drain(): Promise<void> {
    this.encodePending();
    try {
      while (this.outbox.length > 0) {
        const chunk = this.outbox[0] as Chunk;
        const handle = await this.handleFor(chunk.name);
        chunk.writing = true;
        while (chunk.blockIndex < chunk.blocks.length) {
          const block = chunk.blocks[chunk.blockIndex] as Block;
          while (chunk.blockOffset < block.used) {
            const { bytesWritten } = await handle.write(block.buf, chunk.blockOffset, block.used - chunk.blockOffset);
            chunk.blockOffset += bytesWritten;
            this.dirty = true;
          }
          chunk.blockIndex++;
          chunk.blockOffset = 0;
        }
        this.outbox.shift();
        this.releaseBlocks(chunk);
        this.outboxEvents -= chunk.count;
        this.counts.written += chunk.count;
        this.headSeq = chunk.lastSeq;
        this.headHash = chunk.lastHash;
        this.headFile = chunk.name;
      }
      await this.sync();
    } catch (error) {
      this.writeFailed(error, 'events');
      await this.closeHandle().catch(() => undefined);
    }
  }

  private async handleFor(name: string): Promise<FileHandle> {
    if (this.handle && this.handleName === name) return this.handle;
    await this.closeHandle();
    this.handle = await open(join(this.options.dir, name), 'a', 0o640);
    this.handleName = name;
    return this.handle;
  }

  private async sync(): Promise<void> {
    if (this.options.fsync && this.dirty && this.handle) await this.handle.datasync();
    this.dirty = false;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.handleName = '';
    if (!handle) return;
    try {
      await this.sync();
    } finally {
      this.dirty = false;
      await handle.close();
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.work.then(task, task);
    this.work = next.catch((error: unknown) => this.writeFailed(error, 'task'));
    return this.work;
  }

  // ---- checkpoints and retention -------------------------------------------------------

  private async writeCheckpoint(kind: 'head', reason: CheckpointReason): Promise<void> {
    if (this.headSeq === 0 || this.headSeq === this.checkpointedSeq) return;
    await this.appendCheckpoint({ kind, reason, seq: this.headSeq, hash: this.headHash, file: this.headFile });
    this.checkpointedSeq = this.headSeq;
  }

  private async appendCheckpoint(fields: { kind: Checkpoint['kind']; reason: CheckpointReason; seq: number; hash: string; file: string }): Promise<void> {
    const cp = signCheckpoint(
      { ...fields, instance: this.options.instance, ts: new Date(this.now()).toISOString(), dropped: this.counts.dropped + this.externalDropped, run_started: this.runStarted },
      this.options.signingKey,
      this.publicKeyRaw,
    );
    const handle = await open(this.checkpointPath, 'a', 0o640);
    try {
      await handle.write(JSON.stringify(cp) + '\n');
      if (this.options.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    this.counts.checkpoints++;
  }

  /** Deletes files older than retention_days (never the current one), recording a signed prune checkpoint first. */
  private async prune(): Promise<void> {
    if (this.options.retentionDays === 0) return;
    const cutoff = new Date(this.now() - this.options.retentionDays * DAY_MS).toISOString().slice(0, 10);
    const files = (await listEventFiles(this.options.dir, this.options.instance)).filter((f) => f.date < cutoff && f.name !== this.file?.name && f.name !== this.handleName);
    if (files.length === 0) return;
    // The chain continues in the remaining files: the first of them has prev = hash of the last deleted event.
    let last: { seq: number; hash: string; file: string } | undefined;
    for (let i = files.length - 1; i >= 0 && !last; i--) {
      const f = files[i] as EventFile;
      const { text } = await lastCompleteLine(f.path);
      if (text === undefined) continue;
      const record = JSON.parse(text) as { seq: number; hash: string };
      last = { seq: record.seq, hash: record.hash, file: f.name };
    }
    if (last) await this.appendCheckpoint({ kind: 'prune', reason: 'retention', ...last });
    for (const f of files) await unlink(f.path);
    if (last) await this.pruneCheckpoints(last.seq);
    this.log.info({ files: files.map((f) => f.name), throughSeq: last?.seq }, 'block log: removed files past retention');
  }

  /** Drops checkpoints about deleted events (keeping the prune checkpoint); atomic rename. */
  private async pruneCheckpoints(throughSeq: number): Promise<void> {
    const path = this.checkpointPath;
    const text = await readFile(path, 'utf8');
    const kept = text.split('\n').filter((line) => {
      if (line.trim() === '') return false;
      try {
        const cp = JSON.parse(line) as Checkpoint;
        return cp.seq > throughSeq || (cp.kind === 'prune' && cp.seq === throughSeq);
      } catch {
        return true; // keep what we cannot read: verify will report it
      }
    });
    const tmp = `${path}.tmp`;
    await writeFile(tmp, kept.map((l) => l + '\n').join(''), { mode: 0o640 });
    await rename(tmp, path);
  }

  private startTimers(): void {
    const encode = setInterval(() => {
      if (this.pending.length > 0) this.encodeSoon();
    }, Math.min(ENCODE_MS, this.options.flushIntervalMs));
    const flush = setInterval(() => {
      if (this.pending.length > 0 || this.outbox.length > 0) void this.flush();
    }, this.options.flushIntervalMs);
    const checkpoint = setInterval(() => {
      void this.enqueue(async () => {
        await this.drain();
        await this.writeCheckpoint('head', 'interval');
      });
    }, this.options.checkpointIntervalMs);
    const retention = setInterval(() => void this.enqueue(() => this.prune()), 3_600_000);
    for (const t of [encode, flush, checkpoint, retention]) t.unref();
    this.timers.push(encode, flush, checkpoint, retention);
  }

  // ---- errors --------------------------------------------------------------------------

  private writeFailed(error: unknown, what: string): void {
    this.counts.writeErrors++;
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.log.error(
      { code: ErrorCodes.AUDIT_WRITE, err: error, what, buffered: this.pending.length + this.outboxEvents, dir: this.options.dir },
      'block log: write failed; keeping the events in memory and retrying (check disk space and permissions of audit.dir)',
    );
  }

  private noteDrop(): void {
    const now = Date.now();
    if (now - this.lastDropLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastDropLog = now;
    this.log.error({ code: ErrorCodes.AUDIT_WRITE, dropped: this.counts.dropped, maxBuffered: this.options.maxBuffered }, 'block log: buffer full, decisions dropped (the count is signed into the next checkpoint)');
  }
}
