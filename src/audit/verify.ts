// `dnsward audit verify`: re-derives every hash, follows the chain across files, checks the
// seals (every record must be covered by the signed seal of its write) and the signed
// checkpoints, and names the first bad record (file:line, seq) per instance.
import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type EventFile, checkpointFileName, listCheckpointInstances, listEventFiles, parseEventFileName } from './files.ts';
import { walkChain } from './verify-chain.ts';
import { loadCheckpoints } from './verify-checkpoints.ts';
import type { InstanceReport, VerifyReport } from './verify-types.ts';

export type { InstanceReport, VerifyProblem, VerifyReport } from './verify-types.ts';
export { formatReport } from './verify-report.ts';

export interface VerifyOptions {
  /** Pinned public keys: every seal and checkpoint must be signed by one of them. Absent: the key each names. */
  publicKeys?: KeyObject[];
}

/** Throws ENOENT (as fs does) when the path does not exist. */
export async function verifyAuditPath(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const info = await stat(path);
  const report: VerifyReport = { ok: true, problems: [], instances: [], notes: [], warnings: [] };
  if (info.isDirectory()) {
    const files = await listEventFiles(path);
    const instances = new Set([...files.map((f) => f.instance), ...(await listCheckpointInstances(path))]);
    if (instances.size === 0) {
      report.problems.push({ instance: '', file: path, line: 0, message: 'no block log here: no audit-<instance>-<date>-<n>.jsonl or audit-<instance>.checkpoints.jsonl files (is this audit.dir?)' });
    }
    for (const instance of [...instances].sort()) {
      await verifyInstance(report, instance, files.filter((f) => f.instance === instance), join(path, checkpointFileName(instance)), 'dir', options, path);
    }
  } else {
    const parsed = parseEventFileName(path);
    if (parsed) {
      await verifyInstance(report, parsed.instance, [parsed], join(dirname(path), checkpointFileName(parsed.instance)), 'file', options);
    } else {
      // A file under another name (an export, a copy): the chain inside it, no checkpoints.
      const file: EventFile = { path, name: basename(path), instance: '', date: '', index: 0 };
      await verifyInstance(report, '', [file], undefined, 'fragment', options);
    }
    const only = report.instances[0];
    if (report.problems.length === 0 && only && only.events === 0 && only.seals === 0) {
      report.problems.push({ instance: only.instance, file: basename(path), line: 0, message: 'holds no block-log records (empty, or not a block-log file)' });
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
  mode: 'dir' | 'file' | 'fragment',
  options: VerifyOptions,
  dir?: string,
): Promise<void> {
  const summary: InstanceReport = { instance, files: files.length, events: 0, firstSeq: 0, lastSeq: 0, checkpoints: 0, seals: 0, lastCheckpointSeq: 0, keys: [] };
  report.instances.push(summary);
  const pinned = options.publicKeys;
  const checkpoints = await loadCheckpoints(checkpointPath, instance, pinned);
  summary.checkpoints = checkpoints.count;
  summary.lastCheckpointSeq = checkpoints.maxHead?.cp.seq ?? 0;
  summary.lastCheckpointTs = checkpoints.maxHead?.cp.ts;
  report.notes.push(...checkpoints.notes);
  const walked = await walkChain(report, summary, {
    instance,
    files,
    mode,
    checkpoints,
    checkpointFile: checkpointPath ? basename(checkpointPath) : '',
    ...(dir !== undefined ? { dir } : {}),
    ...(pinned ? { pinned } : {}),
  });
  const problem = checkpoints.problem ? { instance, ...checkpoints.problem } : walked;
  if (problem) report.problems.push(problem);
}
