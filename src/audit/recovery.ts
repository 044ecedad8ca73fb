// Where the chain continues when the writer opens audit.dir. Only the signed prefix is
// trusted: the chain continues from the last good seal (the signature that ends each write).
// Anything after it (the unsealed lines of a write interrupted by a crash, a line cut in
// mid-write, or lines someone appended while dnsward was stopped) is moved, as it is, to
// audit-<instance>.unsealed-<run>.jsonl and described in a signed start seal, never adopted.
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { CheckpointLog } from './checkpoint-log.ts';
import { GENESIS, eventHash } from './event.ts';
import { type EventFile, fileSafeInstance, linesBackward, listEventFiles, readLines, unsealedFileName } from './files.ts';
import type { CurrentFile } from './rotation.ts';
import { type RecoveredTail, SEAL_PREFIX, type Seal, checkSealSignature, isSeal, judgeTail } from './seal.ts';

export interface RecoveredChain {
  /** The chain head the last good seal signs (0 and GENESIS when there is none). */
  seq: number;
  hash: string;
  /** The file holding that seal ('' when none). */
  file: string;
  /** The newest event file left and its size: new events go on in it. */
  current: CurrentFile | undefined;
  /** seq of the last signed head checkpoint (or `seq` when there is none). */
  checkpointedSeq: number;
  /** The last good seal. */
  anchor: Seal | undefined;
  /** What was moved aside (undefined when nothing was). */
  tail: RecoveredTail | undefined;
}

/** Creates audit.dir when missing; throws DnswardError naming the key when it cannot. */
export async function ensureAuditDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new DnswardError(ErrorCodes.AUDIT_WRITE, `audit.dir: cannot create ${dir}: ${(error as Error).message}; create it or point audit.dir elsewhere`, { cause: error });
  }
}

/** The last seal line of a file that verifies (under the key it names) and belongs to the instance, and where its line ends. */
export async function lastGoodSeal(path: string, instance: string): Promise<{ seal: Seal; end: number } | undefined> {
  for await (const line of linesBackward(path)) {
    if (!line.text.startsWith(SEAL_PREFIX)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.text);
    } catch {
      continue;
    }
    if (isSeal(parsed) && fileSafeInstance(parsed.instance) === instance && checkSealSignature(parsed) === undefined) return { seal: parsed, end: line.end };
  }
  return undefined;
}

interface TailPart {
  file: EventFile;
  from: number;
}

export async function recoverChain(
  dir: string,
  instance: string,
  checkpoints: CheckpointLog,
  log: Logger,
  runStarted: string,
): Promise<RecoveredChain> {
  const files = await listEventFiles(dir, instance);
  let anchorIndex = -1;
  let anchor: { seal: Seal; end: number } | undefined;
  for (let i = files.length - 1; i >= 0 && !anchor; i--) {
    anchor = await lastGoodSeal((files[i] as EventFile).path, instance);
    if (anchor) anchorIndex = i;
  }
  // The tail: the rest of the anchor's file and every newer file (everything when there is no good seal).
  const parts: TailPart[] = [];
  if (anchor) parts.push({ file: files[anchorIndex] as EventFile, from: anchor.end });
  for (let i = anchorIndex + 1; i < files.length; i++) parts.push({ file: files[i] as EventFile, from: 0 });
  const seal = anchor?.seal;
  const hadCheckpoints = await stat(checkpoints.path).then((s) => s.size > 0, () => false);
  const tail = await setAside(dir, instance, parts, seal, runStarted, hadCheckpoints);

  const kept = anchor ? files[anchorIndex] : undefined;
  const chain: RecoveredChain = {
    seq: seal?.seq ?? 0,
    hash: seal?.hash ?? GENESIS,
    file: kept?.name ?? '',
    current: kept && anchor ? { date: kept.date, index: kept.index, name: kept.name, bytes: anchor.end } : undefined,
    checkpointedSeq: seal?.seq ?? 0,
    anchor: seal,
    tail,
  };
  if (tail) logTail(log, tail);
  const cp = await checkpoints.last();
  if (cp && cp.kind === 'head') {
    chain.checkpointedSeq = cp.seq;
    if (cp.seq > chain.seq) {
      log.error(
        { code: ErrorCodes.AUDIT_CHAIN, checkpointSeq: cp.seq, logSeq: chain.seq },
        'block log is shorter than its last signed checkpoint (records were removed); continuing from the last sealed record; "dnsward audit verify" will report it',
      );
    }
  }
  return chain;
}

