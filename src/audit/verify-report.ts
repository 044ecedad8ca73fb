// The verify report as the CLI prints it: problems first (file:line: seq N: what), then a
// summary per instance, notes and warnings. Everything goes through terminalSafe: file names
// and record members are not ours to trust.
import { keyFingerprint, publicKeyFromRaw } from './keys.ts';
import { terminalSafe } from './terminal.ts';
import type { VerifyProblem, VerifyReport } from './verify-types.ts';

export function formatProblem(p: VerifyProblem): string {
  return terminalSafe(`${p.file}:${p.line}: ${p.seq !== undefined ? `seq ${p.seq}: ` : ''}${p.message}`);
}

export function formatReport(report: VerifyReport, pinned: boolean): string {
  const out: string[] = [];
  for (const p of report.problems) out.push(formatProblem(p) + (p.instance ? ` [instance ${terminalSafe(p.instance)}]` : ''));
  for (const i of report.instances) {
    const bad = report.problems.some((p) => p.instance === i.instance);
    const name = i.instance || '(file)';
    out.push(
      terminalSafe(
        `${bad ? 'FAILED' : 'OK'}: instance ${name}: ${i.files} file(s), ${i.events} good event(s)${i.events > 0 ? ` (seq ${i.firstSeq}..${i.lastSeq})` : ''}, ` +
          `${i.checkpoints} checkpoint(s)${i.lastCheckpointSeq > 0 ? `, last signed seq ${i.lastCheckpointSeq} at ${i.lastCheckpointTs}` : ''}, ${i.seals} seal(s)`,
      ),
    );
    for (const key of i.keys) {
      out.push(terminalSafe(`  signed by Ed25519 key ${key} (${fingerprint(key)})${pinned ? ' (pinned)' : ' (not pinned: pass --public-key FILE to check it is yours)'}`));
    }
  }
  for (const w of report.warnings) out.push(`warning: ${terminalSafe(w)}`);
  for (const n of report.notes) out.push(`note: ${terminalSafe(n)}`);
  return out.join('\n');
}

function fingerprint(raw: string): string {
  try {
    return keyFingerprint(publicKeyFromRaw(raw));
  } catch {
    return 'malformed key';
  }
}
