// The checkpoints file of one instance (audit-<instance>.checkpoints.jsonl): signs and
// appends checkpoints, reads the last one, and drops those about events retention deleted.
import type { KeyObject } from 'node:crypto';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Checkpoint, type CheckpointReason, isCheckpoint, signCheckpoint } from './checkpoint.ts';
import { checkpointFileName, lastCompleteLine } from './files.ts';

export interface CheckpointLogOptions {
  dir: string;
  instance: string;
  signingKey: KeyObject;
  /** rawPublicKey(signingKey), computed once. */
  publicKeyRaw: string;
  /** When the writing process started (ISO): tells runs apart. */
  runStarted: string;
  fsync: boolean;
  now: () => number;
}

export interface CheckpointFields {
  kind: Checkpoint['kind'];
  reason: CheckpointReason;
  seq: number;
  hash: string;
  file: string;
  /** Decisions this run could not record (buffer full). */
  dropped: number;
}

export class CheckpointLog {
  readonly path: string;
  /** Checkpoints appended by this process. */
  appended = 0;
  private readonly options: CheckpointLogOptions;

  constructor(options: CheckpointLogOptions) {
    this.options = options;
    this.path = join(options.dir, checkpointFileName(options.instance));
  }

  /** The last complete checkpoint line, or undefined (no file, empty, or not a checkpoint). */
  async last(): Promise<Checkpoint | undefined> {
    try {
      const { text } = await lastCompleteLine(this.path);
      if (text === undefined) return undefined;
      const parsed: unknown = JSON.parse(text);
      return isCheckpoint(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /** Signs and appends one checkpoint (fdatasync with audit.fsync). */
  async append(fields: CheckpointFields): Promise<Checkpoint> {
    const { instance, signingKey, publicKeyRaw, runStarted, fsync, now } = this.options;
    const { kind, reason, seq, hash, file, dropped } = fields;
    const cp = signCheckpoint({ kind, reason, seq, hash, file, instance, ts: new Date(now()).toISOString(), dropped, run_started: runStarted }, signingKey, publicKeyRaw);
    const handle = await open(this.path, 'a', 0o640);
    try {
      await handle.write(JSON.stringify(cp) + '\n');
      if (fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    this.appended++;
    return cp;
  }

  /** Drops checkpoints about events up to `throughSeq` (keeping the prune checkpoint for it); atomic rename. */
  async dropThrough(throughSeq: number): Promise<void> {
    const text = await readFile(this.path, 'utf8');
    const kept = text.split('\n').filter((line) => {
      if (line.trim() === '') return false;
      try {
        const cp = JSON.parse(line) as Checkpoint;
        return cp.seq > throughSeq || (cp.kind === 'prune' && cp.seq === throughSeq);
      } catch {
        return true; // keep what we cannot read: verify will report it
      }
    });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, kept.map((l) => l + '\n').join(''), { mode: 0o640 });
    await rename(tmp, this.path);
  }
}
