// `audit verify`: the walk along one instance's chain. Every record must hash to its `hash`,
// continue the chain (seq + 1, prev), and be covered by the seal that ends its write; the
// seals must be signed (by a pinned key when given); signed checkpoints must be in the log.
// The first problem is named by file:line and seq; notes and warnings explain the rest.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENT_FIELDS, GENESIS, eventHash, isHashHex } from './event.ts';
import { type EventFile, fileSafeInstance, readLines } from './files.ts';
import { type RecoveredTail, SEAL_PREFIX, type Seal, isSeal, judgeTail } from './seal.ts';
import { terminalSafe } from './terminal.ts';
import { type LoadedCheckpoints, checkSignature } from './verify-checkpoints.ts';
import type { InstanceReport, VerifyProblem, VerifyReport } from './verify-types.ts';

/** Decisions are recorded when they are made but stamped with the time the query arrived (at most query_timeout_ms, 10 s, earlier). */
export const TS_TOLERANCE_MS = 15_000;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface WalkInput {
  instance: string;
  files: EventFile[];
  /** dir: the whole log; file: one event file (seals required); fragment: an export or copy (chain only). */
  mode: 'dir' | 'file' | 'fragment';
  checkpoints: LoadedCheckpoints;
  checkpointFile: string;
  /** audit.dir, to look at the files restarts moved lines to (dir mode). */
  dir?: string;
  pinned?: KeyObject[];
}

interface Where {
  file: string;
  line: number;
}

