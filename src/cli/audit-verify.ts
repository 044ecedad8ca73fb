// `dnsward audit verify DIR|FILE... [--public-key FILE]...`: exit 0 when the block log (and, in
// a directory, the fleet's change log and witness log copies) is intact; otherwise print the
// first bad record per instance (file:line: seq N: what) and exit 1. Several directories (one
// per replica) are also cross-checked: change log copies agree, witnessed checkpoints match.
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '../audit/keys.ts';
import { endQuietlyOnEpipe, terminalSafe } from '../audit/terminal.ts';
import { formatReport, verifyAuditPath } from '../audit/verify.ts';
import { formatProblem } from '../audit/verify-report.ts';
import type { VerifyReport } from '../audit/verify-types.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { type FleetVerifyResult, verifyFleetDirs } from '../fleet/verify-fleet.ts';

export const USAGE =
  'usage: dnsward audit verify DIR|FILE... [--public-key FILE]... (several DIRs: the audit.dir of each replica, cross-checked; FILE: audit-<instance>.pub.pem, kept by the auditor)';

export async function auditVerifyCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { 'public-key': { type: 'string', multiple: true } } });
  } catch (error) {
    throw new DnswardError(ErrorCodes.USAGE, `${(error as Error).message}\n${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length === 0) throw new DnswardError(ErrorCodes.USAGE, `audit verify needs a directory or file\n${USAGE}`);
  const publicKeys: KeyObject[] = [];
  for (const file of values['public-key'] ?? []) {
    try {
      publicKeys.push(parsePublicKey(await readFile(file, 'utf8')));
    } catch (error) {
      throw new DnswardError(ErrorCodes.USAGE, `--public-key ${file}: not a readable Ed25519 public key (${(error as Error).message}); pass the audit-<instance>.pub.pem you were given`);
    }
  }
  const report: VerifyReport = { ok: true, problems: [], instances: [], notes: [], warnings: [] };
  const dirs: string[] = [];
  for (const path of positionals) {
    let one: VerifyReport;
    try {
      one = await verifyAuditPath(path, { publicKeys });
      if ((await stat(path)).isDirectory()) dirs.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DnswardError(ErrorCodes.USAGE, `audit verify: ${path} does not exist; pass audit.dir or one of its files`);
      throw error;
    }
    report.problems.push(...one.problems);
    report.instances.push(...one.instances);
    report.notes.push(...one.notes);
    report.warnings.push(...one.warnings);
  }
  const fleet = await verifyFleetDirs(dirs, { publicKeys });
  report.problems.push(...fleet.problems);
  report.notes.push(...fleet.notes);
  report.ok = report.problems.length === 0;
  // `audit verify DIR | head`: the reader may go away; the verdict (exit code) stays.
  endQuietlyOnEpipe(process.stdout);
  process.stdout.write(formatReport(report, publicKeys.length > 0) + '\n');
  for (const line of fleetSummary(fleet)) process.stdout.write(`${line}\n`);
  if (!report.ok) {
    const first = report.problems[0];
    if (first) console.error(`${ErrorCodes.AUDIT_CHAIN}: ${formatProblem(first)}`);
    return 1;
  }
  return 0;
}

/** One line per change log and witness log checked. */
function fleetSummary(fleet: FleetVerifyResult): string[] {
  return fleet.chains.map((c) => {
    const bad = fleet.problems.some((p) => p.file === c.file || (p.instance === c.instance && p.file.startsWith(`${c.kind}-`)));
    const what = c.kind === 'changes' ? 'admin change log (copy)' : 'witness log';
    return terminalSafe(`${bad ? 'FAILED' : 'OK'}: ${what} ${c.file}: ${c.records} record(s)${c.records > 0 ? ` (seq 1..${c.lastSeq})` : ''}, ${c.checkpoints} checkpoint(s)${c.lastCheckpointSeq > 0 ? `, last signed seq ${c.lastCheckpointSeq}` : ''}`);
  });
}
