// A hash-chained JSON Lines file with signed checkpoints, for the fleet's own logs in audit.dir:
// the admin change log (changes-<instance>.jsonl) and the witness log (witness-<instance>.jsonl).
// The same chain as the block log (src/audit/event.ts: canonical JSON, SHA-256, seq and prev)
// and the same checkpoints (src/audit/checkpoint.ts: Ed25519 over the head), so `audit verify`
// checks them with the same rules. Names never match the block log's, so its readers skip them.
import type { KeyObject } from 'node:crypto';
import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Checkpoint, type CheckpointReason, isCheckpoint, signCheckpoint } from '../audit/checkpoint.ts';
import { canonicalize, eventHash, GENESIS, sha256Hex } from '../audit/event.ts';
import { fileSafeInstance, lastCompleteLine, readLines } from '../audit/files.ts';
import { rawPublicKey } from '../audit/keys.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { ChainHead } from '../state/types.ts';

export interface ChainRecord {
  seq: number;
  prev: string;
  hash: string;
  [member: string]: unknown;
}

export type ChainKind = 'changes' | 'witness';

export function chainFileName(kind: ChainKind, instance: string): string {
  return `${kind}-${fileSafeInstance(instance)}.jsonl`;
}

export function chainCheckpointFileName(kind: ChainKind, instance: string): string {
  return `${kind}-${fileSafeInstance(instance)}.checkpoints.jsonl`;
}

/** The file line of a record: canonical JSON of everything but the hash, then the hash. */
export function chainLine(body: Readonly<Record<string, unknown>>, seq: number, prev: string): { line: string; hash: string; record: ChainRecord } {
  const unhashed = { ...body, seq, prev };
  const canonical = canonicalize(unhashed);
  const hash = sha256Hex(canonical);
  return { line: `${canonical.slice(0, -1)},"hash":"${hash}"}`, hash, record: { ...unhashed, hash } };
}

/** Why `record` (parsed from a line) does not continue the chain at `head`, or undefined. */
export function chainProblem(record: unknown, head: ChainHead): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'not a JSON object';
  const r = record as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || typeof r.prev !== 'string' || typeof r.hash !== 'string') return 'seq, prev or hash is missing';
  if (eventHash(r) !== r.hash) return `seq ${String(r.seq)}: content does not match its hash: the record was edited`;
  if (r.seq !== head.seq + 1) return `seq ${String(r.seq)} where seq ${head.seq + 1} was expected: records are missing, repeated or out of order`;
  if (r.prev !== head.hash) return `seq ${String(r.seq)}: prev does not match the hash of seq ${head.seq}: a record was replaced or inserted`;
  return undefined;
}

export interface ChainFileOptions {
  dir: string;
  kind: ChainKind;
  instance: string;
  signingKey: KeyObject;
  fsync: boolean;
  logger: Logger;
  now?: () => number;
}

export class ChainFile {
  readonly path: string;
  readonly checkpointPath: string;
  private chainHead: ChainHead = { seq: 0, hash: GENESIS };
  private checkpointed = 0;
  private readonly options: ChainFileOptions;
  private readonly publicKeyRaw: string;
  private readonly runStarted: string;
  private work: Promise<unknown> = Promise.resolve();

  private constructor(options: ChainFileOptions) {
    this.options = options;
    this.path = join(options.dir, chainFileName(options.kind, options.instance));
    this.checkpointPath = join(options.dir, chainCheckpointFileName(options.kind, options.instance));
    this.publicKeyRaw = rawPublicKey(options.signingKey);
    this.runStarted = new Date((options.now ?? Date.now)()).toISOString();
  }

