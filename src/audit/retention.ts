// Retention: event files dated more than audit.retention_days ago are deleted, after a
// signed prune checkpoint names the last deleted event, so that the first remaining event's
// `prev` is accounted for and retention is told apart from someone deleting old files.
import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CheckpointLog } from './checkpoint-log.ts';
import { type EventFile, lastCompleteLine, listEventFiles } from './files.ts';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  dir: string;
  instance: string;
  /** 0 = keep forever. */
  retentionDays: number;
  now: number;
  /** Files never to delete (the current file, the one open for appending). */
  keep: ReadonlySet<string>;
  checkpoints: CheckpointLog;
  /** Signed into the prune checkpoint (decisions dropped so far this run). */
  dropped: number;
  log: Logger;
}

/** Deletes the expired files; returns their names (oldest first). */
export async function pruneExpired(options: RetentionOptions): Promise<string[]> {
  if (options.retentionDays === 0) return [];
  const cutoff = new Date(options.now - options.retentionDays * DAY_MS).toISOString().slice(0, 10);
  const files = (await listEventFiles(options.dir, options.instance)).filter((f) => f.date < cutoff && !options.keep.has(f.name));
  if (files.length === 0) return [];
  // The chain continues in the remaining files: the first of them has prev = hash of the last deleted event.
  let last: { seq: number; hash: string; file: string } | undefined;
  for (let i = files.length - 1; i >= 0 && !last; i--) {
    const f = files[i] as EventFile;
    const { text } = await lastCompleteLine(f.path);
    if (text === undefined) continue;
    const record = JSON.parse(text) as { seq: number; hash: string };
    last = { seq: record.seq, hash: record.hash, file: f.name };
  }
  if (last) await options.checkpoints.append({ kind: 'prune', reason: 'retention', ...last, dropped: options.dropped });
  for (const f of files) await unlink(f.path);
  if (last) await options.checkpoints.dropThrough(last.seq);
  options.log.info({ files: files.map((f) => f.name), throughSeq: last?.seq }, 'block log: removed files past retention');
  return files.map((f) => f.name);
}
