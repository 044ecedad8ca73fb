// `audit verify` for what the fleet adds to audit.dir, and the cross-check of several replicas'
// directories:
// - every change log copy (changes-<instance>.jsonl) and witness log (witness-<instance>.jsonl):
//   hashes, chain, record shape, the signatures of their checkpoints (and of the peers'
//   checkpoints a witness log holds), nothing cut after the newest checkpoint;
// - the change log copies of all replicas agree wherever they overlap;
// - every checkpoint a replica witnessed of a peer matches the peer's block log, when the peer's
//   directory is among those given: a log rewritten (or cut) on one host contradicts its peers.
import type { KeyObject } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkCheckpointSignature, isCheckpoint } from '../audit/checkpoint.ts';
import { listEventFiles, readLines } from '../audit/files.ts';
import { publicKeyFromRaw } from '../audit/keys.ts';
import type { VerifyProblem } from '../audit/verify-types.ts';
import { GENESIS } from '../audit/event.ts';
import { chainCheckpointFileName, type ChainKind, chainProblem } from './chain-file.ts';
import { changeShapeProblem } from './org-entries.ts';

export interface FleetVerifyOptions {
  /** Pinned public keys: every checkpoint (and every witnessed checkpoint) must be signed by one of them. */
  publicKeys?: KeyObject[];
}

export interface FleetChainSummary {
  dir: string;
  file: string;
  kind: ChainKind;
  instance: string;
  records: number;
  lastSeq: number;
  checkpoints: number;
  lastCheckpointSeq: number;
}

export interface FleetVerifyResult {
  problems: VerifyProblem[];
  notes: string[];
  chains: FleetChainSummary[];
}

const CHAIN_FILE = /^(changes|witness)-(.+)\.jsonl$/;

interface Witnessed {
  seq: number;
  hash: string;
  ts: string;
  by: string;
  file: string;
  line: number;
}

export async function verifyFleetDirs(dirs: readonly string[], options: FleetVerifyOptions = {}): Promise<FleetVerifyResult> {
  const result: FleetVerifyResult = { problems: [], notes: [], chains: [] };
  const changeCopies: { where: string; hashes: Map<number, { hash: string; line: number }> }[] = [];
  const witnessed = new Map<string, Witnessed[]>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const m = CHAIN_FILE.exec(name);
      if (!m || name.endsWith('.checkpoints.jsonl')) continue;
      const kind = m[1] as ChainKind;
      const hashes = new Map<number, { hash: string; line: number }>();
      const summary = await verifyChain(result, dir, name, kind, m[2] as string, options, (record, line) => {
        hashes.set(record.seq as number, { hash: record.hash as string, line });
        if (kind !== 'witness') return;
        const cp = record.checkpoint as { instance: string; seq: number; hash: string };
        const list = witnessed.get(cp.instance) ?? [];
        list.push({ seq: cp.seq, hash: cp.hash, ts: record.ts as string, by: record.instance as string, file: name, line });
        witnessed.set(cp.instance, list);
      });
      result.chains.push(summary);
      if (kind === 'changes') changeCopies.push({ where: join(dir, name), hashes });
    }
  }
  crossCheckChanges(result, changeCopies);
  for (const [peer, records] of witnessed) await crossCheckWitnessed(result, dirs, peer, records);
  return result;
}

type OnRecord = (record: Record<string, unknown>, line: number) => void;