export async function walkChain(report: VerifyReport, summary: InstanceReport, input: WalkInput): Promise<VerifyProblem | undefined> {
  const { instance, mode, checkpoints } = input;
  const { heads, prunes, maxHead } = checkpoints;
  const pinned = input.pinned && input.pinned.length > 0 ? input.pinned : undefined;
  let problem: VerifyProblem | undefined;
  const fail = (where: Where, seq: number | undefined, message: string): void => {
    problem ??= { instance, ...where, ...(seq !== undefined ? { seq } : {}), message };
  };
  const note = (text: string): void => void report.notes.push(`instance ${instance || '(file)'}: ${text}`);
  const keys = new Set(checkpoints.keys);

  let expected = 0;
  let prevHash = GENESIS;
  let last: (Where & { seq: number }) | undefined;
  let lastMatched = 0;
  // Records since the last seal: they must be what the next seal covers.
  let open = { count: 0, firstSeq: 0, first: undefined as Where | undefined };
  let uncoveredAtEnd: { where: Where; seq: number; message: string } | undefined;
  let run: { started: string; shutdown: boolean; lastSeq: number } | undefined;
  const declared = new Map<string, string>();
  let maxTs = Number.NEGATIVE_INFINITY;
  let maxTsAt: (Where & { seq: number }) | undefined;
  let tsBack = 0;
  // After the first problem we keep reading only to tell "deleted" from "reordered".
  let lookFor: { seq: number; onFound: (file: string, line: number) => void } | undefined;

  // Records left open at the end of a file: a write always ends with its seal in the same file.
  const closeFile = (isLast: boolean): void => {
    if (open.count === 0 || mode === 'fragment' || !open.first) return;
    const found = { where: open.first, seq: open.firstSeq, message: `records ${range(open.firstSeq, open.firstSeq + open.count - 1)} are not covered by a seal (no signed write ends them): they were added, or the file was cut` };
    // At the end of the log a checkpoint may say more (a cut tail): it is checked first.
    if (isLast) uncoveredAtEnd = found;
    else fail(found.where, found.seq, found.message);
  };

  const onSeal = (record: Record<string, unknown>, where: Where): void => {
    if (!isSeal(record)) return fail(where, undefined, 'not a valid seal line (a member is missing or has the wrong type)');
    const seal: Seal = record;
    if (instance !== '' && fileSafeInstance(seal.instance) !== instance) return fail(where, seal.seq, `seal of instance ${JSON.stringify(seal.instance)} in a file of instance "${instance}"`);
    const bad = checkSignature(seal, pinned);
    if (bad) {
      const covered = open.count > 0 ? `: records ${open.firstSeq}..${open.firstSeq + open.count - 1} are not covered by a trusted signature` : '';
      return fail(open.count > 0 && open.first ? open.first : where, open.count > 0 ? open.firstSeq : seal.seq, `the seal at ${where.file}:${where.line} ${bad}${covered}`);
    }
    keys.add(seal.key);
    summary.seals++;
    if (expected === 0) {
      // The walk starts at a seal: it anchors the chain.
      if (seal.count > 0) return fail(where, seal.seq, `the seal covers ${seal.count} record(s) but none precede it`);
      if (mode === 'dir' && seal.seq === 0 && seal.hash !== GENESIS) return fail(where, 0, 'a seal at seq 0 must sign the genesis hash');
      if (mode === 'dir' && seal.seq > 0 && prunes.get(seal.seq)?.cp.hash !== seal.hash) {
        return fail(where, seal.seq, `the log starts at a seal of seq ${seal.seq}: records 1..${seal.seq} are missing (a file was deleted) and no retention checkpoint accounts for them`);
      }
      expected = seal.seq + 1;
      prevHash = seal.hash;
    } else if (seal.seq !== expected - 1) {
      return fail(where, seal.seq, `the seal signs seq ${seal.seq} but the record before it is seq ${expected - 1}: records were removed, added or moved`);
    } else if (seal.hash !== prevHash) {
      return fail(where, seal.seq, `the seal signs another hash for seq ${seal.seq}: records up to it were rewritten (and re-chained)`);
    }
    if (seal.count !== open.count && mode !== 'fragment') {
      if (seal.count < open.count && open.first) {
        const extra = open.count - seal.count;
        return fail(open.first, open.firstSeq, `records ${open.firstSeq}..${open.firstSeq + extra - 1} are not covered by a seal: the seal at ${where.file}:${where.line} covers only the ${seal.count} record(s) before it (records were added)`);
      }
      return fail(where, seal.seq, `the seal covers ${seal.count} record(s) but ${open.count} precede it in this file: a signed record was removed`);
    }
    if (!run || run.started !== seal.run_started) {
      if (run && !run.shutdown) note(`the run started ${terminalSafe(run.started)} ended without a shutdown seal (killed or crashed); its last sealed record is seq ${run.lastSeq}`);
      run = { started: seal.run_started, shutdown: false, lastSeq: seal.seq };
    }
    run.lastSeq = seal.seq;
    if (seal.reason === 'shutdown') run.shutdown = true;
    if (seal.previous_key) note(`the signing key changed at ${where.file}:${where.line}: the run started ${terminalSafe(seal.run_started)} seals with ${terminalSafe(seal.key)}, the seals before with ${terminalSafe(seal.previous_key)}`);
    if (seal.recovered) {
      declared.set(seal.recovered.moved_to, seal.recovered.sha256);
      onRecovered(seal, seal.recovered, where);
    }
    open = { count: 0, firstSeq: 0, first: undefined };
  };

  const onRecovered = (seal: Seal, tail: RecoveredTail, where: Where): void => {
    const moved = terminalSafe(tail.moved_to);
    const at = `the restart of ${terminalSafe(seal.run_started)} (${where.file}:${where.line})`;
    const seqs = tail.first_seq > 0 ? `, seq ${tail.first_seq}..${tail.last_seq}` : '';
    if (tail.lines > 0) {
      const verdict = judgeTail(tail, checkpoints.shutdownRuns);
      if (verdict.foreign) {
        fail(where, tail.first_seq || seal.seq + 1, `${tail.lines} line(s)${seqs} after the last seal were set aside at ${at} to ${moved}: dnsward did not write them (${verdict.why}); nothing after seq ${seal.seq} before this point is signed`);
      } else {
        const writer = tail.after === 'none' ? 'the first write of a new log' : `a write the run started ${terminalSafe(tail.after_run)}`;
        note(`unsealed tail: ${tail.lines} record(s)${seqs} of ${writer} did not finish (killed or crashed) were set aside at ${at} to ${moved}; they are not covered by any signature, and the log continues from seq ${seal.seq}`);
      }
    }
    if (tail.partial_bytes > 0) note(`an incomplete last line (${tail.partial_bytes} bytes, a write cut in mid-line) was cut at ${at} and moved to ${moved}`);
  };

  const onRecord = (record: Record<string, unknown>, where: Where): void => {
    const shape = shapeProblem(record);
    const seq = typeof record.seq === 'number' ? record.seq : undefined;
    if (shape) return fail(where, seq, shape);
    const s = seq as number;
    if (instance !== '' && fileSafeInstance(record.instance as string) !== instance) {
      return fail(where, s, `record of instance ${JSON.stringify(record.instance)} in a file of instance "${instance}"`);
    }
    if (eventHash(record) !== record.hash) return fail(where, s, 'content does not match its hash: the record was edited');
    if (expected === 0) {
      summary.firstSeq = s;
      if (s === 1) {
        if (record.prev !== GENESIS) return fail(where, s, 'seq 1 must have prev = 64 zeros (chain start)');
      } else if (mode === 'dir') {
        const prune = prunes.get(s - 1);
        if (!prune) return fail(where, s, `the chain starts at seq ${s}: records 1..${s - 1} are missing (a file was deleted) and no retention checkpoint accounts for them`);
        if (prune.cp.hash !== record.prev) return fail(where, s, `prev does not match the retention checkpoint ${prune.file}:${prune.line} for seq ${s - 1}: records were removed or replaced`);
      }
    } else if (s !== expected || record.prev !== prevHash) {
      if (s === expected) return fail(where, s, `prev does not match the hash of seq ${s - 1} (${last ? `${last.file}:${last.line}` : 'the seal before it'}): a record was replaced or inserted`);
      if (s < expected) return fail(where, s, `seq ${s} after seq ${expected - 1}: a record was repeated or moved (records out of order)`);
      fail(where, s, `seq ${s} follows seq ${expected - 1}: records ${range(expected, s - 1)} are missing (deleted)`);
      const missing = expected;
      lookFor = {
        seq: missing,
        onFound: (file, lineNo) => {
          if (problem) problem.message = `seq ${s} where seq ${missing} was expected: records are out of order (seq ${missing} is at ${file}:${lineNo})`;
        },
      };
      return;
    }
    if (summary.firstSeq === 0) summary.firstSeq = s;
    const head = heads.get(s);
    if (head) {
      if (head.cp.hash !== record.hash) return fail(where, s, `hash differs from the signed checkpoint ${head.file}:${head.line}: records after seq ${lastMatched} were rewritten (and re-chained)`);
      lastMatched = s;
    }
    const ts = Date.parse(record.ts as string);
    if (ts < maxTs - TS_TOLERANCE_MS && maxTsAt) {
      if (tsBack++ === 0) report.warnings.push(`instance ${instance || '(file)'}: ${where.file}:${where.line}: seq ${s}: ts ${String(record.ts)} is ${Math.round((maxTs - ts) / 1000)} s before seq ${maxTsAt.seq} (${maxTsAt.file}:${maxTsAt.line}): the clock went back`);
    }
    if (ts > maxTs) {
      maxTs = ts;
      maxTsAt = { ...where, seq: s };
    }
    summary.events++;
    if (open.count === 0) open = { count: 0, firstSeq: s, first: where };
    open.count++;
    expected = s + 1;
    prevHash = record.hash as string;
    last = { ...where, seq: s };
  };

  for (const [index, f] of input.files.entries()) {
    open = { count: 0, firstSeq: 0, first: undefined };
    for await (const line of readLines(f.path)) {
      const where = { file: f.name, line: line.number };
      if (problem) {
        if (!lookFor) break;
        const m = !line.text.startsWith(SEAL_PREFIX) && /"seq":(\d+)/.exec(line.text);
        if (m && Number(m[1]) === lookFor.seq) {
          lookFor.onFound(f.name, line.number);
          lookFor = undefined;
        }
        continue;
      }
      if (!line.complete) {
        fail(where, expected === 0 ? undefined : expected, 'incomplete last line (a write was interrupted or the file was cut)');
        break;
      }
      let record: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(line.text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        record = parsed as Record<string, unknown>;
      } catch {
        fail(where, expected === 0 ? undefined : expected, line.text.trim() === '' ? 'empty line (a record was blanked)' : 'not valid JSON (the record was edited or cut)');
        continue;
      }
      if (record.type === 'seal') onSeal(record, where);
      else if ('type' in record) fail(where, undefined, `a line of type ${JSON.stringify(record.type)} is neither an event nor a seal`);
      else onRecord(record, where);
    }
    if (problem && !lookFor) break;
    if (!problem) closeFile(index === input.files.length - 1);
  }
  summary.lastSeq = last?.seq ?? 0;
  summary.keys = [...keys];
  if (tsBack > 1) report.warnings.push(`instance ${instance || '(file)'}: ${tsBack} records in all have a ts more than ${TS_TOLERANCE_MS / 1000} s before an earlier record's`);

  // The newest signed head must be in the log (a cut tail), then every record must be sealed.
  if (!problem && maxHead) {
    const relevant = mode === 'dir' || maxHead.cp.file === input.files[0]?.name;
    if (relevant && maxHead.cp.seq > summary.lastSeq) {
      fail(
        { file: last?.file ?? maxHead.cp.file, line: last ? last.line + 1 : 1 },
        summary.lastSeq + 1,
        `the log ends at seq ${summary.lastSeq} but checkpoint ${maxHead.file}:${maxHead.line} (${terminalSafe(maxHead.cp.ts)}) signed seq ${maxHead.cp.seq}: records ${range(summary.lastSeq + 1, maxHead.cp.seq)} were removed (tail cut)`,
      );
    }
  }
  if (!problem && uncoveredAtEnd) fail(uncoveredAtEnd.where, uncoveredAtEnd.seq, uncoveredAtEnd.message);
  if (!problem && mode === 'dir' && summary.lastSeq > 0 && checkpoints.count === 0) {
    fail(
      { file: input.checkpointFile, line: 0 },
      summary.lastSeq,
      checkpoints.exists ? 'no valid signed checkpoint: a cut tail could not be detected' : 'the checkpoints file is missing: a cut tail could not be detected',
    );
  }
  if (!problem && run && !run.shutdown && mode === 'dir') note(`the last run (started ${terminalSafe(run.started)}) has no shutdown seal: dnsward is running, or it was killed`);
  if (!problem && summary.lastSeq > summary.lastCheckpointSeq && checkpoints.count > 0) {
    note(`${summary.lastSeq - summary.lastCheckpointSeq} event(s) after the last checkpoint: cutting them off would not show until the next checkpoint (ship the checkpoints off the host)`);
  }
  if (mode !== 'dir' && summary.firstSeq > 1) report.notes.push(`${terminalSafe(input.files[0]?.name ?? '')}: starts at seq ${summary.firstSeq}; the records before it are in other files (verify the directory to check them)`);
  if (mode === 'dir' && input.dir) await checkSetAside(input.dir, instance, declared, report);
  if (summary.keys.length > 1 && !pinned) {
    report.warnings.push(`instance ${instance || '(file)'}: the seals and checkpoints are signed by ${summary.keys.length} different keys and none is pinned: anyone who can write the directory can sign with a key of their own; pass --public-key for the keys you trust`);
  }
  return problem;
}

