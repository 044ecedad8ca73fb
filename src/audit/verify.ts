// `dnsward audit verify`: re-derives every hash, follows the chain across files, checks
// the signed checkpoints, and names the first bad record (file:line, seq) per instance.
import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkCheckpointSignature, isCheckpoint, type Checkpoint } from './checkpoint.ts';
import { EVENT_FIELDS, GENESIS, eventHash } from './event.ts';
import { type EventFile, checkpointFileName, fileSafeInstance, listCheckpointInstances, listEventFiles, parseEventFileName, readLines } from './files.ts';
import { publicKeyFromRaw } from './keys.ts';

export interface VerifyProblem {
  instance: string;
  file: string;
  line: number;
  seq?: number;
  message: string;
}

export interface InstanceReport {
  instance: string;
  files: number;
  events: number;
  firstSeq: number;
  lastSeq: number;
  checkpoints: number;
  lastCheckpointSeq: number;
  lastCheckpointTs?: string;
  /** Raw public keys (base64url) that signed this instance's checkpoints. */
  keys: string[];
}

export interface VerifyReport {
  ok: boolean;
  problems: VerifyProblem[];
  instances: InstanceReport[];
  notes: string[];
}

export interface VerifyOptions {
  /** Pinned public keys: every checkpoint must be signed by one of them. Absent: the key a checkpoint names. */
  publicKeys?: KeyObject[];
}