async function verifyChain(result: FleetVerifyResult, dir: string, name: string, kind: ChainKind, instance: string, options: FleetVerifyOptions, onRecord: OnRecord): Promise<FleetChainSummary> {
  const summary: FleetChainSummary = { dir, file: name, kind, instance, records: 0, lastSeq: 0, checkpoints: 0, lastCheckpointSeq: 0 };
  const fail = (line: number, message: string, seq?: number): void => {
    result.problems.push({ instance, file: name, line, ...(seq !== undefined ? { seq } : {}), message });
  };
  // The checkpoints first: every signed head must be in the chain.
  const heads = new Map<number, { hash: string; line: number }>();
  const cpName = chainCheckpointFileName(kind, instance);
  let cpFileFound = true;
  try {
    for await (const line of readLines(join(dir, cpName))) {
      if (!line.complete) break;
      let cp: unknown;
      try {
        cp = JSON.parse(line.text);
      } catch {
        cp = undefined;
      }
      if (!isCheckpoint(cp)) {
        result.problems.push({ instance, file: cpName, line: line.number, message: 'not a checkpoint record' });
        continue;
      }
      const bad = signature(cp, options.publicKeys);
      if (bad) {
        result.problems.push({ instance, file: cpName, line: line.number, seq: cp.seq, message: `checkpoint ${bad}` });
        continue;
      }
      summary.checkpoints++;
      heads.set(cp.seq, { hash: cp.hash, line: line.number });
      summary.lastCheckpointSeq = Math.max(summary.lastCheckpointSeq, cp.seq);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    cpFileFound = false;
  }
  let head = { seq: 0, hash: GENESIS };
  let lastLine = 0;
  for await (const line of readLines(join(dir, name))) {
    lastLine = line.number;
    if (!line.complete) {
      fail(line.number, 'incomplete last line (a write was interrupted or the file was cut)');
      return summary;
    }
    let record: unknown;
    try {
      record = JSON.parse(line.text);
    } catch {
      record = undefined;
    }
    const r = record as Record<string, unknown>;
    const problem = chainProblem(record, head) ?? (kind === 'changes' ? changeShapeProblem(r) : witnessProblem(r, options.publicKeys));
    if (problem) {
      fail(line.number, problem, typeof r?.seq === 'number' ? r.seq : undefined);
      return summary;
    }
    const signed = heads.get(r.seq as number);
    if (signed && signed.hash !== r.hash) {
      fail(line.number, `hash differs from the signed checkpoint ${cpName}:${signed.line}: records up to seq ${String(r.seq)} were rewritten (and re-chained)`, r.seq as number);
      return summary;
    }
    head = { seq: r.seq as number, hash: r.hash as string };
    summary.records++;
    summary.lastSeq = head.seq;
    onRecord(r, line.number);
  }
  if (summary.lastCheckpointSeq > summary.lastSeq) {
    fail(lastLine + 1, `the log ends at seq ${summary.lastSeq} but ${cpName} signed seq ${summary.lastCheckpointSeq}: records were removed (tail cut)`, summary.lastSeq + 1);
  } else if (summary.records > 0 && !cpFileFound) {
    fail(0, `the checkpoints file ${cpName} is missing: a cut tail could not be detected`);
  } else if (summary.lastSeq > summary.lastCheckpointSeq) {
    result.notes.push(`${name}: ${summary.lastSeq - summary.lastCheckpointSeq} record(s) after the last checkpoint are not yet covered by a signature`);
  }
  return summary;
}

/** A witness record must carry a peer's checkpoint whose signature holds. */
function witnessProblem(r: Record<string, unknown>, pinned: KeyObject[] | undefined): string | undefined {
  if (typeof r.peer !== 'string' || typeof r.instance !== 'string' || typeof r.ts !== 'string') return 'not a witness record (peer, instance or ts missing)';
  if (!isCheckpoint(r.checkpoint) || r.checkpoint.instance !== r.peer) return 'the witnessed checkpoint is missing or not the peer\'s';
  const bad = signature(r.checkpoint, pinned);
  return bad ? `the witnessed checkpoint of ${r.peer} ${bad}` : undefined;
}

function signature(cp: object, pinned: KeyObject[] | undefined): string | undefined {
  if (pinned && pinned.length > 0) return pinned.some((key) => checkCheckpointSignature(cp, key) === undefined) ? undefined : 'is not signed by a pinned public key';
  try {
    const bad = checkCheckpointSignature(cp, publicKeyFromRaw((cp as { key: string }).key));
    return bad === undefined ? undefined : `has a ${bad}`;
  } catch {
    return 'names a malformed public key';
  }
}

function crossCheckChanges(result: FleetVerifyResult, copies: { where: string; hashes: Map<number, { hash: string; line: number }> }[]): void {
  const first = new Map<number, { hash: string; where: string; line: number }>();
  for (const copy of copies) {
    for (const [seq, { hash, line }] of copy.hashes) {
      const seen = first.get(seq);
      if (!seen) first.set(seq, { hash, where: copy.where, line });
      else if (seen.hash !== hash) {
        result.problems.push({ instance: '', file: basename(copy.where), line, seq, message: `this change log copy and ${seen.where}:${seen.line} disagree at seq ${seq}: one of them was rewritten` });
        return;
      }
    }
  }
  if (copies.length > 1) result.notes.push(`the ${copies.length} change log copies agree (${first.size} change(s))`);
}

/** Checks the witnessed heads of `peer` against its block log, if one of the directories holds it. */
async function crossCheckWitnessed(result: FleetVerifyResult, dirs: readonly string[], peer: string, records: Witnessed[]): Promise<void> {
  const wanted = new Map<number, Witnessed[]>();
  for (const w of records) wanted.set(w.seq, [...(wanted.get(w.seq) ?? []), w]);
  let found = false;
  let firstSeq = 0;
  let lastSeq = 0;
  const actual = new Map<number, string>();
  for (const dir of dirs) {
    const files = await listEventFiles(dir, peer);
    if (files.length === 0) continue;
    found = true;
    for (const f of files) {
      for await (const line of readLines(f.path)) {
        if (!line.complete || line.text.startsWith('{"type"')) continue;
        const seq = Number(/"seq":(\d+)/.exec(line.text)?.[1]);
        if (!Number.isSafeInteger(seq)) continue;
        if (firstSeq === 0) firstSeq = seq;
        lastSeq = Math.max(lastSeq, seq);
        if (wanted.has(seq)) actual.set(seq, /"hash":"([0-9a-f]{64})"\}$/.exec(line.text)?.[1] ?? '');
      }
    }
    break;
  }
  if (!found) {
    result.notes.push(`${records.length} witnessed checkpoint(s) of ${peer} not cross-checked: its audit.dir is not among those given`);
    return;
  }
  for (const [seq, list] of [...wanted].sort((a, b) => a[0] - b[0])) {
    const w = list[0] as Witnessed;
    const hash = actual.get(seq);
    if (hash === undefined) {
      if (seq < firstSeq) {
        result.notes.push(`${peer}: seq ${seq}, witnessed by ${w.by}, is before the oldest record kept (retention)`);
        continue;
      }
      result.problems.push({ instance: peer, file: w.file, line: w.line, seq, message: `${w.by} witnessed ${peer}'s signed checkpoint for seq ${seq} at ${w.ts}, but ${peer}'s log ${lastSeq < seq ? `ends at seq ${lastSeq}: records ${lastSeq + 1}..${seq} were removed` : `has no record ${seq}`}` });
      return;
    }
    const contradicting = list.find((x) => x.hash !== hash);
    if (contradicting) {
      result.problems.push({ instance: peer, file: contradicting.file, line: contradicting.line, seq, message: `${peer}'s record seq ${seq} is not the one ${contradicting.by} witnessed in its signed checkpoint at ${contradicting.ts}: ${peer}'s log was rewritten` });
      return;
    }
  }
  result.notes.push(`${peer}: ${wanted.size} witnessed checkpoint(s) match its block log`);
}