/** Describes the tail, copies it to the unsealed file, then cuts it from the event files. Undefined when there is none. */
async function setAside(dir: string, instance: string, parts: TailPart[], seal: Seal | undefined, runStarted: string, hadCheckpoints: boolean): Promise<RecoveredTail | undefined> {
  const tail: RecoveredTail = {
    after: seal?.reason ?? 'none',
    after_run: seal?.run_started ?? '',
    had_checkpoints: hadCheckpoints,
    lines: 0,
    first_seq: 0,
    last_seq: 0,
    chained: true,
    bad_seals: 0,
    files: 0,
    partial_bytes: 0,
    bytes: 0,
    moved_to: unsealedFileName(instance, runStarted),
    sha256: '',
  };
  let expectSeq = (seal?.seq ?? 0) + 1;
  let expectPrev = seal?.hash ?? GENESIS;
  for (const part of parts) {
    let touched = false;
    for await (const line of readLines(part.file.path, part.from)) {
      touched = true;
      tail.bytes += line.end - line.start;
      if (!line.complete) {
        tail.partial_bytes += line.end - line.start;
        continue;
      }
      tail.lines++;
      if (line.text.startsWith(SEAL_PREFIX)) {
        tail.bad_seals++;
        tail.chained = false;
        continue;
      }
      const record = parseRecord(line.text);
      if (record && Number.isSafeInteger(record.seq)) {
        const seq = record.seq as number;
        if (tail.first_seq === 0) tail.first_seq = seq;
        tail.last_seq = seq;
      }
      if (record && record.seq === expectSeq && record.prev === expectPrev && typeof record.hash === 'string' && eventHash(record) === record.hash) {
        expectSeq++;
        expectPrev = record.hash;
      } else {
        tail.chained = false;
      }
    }
    if (touched) tail.files++;
  }
  if (tail.bytes === 0) return undefined;

  // Copy first (fsynced), then cut: a crash in between leaves a copy too many, never a line lost.
  const hash = createHash('sha256');
  const out = await createUnique(dir, tail);
  try {
    for (const part of parts) {
      const input = await open(part.file.path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(1 << 20);
        for (let position = part.from; ; ) {
          const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) break;
          const data = buffer.subarray(0, bytesRead);
          hash.update(data);
          await out.write(data);
          position += bytesRead;
        }
      } finally {
        await input.close();
      }
    }
    await out.datasync();
  } finally {
    await out.close();
  }
  tail.sha256 = hash.digest('hex');
  for (const part of parts) {
    if (part.from > 0) await truncate(part.file.path, part.from);
    else await unlink(part.file.path);
  }
  return tail;
}

/** Opens the unsealed file for writing, never over an existing one (two restarts in one millisecond get -1, -2, ...). */
async function createUnique(dir: string, tail: RecoveredTail): Promise<FileHandle> {
  const base = tail.moved_to;
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : base.replace(/\.jsonl$/, `-${n}.jsonl`);
    try {
      const handle = await open(join(dir, name), 'wx', 0o640);
      tail.moved_to = name;
      return handle;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw error;
    }
  }
}

function parseRecord(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function logTail(log: Logger, tail: RecoveredTail): void {
  const fields = { code: ErrorCodes.AUDIT_CHAIN, lines: tail.lines, firstSeq: tail.first_seq, lastSeq: tail.last_seq, partialBytes: tail.partial_bytes, movedTo: tail.moved_to, after: tail.after };
  const verdict = judgeTail(tail);
  if (tail.lines === 0) {
    log.warn(fields, 'block log: cut the incomplete last line of an interrupted write (moved aside; the start seal notes it)');
  } else if (verdict.foreign) {
    log.error({ ...fields, why: verdict.why }, 'block log: found lines after the last seal that dnsward did not write; moved them aside unadopted; "dnsward audit verify" reports them');
  } else {
    log.warn(fields, 'block log: the previous run stopped in mid-write: its unsealed lines were moved aside, not adopted (the start seal says so)');
  }
}