  /**
   * Opens (or starts) the file and checks its chain, calling onRecord for each record in order.
   * A cut last line (a crash in mid-write) is removed; any other damage stops with
   * DNSWARD_ERR_AUDIT_CHAIN naming file:line, as the block log does.
   */
  static async open(options: ChainFileOptions, onRecord?: (record: ChainRecord, line: string) => void): Promise<ChainFile> {
    const file = new ChainFile(options);
    const log = options.logger;
    try {
      for await (const line of readLines(file.path)) {
        if (!line.complete) {
          log.warn({ file: file.path, bytes: line.end - line.start }, 'removing the incomplete last line of an interrupted write');
          await truncate(file.path, line.start);
          break;
        }
        let record: unknown;
        try {
          record = JSON.parse(line.text);
        } catch {
          record = undefined;
        }
        const problem = chainProblem(record, file.chainHead);
        if (problem) {
          throw new DnswardError(ErrorCodes.AUDIT_CHAIN, `${file.path}:${line.number}: ${problem}; run "dnsward audit verify ${options.dir}", move the damaged file out of audit.dir and start again`);
        }
        const r = record as ChainRecord;
        file.chainHead = { seq: r.seq, hash: r.hash };
        onRecord?.(r, line.text);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const cp = await file.lastCheckpoint();
    file.checkpointed = cp?.seq ?? 0;
    if (cp && cp.seq > file.chainHead.seq) {
      log.error({ code: ErrorCodes.AUDIT_CHAIN, file: file.path, checkpointSeq: cp.seq, seq: file.chainHead.seq }, 'this log is shorter than its last signed checkpoint (records were removed); "dnsward audit verify" will report it');
    }
    return file;
  }

  get head(): ChainHead {
    return { ...this.chainHead };
  }

  /** Appends records chained elsewhere (JSON lines); each must continue the head. Serialised with the other writes. */
  appendChained(lines: readonly string[]): Promise<ChainRecord[]> {
    return this.serial(async () => {
      const records: ChainRecord[] = [];
      let head = this.chainHead;
      for (const line of lines) {
        const record: unknown = JSON.parse(line);
        const problem = chainProblem(record, head);
        if (problem) throw new DnswardError(ErrorCodes.AUDIT_CHAIN, `${this.path}: a record to append does not continue the chain: ${problem}`);
        const r = record as ChainRecord;
        head = { seq: r.seq, hash: r.hash };
        records.push(r);
      }
      await this.write(lines.map((l) => canonicalLine(l)));
      this.chainHead = head;
      return records;
    });
  }

  /** Chains `body` after the head and appends it. */
  appendNew(body: Readonly<Record<string, unknown>>): Promise<ChainRecord> {
    return this.serial(async () => {
      const { line, hash, record } = chainLine(body, this.chainHead.seq + 1, this.chainHead.hash);
      await this.write([line]);
      this.chainHead = { seq: record.seq, hash };
      return record;
    });
  }

  /** Signs the head into the checkpoints file when it moved since the last checkpoint. */
  checkpoint(reason: CheckpointReason): Promise<Checkpoint | undefined> {
    return this.serial(async () => {
      const { seq, hash } = this.chainHead;
      if (seq === 0 || seq === this.checkpointed) return undefined;
      const now = (this.options.now ?? Date.now)();
      const cp = signCheckpoint(
        { kind: 'head', reason, instance: this.options.instance, ts: new Date(now).toISOString(), seq, hash, file: chainFileName(this.options.kind, this.options.instance), dropped: 0, run_started: this.runStarted },
        this.options.signingKey,
        this.publicKeyRaw,
      );
      await appendLines(this.checkpointPath, [JSON.stringify(cp)], this.options.fsync);
      this.checkpointed = seq;
      return cp;
    });
  }

  /** Waits for the writes queued so far. */
  async idle(): Promise<void> {
    await this.work.catch(() => undefined);
  }

  private async lastCheckpoint(): Promise<Checkpoint | undefined> {
    try {
      const { text } = await lastCompleteLine(this.checkpointPath);
      const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
      return isCheckpoint(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  private write(lines: readonly string[]): Promise<void> {
    return appendLines(this.path, lines, this.options.fsync);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.work.then(task, task);
    this.work = next.catch(() => undefined);
    return next;
  }
}

/** A record line as stored elsewhere (any member order) in the file's canonical order with the hash last. */
function canonicalLine(line: string): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  const canonical = canonicalize(record);
  return `${canonical.slice(0, -1)},"hash":"${String(record.hash)}"}`;
}

async function appendLines(path: string, lines: readonly string[], fsync: boolean): Promise<void> {
  if (lines.length === 0) return;
  const handle = await open(path, 'a', 0o640);
  try {
    await handle.write(lines.map((l) => `${l}\n`).join(''));
    if (fsync) await handle.datasync();
  } finally {
    await handle.close();
  }
}