/** Files restarts moved lines to: note those no start seal declares, and declared ones that are gone or changed. */
async function checkSetAside(dir: string, instance: string, declared: Map<string, string>, report: VerifyReport): Promise<void> {
  const prefix = `audit-${instance}.unsealed-`;
  const names = new Set((await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && n.endsWith('.jsonl')));
  for (const name of names) {
    if (!declared.has(name)) report.notes.push(`instance ${instance}: ${terminalSafe(name)} is not declared by any start seal (a restart was interrupted, or the file was put there)`);
  }
  for (const [name, sha256] of declared) {
    if (!names.has(name)) {
      report.notes.push(`instance ${instance}: ${terminalSafe(name)}, declared by a start seal, is gone (its lines were unsigned)`);
    } else if ((await fileSha256(join(dir, name))) !== sha256) {
      report.notes.push(`instance ${instance}: ${terminalSafe(name)} was changed after the restart that set it aside (its lines were unsigned)`);
    }
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function shapeProblem(r: Record<string, unknown>): string | undefined {
  for (const field of EVENT_FIELDS) {
    // transport came later: records written before it do not carry it.
    if (!(field in r) && field !== 'transport') return `field "${field}" is missing`;
  }
  if (r.transport !== undefined && r.transport !== 'udp' && r.transport !== 'tcp' && r.transport !== 'dot' && r.transport !== 'doh') return `transport ${JSON.stringify(r.transport)} is not udp, tcp, dot or doh`;
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) return 'seq is not a positive integer';
  if (typeof r.ts !== 'string' || !ISO_MS.test(r.ts)) return 'ts is not an ISO 8601 UTC time with milliseconds';
  if (r.action !== 'blocked' && r.action !== 'logged') return `action ${JSON.stringify(r.action)} is not "blocked" or "logged"`;
  if (!isHashHex(r.prev)) return 'prev is not 64 hex digits';
  if (!isHashHex(r.hash)) return 'hash is not 64 hex digits';
  for (const field of ['instance', 'segment', 'client', 'qname', 'qtype', 'list', 'rule', 'list_version', 'response'] as const) {
    if (typeof r[field] !== 'string') return `${field} is not a string`;
  }
  return undefined;
}

function range(a: number, b: number): string {
  return a === b ? String(a) : `${a}..${b}`;
}
