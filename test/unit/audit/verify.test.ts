import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventHash } from '../../../src/audit/event.ts';
import { verifyAuditPath, formatReport } from '../../../src/audit/verify.ts';
import { KEY, tempDir, writeLog } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';
const CPS = 'audit-a.checkpoints.jsonl';

async function readLinesOf(dir: string, name = FILE): Promise<string[]> {
  return (await readFile(join(dir, name), 'utf8')).split('\n').filter((l) => l !== '');
}

async function writeLinesOf(dir: string, lines: string[], name = FILE): Promise<void> {
  await writeFile(join(dir, name), lines.map((l) => l + '\n').join(''));
}

async function intact(n = 10): Promise<string> {
  const dir = await tempDir();
  await writeLog(dir, n);
  return dir;
}

async function firstProblem(path: string): Promise<{ file: string; line: number; seq?: number; message: string }> {
  const report = await verifyAuditPath(path);
  expect(report.ok).toBe(false);
  const p = report.problems[0]!;
  return { file: p.file, line: p.line, seq: p.seq, message: p.message };
}

describe('audit verify', () => {
  it('passes an intact directory and an intact file', async () => {
    const dir = await intact();
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.instances).toEqual([expect.objectContaining({ instance: 'a', files: 1, events: 10, firstSeq: 1, lastSeq: 10, checkpoints: 1, lastCheckpointSeq: 10 })]);
    expect((await verifyAuditPath(join(dir, FILE))).ok).toBe(true);
    expect(formatReport(report, false)).toMatch(/^OK: instance a: 1 file\(s\), 10 good event\(s\) \(seq 1..10\), 1 checkpoint\(s\), last signed seq 10/);
  });

  it('finds an edited record: file:line, seq, and that its content does not match its hash', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    lines[3] = lines[3]!.replace('"action":"blocked"', '"action":"logged"');
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toEqual({ file: FILE, line: 4, seq: 4, message: 'content does not match its hash: the record was edited' });
    expect((await firstProblem(join(dir, FILE))).line).toBe(4);
  });

  it('finds an edited record whose hash was recomputed: the next record no longer chains to it', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    const record = JSON.parse(lines[3]!) as Record<string, unknown>;
    record.client = '10.99.99.99';
    record.hash = eventHash(record);
    lines[3] = JSON.stringify(record);
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toMatchObject({ file: FILE, line: 5, seq: 5, message: expect.stringContaining('prev does not match the hash of seq 4') });
  });

  it('finds a rewritten and fully re-chained log through the signed checkpoint', async () => {
    const dir = await intact();
    const lines = (await readLinesOf(dir)).map((l) => JSON.parse(l) as Record<string, unknown>);
    lines[3]!.qname = 'innocent.example';
    for (let i = 3; i < lines.length; i++) {
      lines[i]!.prev = lines[i - 1]!.hash;
      lines[i]!.hash = eventHash(lines[i]!);
    }
    await writeLinesOf(dir, lines.map((l) => JSON.stringify(l)));
    expect(await firstProblem(dir)).toMatchObject({ file: FILE, line: 10, seq: 10, message: expect.stringContaining(`hash differs from the signed checkpoint ${CPS}:1`) });
  });

  it('finds a deleted record at the line after the gap, naming the missing seq', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    lines.splice(5, 1);
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toEqual({ file: FILE, line: 6, seq: 7, message: 'seq 7 follows seq 5: records 6 are missing (deleted)' });
  });

  it('tells reordered records from deleted ones', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toEqual({ file: FILE, line: 5, seq: 6, message: `seq 6 where seq 5 was expected: records are out of order (seq 5 is at ${FILE}:6)` });
  });

  it('finds a duplicated record', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    lines.splice(3, 0, lines[2]!);
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toMatchObject({ file: FILE, line: 4, seq: 3, message: expect.stringContaining('out of order') });
  });

  it('finds a cut tail (whole records) through the last checkpoint', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    await writeLinesOf(dir, lines.slice(0, 7));
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ file: FILE, line: 8, seq: 8 });
    expect(p.message).toContain('the log ends at seq 7 but checkpoint');
    expect(p.message).toContain('records 8..10 were removed (tail cut)');
    // Verifying only the file finds it too (the checkpoint names the file).
    expect(await firstProblem(join(dir, FILE))).toMatchObject({ line: 8, seq: 8 });
  });

  it('finds a tail cut in the middle of a line', async () => {
    const dir = await intact();
    // 30 bytes into record 10 (the seal lines after it go too).
    const nine = (await readLinesOf(dir)).slice(0, 9).join('\n').length + 1;
    await truncate(join(dir, FILE), nine + 30);
    expect(await firstProblem(dir)).toMatchObject({ file: FILE, line: 10, seq: 10, message: expect.stringContaining('incomplete last line') });
  });

  it('finds a deleted newest file, and a deleted first file', async () => {
    const dir = await tempDir();
    await writeLog(dir, 30, { maxFileBytes: 2000 });
    const files = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
    await rename(join(dir, files.at(-1)!), join(dir, 'moved-away'));
    expect((await firstProblem(dir)).message).toContain('(tail cut)');
    await rename(join(dir, 'moved-away'), join(dir, files.at(-1)!));
    expect((await verifyAuditPath(dir)).ok).toBe(true);
    await unlink(join(dir, files[0]!));
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ file: files[1], line: 1 });
    expect(p.message).toContain('records 1..');
    expect(p.message).toContain('are missing (a file was deleted)');
  });

  it('finds a deleted file in the middle by the gap it leaves', async () => {
    const dir = await tempDir();
    await writeLog(dir, 30, { maxFileBytes: 2000 });
    const files = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
    await unlink(join(dir, files[1]!));
    expect(await firstProblem(dir)).toMatchObject({ file: files[2], line: 1, message: expect.stringContaining('are missing (deleted)') });
  });

  it('fails when the checkpoints are gone (a cut tail could not be detected) or were edited', async () => {
    const dir = await intact();
    const cps = await readFile(join(dir, CPS), 'utf8');
    await writeFile(join(dir, CPS), cps.replace('"seq":10', '"seq":9'));
    expect(await firstProblem(dir)).toMatchObject({ file: CPS, line: 1, message: expect.stringContaining('bad signature') });
    await unlink(join(dir, CPS));
    expect((await firstProblem(dir)).message).toContain('the checkpoints file is missing');
  });

  it('checks signatures against a pinned key when given', async () => {
    const dir = await intact();
    const other = generateKeyPairSync('ed25519').publicKey;
    const wrong = await verifyAuditPath(dir, { publicKeys: [other] });
    expect(wrong.problems[0]?.message).toContain('not signed by the pinned public key');
    const right = await verifyAuditPath(dir, { publicKeys: [KEY] });
    expect(right.ok).toBe(true);
  });

  it('finds a malformed (not JSON) line and a record with a missing field', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    lines[1] = lines[1]!.slice(0, 40);
    await writeLinesOf(dir, lines);
    expect(await firstProblem(dir)).toMatchObject({ line: 2, message: expect.stringContaining('not valid JSON') });
    const dir2 = await intact();
    const lines2 = await readLinesOf(dir2);
    const r = JSON.parse(lines2[2]!) as Record<string, unknown>;
    delete r.list_version;
    lines2[2] = JSON.stringify(r);
    await writeLinesOf(dir2, lines2);
    expect(await firstProblem(dir2)).toMatchObject({ line: 3, seq: 3, message: 'field "list_version" is missing' });
  });

  it('fails on a directory or a file that holds no block log; throws ENOENT for a missing path', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'readme.txt'), 'x');
    expect((await verifyAuditPath(dir)).problems).toEqual([{ instance: '', file: dir, line: 0, message: expect.stringContaining('no block log here') }]);
    await writeFile(join(dir, 'empty.jsonl'), '');
    expect((await verifyAuditPath(join(dir, 'empty.jsonl'))).problems[0]).toMatchObject({ file: 'empty.jsonl', message: 'holds no block-log records (empty, or not a block-log file)' });
    await expect(verifyAuditPath(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('verifies an exported or copied file under another name (chain only)', async () => {
    const dir = await intact();
    const lines = await readLinesOf(dir);
    await writeLinesOf(dir, lines.slice(2, 8), 'copy.jsonl');
    const report = await verifyAuditPath(join(dir, 'copy.jsonl'));
    expect(report.ok).toBe(true);
    expect(report.notes.join()).toContain('starts at seq 3');
  });
});
