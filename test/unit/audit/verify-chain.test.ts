// The rules of the chain walk that came with seals: coverage, runs, set-aside tails, time.
import { generateKeyPairSync } from 'node:crypto';
import { appendFile, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventHash } from '../../../src/audit/event.ts';
import { sealLine, signSeal } from '../../../src/audit/seal.ts';
import { verifyAuditPath } from '../../../src/audit/verify.ts';
import { KEY, decision, tempDir, writeLog } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';

async function raw(dir: string): Promise<string[]> {
  return (await readFile(join(dir, FILE), 'utf8')).split('\n').filter((l) => l !== '');
}

async function save(dir: string, lines: string[]): Promise<void> {
  await writeFile(join(dir, FILE), lines.map((l) => l + '\n').join(''));
}

/** Records continuing the chain after the last event, hashes recomputed (what someone without the key can make). */
function forge(lines: string[], n: number): string[] {
  const events = lines.filter((l) => !l.startsWith('{"type"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  let last = events.at(-1)!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r: Record<string, unknown> = { ...last, seq: (last.seq as number) + 1, prev: last.hash, qname: `forged${i}.example` };
    delete r.hash;
    r.hash = eventHash(r);
    out.push(JSON.stringify(r));
    last = r;
  }
  return out;
}

describe('verify: seals', () => {
  it('fails on records appended after the last seal, naming the first (before any restart)', async () => {
    const dir = await tempDir();
    await writeLog(dir, 5);
    await appendFile(join(dir, FILE), forge(await raw(dir), 2).map((l) => l + '\n').join(''));
    const report = await verifyAuditPath(dir);
    expect(report.problems[0]).toMatchObject({ file: FILE, line: 8, seq: 6, message: 'records 6..7 are not covered by a seal (no signed write ends them): they were added, or the file was cut' });
  });

  it('fails when the seal between two writes is removed: the records of the first write are not covered', async () => {
    const dir = await tempDir();
    const writer = await (await import('../../../src/audit/writer.ts')).AuditWriter.open((await import('./helpers.ts')).writerOptions(dir));
    for (let i = 0; i < 3; i++) writer.record(decision(i));
    await writer.flush();
    for (let i = 3; i < 5; i++) writer.record(decision(i));
    await writer.close();
    const lines = await raw(dir);
    // e1 e2 e3 seal(3) e4 e5 seal(2) shutdown: drop the first seal, so e1..e3 are not covered.
    await save(dir, lines.filter((_, i) => i !== 3));
    expect((await verifyAuditPath(dir)).problems[0]).toMatchObject({ line: 1, seq: 1, message: expect.stringContaining('records 1..3 are not covered by a seal: the seal at') });
  });

  it('fails naming the first record under a seal made with another key when the key is pinned, and warns without a pin', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    const lines = await raw(dir);
    const forged = forge(lines, 2);
    const attacker = generateKeyPairSync('ed25519').privateKey;
    const last = JSON.parse(forged.at(-1)!) as { seq: number; hash: string };
    const seal = sealLine(signSeal({ reason: 'batch', instance: 'a', run_started: 'x', ts: '2026-11-28T12:00:00.000Z', seq: last.seq, hash: last.hash, count: 2 }, attacker)).toString();
    await appendFile(join(dir, FILE), forged.map((l) => l + '\n').join('') + seal);
    const pinned = await verifyAuditPath(dir, { publicKeys: [KEY] });
    expect(pinned.problems[0]).toMatchObject({ line: 6, seq: 4, message: expect.stringContaining('is not signed by the pinned public key: records 4..5 are not covered by a trusted signature') });
    const open = await verifyAuditPath(dir);
    expect(open.ok).toBe(true);
    expect(open.warnings.join('\n')).toContain('signed by 2 different keys and none is pinned');
  });

  it('fails when a seal signs another head than the records before it', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    const lines = await raw(dir);
    const events = lines.slice(0, 3).map((l) => JSON.parse(l) as Record<string, unknown>);
    // Re-chain a rewritten record 2 and 3 (hashes recomputed): the seal still signs the old head.
    events[1]!.qname = 'other.example';
    for (let i = 1; i < 3; i++) {
      events[i]!.prev = events[i - 1]!.hash;
      delete events[i]!.hash;
      events[i]!.hash = eventHash(events[i]!);
    }
    await unlink(join(dir, 'audit-a.checkpoints.jsonl'));
    await save(dir, [...events.map((e) => JSON.stringify(e)), ...lines.slice(3)]);
    expect((await verifyAuditPath(dir)).problems[0]).toMatchObject({ line: 4, seq: 3, message: 'the seal signs another hash for seq 3: records up to it were rewritten (and re-chained)' });
  });
});

describe('verify: runs and restarts', () => {
  it('notes a run that ended without a shutdown seal', async () => {
    const dir = await tempDir();
    const lines0 = async (): Promise<string[]> => raw(dir);
    await writeLog(dir, 2, { now: () => Date.UTC(2026, 10, 28, 11) });
    await save(dir, (await lines0()).filter((l) => !l.includes('"reason":"shutdown"')));
    await writeLog(dir, 1);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.notes.join('\n')).toContain('the run started 2026-11-28T11:00:00.000Z ended without a shutdown seal (killed or crashed); its last sealed record is seq 2');
    expect(report.notes.join('\n')).not.toContain('has no shutdown seal');
    await save(dir, (await lines0()).filter((l) => !l.includes('"reason":"shutdown"')));
    expect((await verifyAuditPath(dir)).notes.join('\n')).toContain('the last run (started 2026-11-28T12:00:00.000Z) has no shutdown seal: dnsward is running, or it was killed');
  });

  it('notes the set-aside file when it is gone or changed, and one that no start seal declares', async () => {
    const dir = await tempDir();
    await writeLog(dir, 1);
    await appendFile(join(dir, FILE), 'partial');
    await writeLog(dir, 1);
    const moved = (await readdir(dir)).find((n) => n.includes('.unsealed-'))!;
    await writeFile(join(dir, moved), 'changed');
    await writeFile(join(dir, 'audit-a.unsealed-19700101T000000000Z.jsonl'), 'x');
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    const notes = report.notes.join('\n');
    expect(notes).toContain(`${moved} was changed after the restart that set it aside`);
    expect(notes).toContain('audit-a.unsealed-19700101T000000000Z.jsonl is not declared by any start seal');
    await unlink(join(dir, moved));
    expect((await verifyAuditPath(dir)).notes.join('\n')).toContain(`${moved}, declared by a start seal, is gone`);
  });
});

describe('verify: time', () => {
  it('warns when ts goes back more than 15 s within an instance, not within the tolerance', async () => {
    const dir = await tempDir();
    const T = Date.UTC(2026, 10, 28, 10);
    const times = [T, T + 60_000, T + 50_000, T + 61_000, T + 1_000, T + 2_000];
    await writeLog(dir, times.length, {}, (i) => decision(i, { ts: times[i]! }));
    const report = await verifyAuditPath(dir);
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([
      `instance a: ${FILE}:5: seq 5: ts 2026-11-28T10:00:01.000Z is 60 s before seq 4 (${FILE}:4): the clock went back`,
      'instance a: 2 records in all have a ts more than 15 s before an earlier record\'s',
    ]);
  });
});
