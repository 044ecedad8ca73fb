// Finding where the chain continues when the writer opens audit.dir: the last complete
// event of the newest file (an incomplete last line, left by a crash in mid-write, is cut).
import { mkdir, truncate } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { CheckpointLog } from './checkpoint-log.ts';
import { GENESIS } from './event.ts';
import { type EventFile, lastCompleteLine, listEventFiles } from './files.ts';
import type { CurrentFile } from './rotation.ts';

export interface RecoveredChain {
  /** The last event on disk (0 and GENESIS for an empty log), and its file ('' when none). */
  seq: number;
  hash: string;
  file: string;
  /** The newest event file and its size: new events go on in it. */
  current: CurrentFile | undefined;
  /** seq of the last signed head checkpoint (or `seq` when there is none). */
  checkpointedSeq: number;
}

/** Creates audit.dir when missing; throws DnswardError naming the key when it cannot. */
export async function ensureAuditDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new DnswardError(ErrorCodes.AUDIT_WRITE, `audit.dir: cannot create ${dir}: ${(error as Error).message}; create it or point audit.dir elsewhere`, { cause: error });
  }
}

export async function recoverChain(dir: string, instance: string, checkpoints: CheckpointLog, log: Logger): Promise<RecoveredChain> {
  const files = await listEventFiles(dir, instance);
  const newest = files.at(-1);
  const chain: RecoveredChain = { seq: 0, hash: GENESIS, file: '', current: newest ? { date: newest.date, index: newest.index, name: newest.name, bytes: 0 } : undefined, checkpointedSeq: 0 };
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i] as EventFile;
    const tail = await lastCompleteLine(f.path);
    if (tail.size > tail.completeEnd) {
      // An interrupted write (crash, power cut): the partial line was never a record.
      log.warn({ file: f.name, bytes: tail.size - tail.completeEnd }, 'block log: removing the incomplete last line of an interrupted write');
      await truncate(f.path, tail.completeEnd);
    }
    if (f === newest && chain.current) chain.current.bytes = tail.completeEnd;
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
    chain.seq = chain.checkpointedSeq = record.seq as number;
    chain.hash = record.hash;
    chain.file = f.name;
    break;
  }
  const cp = await checkpoints.last();
  if (cp && cp.kind === 'head') {
    chain.checkpointedSeq = cp.seq;
    if (cp.seq > chain.seq) {
      log.error(
        { code: ErrorCodes.AUDIT_CHAIN, checkpointSeq: cp.seq, logSeq: chain.seq },
        'block log is shorter than its last signed checkpoint (records were removed); continuing from the last record; "dnsward audit verify" will report it',
      );
    }
  }
  return chain;
}
