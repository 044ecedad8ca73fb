// `audit verify`: the checkpoints file of one instance, read before the chain so that the walk
// can compare every checkpointed seq on the way.
import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkCheckpointSignature, isCheckpoint, type Checkpoint } from './checkpoint.ts';
import { fileSafeInstance, readLines } from './files.ts';
import { publicKeyFromRaw } from './keys.ts';
import { terminalSafe } from './terminal.ts';

export interface LoadedCheckpoint {
  cp: Checkpoint;
  file: string;
  line: number;
}

export interface CheckpointFinding {
  file: string;
  line: number;
  seq?: number;
  message: string;
}

export interface LoadedCheckpoints {
  exists: boolean;
  heads: Map<number, LoadedCheckpoint>;
  prunes: Map<number, LoadedCheckpoint>;
  maxHead: LoadedCheckpoint | undefined;
  /** Good checkpoints. */
  count: number;
  keys: Set<string>;
  /** run_started of runs with a shutdown checkpoint (they ended cleanly). */
  shutdownRuns: Set<string>;
  /** The first problem, if any. */
  problem: CheckpointFinding | undefined;
  notes: string[];
}

/** `path` undefined: no checkpoints file belongs to what is checked (an export). */
export async function loadCheckpoints(path: string | undefined, instance: string, pinned: KeyObject[] | undefined): Promise<LoadedCheckpoints> {
  const out: LoadedCheckpoints = { exists: false, heads: new Map(), prunes: new Map(), maxHead: undefined, count: 0, keys: new Set(), shutdownRuns: new Set(), problem: undefined, notes: [] };
  out.exists = path !== undefined && (await stat(path).then(() => true, () => false));
  if (!out.exists || path === undefined) return out;
  const name = basename(path);
  const fail = (f: CheckpointFinding): void => {
    out.problem ??= f;
  };
  for await (const line of readLines(path)) {
    const where = { file: name, line: line.number };
    if (!line.complete) {
      fail({ ...where, message: 'incomplete last checkpoint line (write interrupted or file cut)' });
      break;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.text);
    } catch {
      fail({ ...where, message: 'checkpoint is not valid JSON (edited or cut)' });
      continue;
    }
    if (!isCheckpoint(parsed)) {
      fail({ ...where, message: 'not a checkpoint record (missing type, kind, seq, hash, key or sig)' });
      continue;
    }
    if (fileSafeInstance(parsed.instance) !== instance) {
      fail({ ...where, seq: parsed.seq, message: `checkpoint belongs to instance ${JSON.stringify(parsed.instance)}, not "${instance}"` });
      continue;
    }
    const bad = checkSignature(parsed, pinned);
    if (bad) {
      fail({ ...where, seq: parsed.seq, message: `checkpoint ${bad}` });
      continue;
    }
    out.keys.add(parsed.key);
    out.count++;
    const loaded = { cp: parsed, ...where };
    if (parsed.kind === 'prune') {
      out.prunes.set(parsed.seq, loaded);
    } else {
      const existing = out.heads.get(parsed.seq);
      if (existing && existing.cp.hash !== parsed.hash) {
        fail({ ...where, seq: parsed.seq, message: `two signed checkpoints disagree about seq ${parsed.seq} (also ${existing.file}:${existing.line}): the log was rewritten between them` });
      }
      out.heads.set(parsed.seq, loaded);
      if (!out.maxHead || parsed.seq >= out.maxHead.cp.seq) out.maxHead = loaded;
      if (parsed.reason === 'shutdown') out.shutdownRuns.add(parsed.run_started);
    }
    if (parsed.dropped > 0) out.notes.push(`instance ${instance}: ${parsed.dropped} decisions were not recorded (buffer full, or not encodable: see the log) in the run started ${terminalSafe(String(parsed.run_started))} (checkpoint ${name}:${line.number})`);
  }
  return out;
}

/** Undefined when signed by a pinned key (or, without pins, by the key the record names); otherwise what is wrong. */
export function checkSignature(record: { key: string; sig: string }, pinned: KeyObject[] | undefined): string | undefined {
  if (pinned && pinned.length > 0) {
    return pinned.some((key) => checkCheckpointSignature(record, key) === undefined) ? undefined : 'is not signed by the pinned public key';
  }
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(record.key);
  } catch {
    return 'names a malformed public key';
  }
  const bad = checkCheckpointSignature(record, key);
  return bad === undefined ? undefined : `has a ${bad}`;
}
