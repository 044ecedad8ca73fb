// What `audit verify` checks in the fleet's files: each change log and witness log on its own,
// the change log copies against each other, witnessed checkpoints against the peer's log.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS } from '../../../src/audit/event.ts';
import { ChainFile, chainLine } from '../../../src/fleet/chain-file.ts';
import { verifyFleetDirs } from '../../../src/fleet/verify-fleet.ts';
import { latestCheckpoint, WitnessLog } from '../../../src/fleet/witness.ts';
import { KEY, silent, tempDir, writeLog } from '../audit/helpers.ts';

const body = (domain: string) => ({ ts: '2026-12-01T00:00:00.000Z', instance: 'a', actor: 'alice', action: 'add', list: 'tiktok', domain, reason: 'r', list_version_before: 'x', list_version_after: 'y' });

async function changeCopy(dir: string, instance: string, domains: string[]): Promise<ChainFile> {
  const file = await ChainFile.open({ dir, kind: 'changes', instance, signingKey: KEY, fsync: false, logger: silent });
  let prev = GENESIS;
  for (const [i, d] of domains.entries()) {
    const { line, hash } = chainLine(body(d), i + 1, prev);
    prev = hash;
    await file.appendChained([line]);
  }
  await file.checkpoint('interval');
  return file;
}

describe('verifyFleetDirs', () => {
  it('passes intact copies that agree', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    await changeCopy(a, 'a', ['one.example', 'two.example']);
    await changeCopy(b, 'b', ['one.example', 'two.example']);
    const report = await verifyFleetDirs([a, b]);
    expect(report.problems).toEqual([]);
    expect(report.notes).toEqual(['the 2 change log copies agree (2 change(s))']);
    expect(report.chains.map((c) => [c.file, c.records, c.checkpoints, c.lastCheckpointSeq])).toEqual([
      ['changes-a.jsonl', 2, 1, 2],
      ['changes-b.jsonl', 2, 1, 2],
    ]);
  });

  it('finds an edited record, a cut tail, a copy that disagrees', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const fa = await changeCopy(a, 'a', ['one.example', 'two.example']);
    await changeCopy(b, 'b', ['one.example', 'other.example']);
    const disagree = await verifyFleetDirs([a, b]);
    expect(disagree.problems).toEqual([expect.objectContaining({ file: 'changes-b.jsonl', seq: 2, message: expect.stringContaining('disagree at seq 2: one of them was rewritten') })]);

    const text = await readFile(fa.path, 'utf8');
    await writeFile(fa.path, text.replace('"reason":"r"', '"reason":"x"'));
    expect((await verifyFleetDirs([a])).problems[0]).toMatchObject({ file: 'changes-a.jsonl', line: 1, seq: 1, message: 'seq 1: content does not match its hash: the record was edited' });
    await writeFile(fa.path, text.split('\n')[0] + '\n');
    expect((await verifyFleetDirs([a])).problems[0]?.message).toBe('the log ends at seq 1 but changes-a.checkpoints.jsonl signed seq 2: records were removed (tail cut)');
    const cps = join(a, 'changes-a.checkpoints.jsonl');
    await writeFile(cps, (await readFile(cps, 'utf8')).replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'A' ? 'B' : 'A'}`));
    expect((await verifyFleetDirs([a])).problems[0]?.message).toMatch(/^checkpoint has a bad signature/);
  });

  it("checks what one replica witnessed against the peer's block log", async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    await writeLog(a, 5, { instance: 'a' });
    const head = await latestCheckpoint(a, 'a');
    const witness = await WitnessLog.open({ dir: b, instance: 'b', signingKey: KEY, fsync: false, logger: silent, intervalMs: 0 });
    await witness.witness([{ instance: 'a', checkpoint: head }]);
    expect((await verifyFleetDirs([a, b])).problems).toEqual([]);
    expect((await verifyFleetDirs([a, b])).notes).toContain('a: 1 witnessed checkpoint(s) match its block log');
    expect((await verifyFleetDirs([b])).notes).toContain('1 witnessed checkpoint(s) of a not cross-checked: its audit.dir is not among those given');

    // a's log rewritten: seq 5 now has another hash (whatever else a's own verify says).
    const path = join(a, 'audit-a-2026-11-28-000.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    const fifth = lines.findIndex((l) => l.includes('"seq":5,') && l.startsWith('{"action"'));
    lines[fifth] = (lines[fifth] as string).replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'1'.repeat(64)}"`);
    await writeFile(path, lines.join('\n'));
    expect((await verifyFleetDirs([a, b])).problems[0]?.message).toMatch(/^a's record seq 5 is not the one b witnessed in its signed checkpoint at .*: a's log was rewritten$/);
  });
});
