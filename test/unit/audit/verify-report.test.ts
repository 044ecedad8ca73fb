import { describe, expect, it } from 'vitest';
import { keyFingerprint, rawPublicKey } from '../../../src/audit/keys.ts';
import { formatProblem, formatReport } from '../../../src/audit/verify-report.ts';
import type { VerifyReport } from '../../../src/audit/verify-types.ts';
import { KEY } from './helpers.ts';

const report: VerifyReport = {
  ok: false,
  problems: [{ instance: 'a\u001b[2J', file: 'audit-a\u001b[2J-2026-11-28-000.jsonl', line: 3, seq: 3, message: 'record of instance "\u0007"' }],
  instances: [
    { instance: 'a\u001b[2J', files: 1, events: 2, firstSeq: 1, lastSeq: 2, checkpoints: 1, seals: 2, lastCheckpointSeq: 2, lastCheckpointTs: '2026-11-28T12:00:00.000Z', keys: [rawPublicKey(KEY)] },
    { instance: 'b', files: 1, events: 0, firstSeq: 0, lastSeq: 0, checkpoints: 0, seals: 1, lastCheckpointSeq: 0, keys: [] },
  ],
  notes: ['a note\u009b'],
  warnings: ['a warning\u202e'],
};

describe('formatReport', () => {
  it('prints problems, a line per instance with its keys and their fingerprints, warnings and notes, with every control character escaped', () => {
    expect(formatReport(report, false).split('\n')).toEqual([
      'audit-a\\027[2J-2026-11-28-000.jsonl:3: seq 3: record of instance "\\007" [instance a\\027[2J]',
      'FAILED: instance a\\027[2J: 1 file(s), 2 good event(s) (seq 1..2), 1 checkpoint(s), last signed seq 2 at 2026-11-28T12:00:00.000Z, 2 seal(s)',
      `  signed by Ed25519 key ${rawPublicKey(KEY)} (${keyFingerprint(KEY)}) (not pinned: pass --public-key FILE to check it is yours)`,
      'OK: instance b: 1 file(s), 0 good event(s), 0 checkpoint(s), 1 seal(s)',
      'warning: a warning\\u{202e}',
      'note: a note\\155',
    ]);
    expect(formatReport(report, true)).toContain('(pinned)');
    expect(formatProblem(report.problems[0]!)).toBe('audit-a\\027[2J-2026-11-28-000.jsonl:3: seq 3: record of instance "\\007"');
  });
});