interface LoadedCheckpoint {
  cp: Checkpoint;
  file: string;
  line: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export async function verifyAuditPath(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const info = await stat(path);
  const report: VerifyReport = { ok: true, problems: [], instances: [], notes: [] };
  if (info.isDirectory()) {
    const files = await listEventFiles(path);
    const instances = new Set([...files.map((f) => f.instance), ...(await listCheckpointInstances(path))]);
    if (instances.size === 0) report.notes.push(`${path}: no block-log files (audit-<instance>-<date>-<n>.jsonl)`);
    for (const instance of [...instances].sort()) {
      await verifyInstance(report, instance, files.filter((f) => f.instance === instance), join(path, checkpointFileName(instance)), 'dir', options);
    }
  } else {
    const parsed = parseEventFileName(path);
    if (parsed) {
      await verifyInstance(report, parsed.instance, [parsed], join(dirname(path), checkpointFileName(parsed.instance)), 'file', options);
    } else {
      // A file under another name (an export, a copy): the chain inside it, no checkpoints.
      const file: EventFile = { path, name: basename(path), instance: '', date: '', index: 0 };
      await verifyInstance(report, '', [file], undefined, 'file', options);
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function verifyInstance(
  report: VerifyReport,
  instance: string,
  files: EventFile[],
  checkpointPath: string | undefined,
  mode: 'dir' | 'file',
  options: VerifyOptions,
): Promise<void> {
  const summary: InstanceReport = { instance, files: files.length, events: 0, firstSeq: 0, lastSeq: 0, checkpoints: 0, lastCheckpointSeq: 0, keys: [] };
  report.instances.push(summary);
  let problem: VerifyProblem | undefined;
  const fail = (p: Omit<VerifyProblem, 'instance'>): void => {
    problem ??= { instance, ...p };
  };

  // Checkpoints first: the walk compares every checkpointed seq on the way.
  const heads = new Map<number, LoadedCheckpoint>();
  const prunes = new Map<number, LoadedCheckpoint>();
  let maxHead: LoadedCheckpoint | undefined;
  let checkpointFileExists = false;
  if (checkpointPath) {
    const cpName = basename(checkpointPath);
    checkpointFileExists = await stat(checkpointPath).then(() => true, () => false);
    if (checkpointFileExists) {
      const keys = new Set<string>();
      for await (const line of readLines(checkpointPath)) {
        const where = { file: cpName, line: line.number };
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
          fail({ ...where, seq: parsed.seq, message: `checkpoint belongs to instance "${parsed.instance}", not "${instance}"` });
          continue;
        }
        const bad = checkSignature(parsed, options.publicKeys);
        if (bad) {
          fail({ ...where, seq: parsed.seq, message: `checkpoint ${bad}` });
          continue;
        }
        keys.add(parsed.key);
        summary.checkpoints++;
        const loaded = { cp: parsed, ...where };
        if (parsed.kind === 'prune') prunes.set(parsed.seq, loaded);
        else {
          const existing = heads.get(parsed.seq);
          if (existing && existing.cp.hash !== parsed.hash) {
            fail({ ...where, seq: parsed.seq, message: `two signed checkpoints disagree about seq ${parsed.seq} (also ${existing.file}:${existing.line}): the log was rewritten between them` });
          }
          heads.set(parsed.seq, loaded);
          if (!maxHead || parsed.seq >= maxHead.cp.seq) maxHead = loaded;
        }
        if (parsed.dropped > 0) report.notes.push(`instance ${instance}: ${parsed.dropped} decisions were not recorded (buffer full) in the run started ${parsed.run_started} (checkpoint ${cpName}:${line.number})`);
      }
      summary.keys = [...keys];
    }
  }
  summary.lastCheckpointSeq = maxHead?.cp.seq ?? 0;
  summary.lastCheckpointTs = maxHead?.cp.ts;

  // The chain.
  let expected = 0;
  let prevHash = GENESIS;
  let last: { file: string; line: number; seq: number } | undefined;
  let lastMatched = 0;
  // After the first problem we keep reading only to tell "deleted" from "reordered".
  let lookFor: { seq: number; onFound: (file: string, line: number) => void } | undefined;
  for (const f of files) {
    for await (const line of readLines(f.path)) {
      const where = { file: f.name, line: line.number };
      if (problem) {
        if (!lookFor) break;
        const m = /"seq":(\d+)/.exec(line.text);
        if (m && Number(m[1]) === lookFor.seq) {
          lookFor.onFound(f.name, line.number);
          lookFor = undefined;
        }
        continue;
      }
      if (!line.complete) {
        fail({ ...where, seq: expected === 0 ? undefined : expected, message: 'incomplete last line (a write was interrupted or the file was cut)' });
        break;
      }
      let record: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(line.text);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        record = parsed as Record<string, unknown>;
      } catch {
        fail({ ...where, seq: expected === 0 ? undefined : expected, message: line.text.trim() === '' ? 'empty line (a record was blanked)' : 'not valid JSON (the record was edited or cut)' });
        continue;
      }
      const shape = shapeProblem(record);
      const seq = typeof record.seq === 'number' ? record.seq : undefined;
      if (shape) {
        fail({ ...where, seq, message: shape });
        continue;
      }
      const s = seq as number;
      if (instance !== '' && fileSafeInstance(record.instance as string) !== instance) {
        fail({ ...where, seq: s, message: `record of instance "${String(record.instance)}" in a file of instance "${instance}"` });
        continue;
      }
      if (eventHash(record) !== record.hash) {
        fail({ ...where, seq: s, message: 'content does not match its hash: the record was edited' });
        continue;
      }
      if (expected === 0) {
        // First record of what we have.
        summary.firstSeq = s;
        if (s === 1) {
          if (record.prev !== GENESIS) fail({ ...where, seq: s, message: 'seq 1 must have prev = 64 zeros (chain start)' });
        } else if (mode === 'dir') {
          const prune = prunes.get(s - 1);
          if (!prune) {
            fail({ ...where, seq: s, message: `the chain starts at seq ${s}: records 1..${s - 1} are missing (a file was deleted) and no retention checkpoint accounts for them` });
          } else if (prune.cp.hash !== record.prev) {
            fail({ ...where, seq: s, message: `prev does not match the retention checkpoint ${prune.file}:${prune.line} for seq ${s - 1}: records were removed or replaced` });
          }
        }
      } else if (s !== expected || record.prev !== prevHash) {
        if (s === expected) {
          fail({ ...where, seq: s, message: `prev does not match the hash of seq ${s - 1} (${last?.file}:${last?.line}): a record was replaced or inserted` });
        } else if (s < expected) {
          fail({ ...where, seq: s, message: `seq ${s} after seq ${expected - 1}: a record was repeated or moved (records out of order)` });
        } else {
          const found = { ...where, seq: s, message: `seq ${s} follows seq ${expected - 1}: records ${range(expected, s - 1)} are missing (deleted)` };
          fail(found);
          const missing = expected;
          lookFor = {
            seq: missing,
            onFound: (file, lineNo) => {
              if (problem) problem.message = `seq ${s} where seq ${missing} was expected: records are out of order (seq ${missing} is at ${file}:${lineNo})`;
            },
          };
        }
        if (problem) continue;
      }
      const head = heads.get(s);
      if (head) {
        if (head.cp.hash !== record.hash) {
          fail({ ...where, seq: s, message: `hash differs from the signed checkpoint ${head.file}:${head.line}: records after seq ${lastMatched} were rewritten (and re-chained)` });
          continue;
        }
        lastMatched = s;
      }
      summary.events++;
      expected = s + 1;
      prevHash = record.hash as string;
      last = { file: f.name, line: line.number, seq: s };
    }
    if (problem && !lookFor) break;
  }
  summary.lastSeq = last?.seq ?? 0;

  // Tail: the newest signed head must be in the log.
  if (!problem && maxHead) {
    const relevant = mode === 'dir' || maxHead.cp.file === files[0]?.name;
    if (relevant && maxHead.cp.seq > summary.lastSeq) {
      const file = last?.file ?? maxHead.cp.file;
      const line = last ? last.line + 1 : 1;
      fail({
        file,
        line,
        seq: summary.lastSeq + 1,
        message: `the log ends at seq ${summary.lastSeq} but checkpoint ${maxHead.file}:${maxHead.line} (${maxHead.cp.ts}) signed seq ${maxHead.cp.seq}: records ${range(summary.lastSeq + 1, maxHead.cp.seq)} were removed (tail cut)`,
      });
    }
  }
  if (!problem && mode === 'dir' && summary.lastSeq > 0 && summary.checkpoints === 0) {
    fail({
      file: checkpointPath ? basename(checkpointPath) : '',
      line: 0,
      seq: summary.lastSeq,
      message: checkpointFileExists ? 'no valid signed checkpoint: a cut tail could not be detected' : 'the checkpoints file is missing: a cut tail could not be detected',
    });
  }
  if (!problem && summary.lastSeq > summary.lastCheckpointSeq && summary.checkpoints > 0) {
    report.notes.push(`instance ${instance}: ${summary.lastSeq - summary.lastCheckpointSeq} events after the last checkpoint are not yet covered by a signature`);
  }
  if (mode === 'file' && summary.firstSeq > 1) report.notes.push(`${files[0]?.name}: starts at seq ${summary.firstSeq}; the records before it are in other files (verify the directory to check them)`);
  if (problem) report.problems.push(problem);
}

function checkSignature(cp: Checkpoint, pinned: KeyObject[] | undefined): string | undefined {
  if (pinned && pinned.length > 0) {
    return pinned.some((key) => checkCheckpointSignature(cp, key) === undefined) ? undefined : 'is not signed by the pinned public key';
  }
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(cp.key);
  } catch {
    return 'names a malformed public key';
  }
  const bad = checkCheckpointSignature(cp, key);
  return bad === undefined ? undefined : `has a ${bad}`;
}

function shapeProblem(r: Record<string, unknown>): string | undefined {
  for (const field of EVENT_FIELDS) {
    if (!(field in r)) return `field "${field}" is missing`;
  }
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) return 'seq is not a positive integer';
  if (typeof r.ts !== 'string' || !ISO_MS.test(r.ts)) return 'ts is not an ISO 8601 UTC time with milliseconds';
  if (r.action !== 'blocked' && r.action !== 'logged') return `action ${JSON.stringify(r.action)} is not "blocked" or "logged"`;
  if (typeof r.prev !== 'string' || !HEX64.test(r.prev)) return 'prev is not 64 hex digits';
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return 'hash is not 64 hex digits';
  for (const field of ['instance', 'segment', 'client', 'qname', 'qtype', 'list', 'rule', 'list_version', 'response'] as const) {
    if (typeof r[field] !== 'string') return `${field} is not a string`;
  }
  return undefined;
}

