// `dnsward audit verify DIR|FILE [--public-key FILE]...`: exit 0 when the block log is
// intact; otherwise print the first bad record per instance (file:line: seq N: what) and exit 1.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '../audit/keys.ts';
import { endQuietlyOnEpipe } from '../audit/terminal.ts';
import { formatReport, verifyAuditPath } from '../audit/verify.ts';
import { formatProblem } from '../audit/verify-report.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';

export const USAGE = 'usage: dnsward audit verify DIR|FILE [--public-key FILE]... (FILE: audit-<instance>.pub.pem, kept by the auditor)';

export async function auditVerifyCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { 'public-key': { type: 'string', multiple: true } } });
  } catch (error) {
    throw new DnswardError(ErrorCodes.USAGE, `${(error as Error).message}\n${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) throw new DnswardError(ErrorCodes.USAGE, `audit verify needs one directory or file\n${USAGE}`);
  const path = positionals[0] as string;
  const publicKeys: KeyObject[] = [];
  for (const file of values['public-key'] ?? []) {
    try {
      publicKeys.push(parsePublicKey(await readFile(file, 'utf8')));
    } catch (error) {
      throw new DnswardError(ErrorCodes.USAGE, `--public-key ${file}: not a readable Ed25519 public key (${(error as Error).message}); pass the audit-<instance>.pub.pem you were given`);
    }
  }
  let report;
  try {
    report = await verifyAuditPath(path, { publicKeys });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DnswardError(ErrorCodes.USAGE, `audit verify: ${path} does not exist; pass audit.dir or one of its files`);
    throw error;
  }
  // `audit verify DIR | head`: the reader may go away; the verdict (exit code) stays.
  endQuietlyOnEpipe(process.stdout);
  process.stdout.write(formatReport(report, publicKeys.length > 0) + '\n');
  if (!report.ok) {
    const first = report.problems[0];
    if (first) console.error(`${ErrorCodes.AUDIT_CHAIN}: ${formatProblem(first)}`);
    return 1;
  }
  return 0;
}