function range(a: number, b: number): string {
  return a === b ? String(a) : `${a}..${b}`;
}

/** The report as the CLI prints it: problems first (file:line: seq N: what), then a summary per instance. */
export function formatReport(report: VerifyReport, pinned: boolean): string {
  const out: string[] = [];
  for (const p of report.problems) {
    out.push(`${p.file}:${p.line}: ${p.seq !== undefined ? `seq ${p.seq}: ` : ''}${p.message}${p.instance ? ` [instance ${p.instance}]` : ''}`);
  }
  for (const i of report.instances) {
    const bad = report.problems.some((p) => p.instance === i.instance);
    const name = i.instance || '(file)';
    out.push(
      `${bad ? 'FAILED' : 'OK'}: instance ${name}: ${i.files} file(s), ${i.events} good event(s)${i.events > 0 ? ` (seq ${i.firstSeq}..${i.lastSeq})` : ''}, ` +
        `${i.checkpoints} checkpoint(s)${i.lastCheckpointSeq > 0 ? `, last signed seq ${i.lastCheckpointSeq} at ${i.lastCheckpointTs}` : ''}`,
    );
    for (const key of i.keys) out.push(`  signed by Ed25519 key ${key}${pinned ? ' (pinned)' : ' (not pinned: pass --public-key FILE to check it is yours)'}`);
  }
  for (const n of report.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
