import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointFileName,
  eventFileName,
  fileSafeInstance,
  lastCompleteLine,
  linesBackward,
  listCheckpointInstances,
  listEventFiles,
  parseEventFileName,
  publicKeyFileName,
  readLines,
  unsealedFileName,
} from '../../../src/audit/files.ts';
import { tempDir } from './helpers.ts';

async function collect(path: string, offset = 0, chunk?: number): Promise<{ text: string; number: number; start: number; end: number; complete: boolean }[]> {
  const out = [];
  for await (const l of readLines(path, offset, chunk)) out.push(l);
  return out;
}

describe('block-log file names', () => {
  it('keep letters, digits, ".", "_" and "-" of the instance and replace the rest', () => {
    expect(fileSafeInstance('dns-1.a_b/c d')).toBe('dns-1.a_b_c_d');
    expect(eventFileName('a/b', '2026-11-28', 7)).toBe('audit-a_b-2026-11-28-007.jsonl');
    expect(eventFileName('a', '2026-11-28', 1234)).toBe('audit-a-2026-11-28-1234.jsonl');
    expect(checkpointFileName('a/b')).toBe('audit-a_b.checkpoints.jsonl');
    expect(publicKeyFileName('a')).toBe('audit-a.pub.pem');
    expect(unsealedFileName('a/b', '2026-11-28T12:00:00.123Z')).toBe('audit-a_b.unsealed-20261128T120000123Z.jsonl');
    expect(parseEventFileName(unsealedFileName('a', '2026-11-28T12:00:00.123Z'))).toBeUndefined();
  });

  it('parse back, also for instance names with dashes', () => {
    expect(parseEventFileName('/x/audit-dns-1-2026-11-28-003.jsonl')).toEqual({ path: '/x/audit-dns-1-2026-11-28-003.jsonl', name: 'audit-dns-1-2026-11-28-003.jsonl', instance: 'dns-1', date: '2026-11-28', index: 3 });
    expect(parseEventFileName('audit-a.checkpoints.jsonl')).toBeUndefined();
    expect(parseEventFileName('export.jsonl')).toBeUndefined();
  });

  it('are listed by instance, date and index; a missing directory has none', async () => {
    const dir = await tempDir();
    for (const n of ['audit-b-2026-11-28-000.jsonl', 'audit-a-2026-11-29-000.jsonl', 'audit-a-2026-11-28-010.jsonl', 'audit-a-2026-11-28-002.jsonl', 'audit-a.checkpoints.jsonl', 'audit-c.checkpoints.jsonl', 'other.txt']) {
      await writeFile(join(dir, n), '');
    }
    expect((await listEventFiles(dir)).map((f) => f.name)).toEqual(['audit-a-2026-11-28-002.jsonl', 'audit-a-2026-11-28-010.jsonl', 'audit-a-2026-11-29-000.jsonl', 'audit-b-2026-11-28-000.jsonl']);
    expect((await listEventFiles(dir, 'b')).map((f) => f.name)).toEqual(['audit-b-2026-11-28-000.jsonl']);
    expect(await listCheckpointInstances(dir)).toEqual(['a', 'c']);
    expect(await listEventFiles(join(dir, 'missing'))).toEqual([]);
    expect(await listCheckpointInstances(join(dir, 'missing'))).toEqual([]);
  });
});

describe('readLines', () => {
  it('yields lines with numbers and byte offsets, across chunk boundaries and multi-byte characters, and marks an incomplete last line', async () => {
    const path = join(await tempDir(), 'f');
    await writeFile(path, 'ab\nçé\n\nlast');
    const lines = await collect(path, 0, 3);
    expect(lines).toEqual([
      { text: 'ab', number: 1, start: 0, end: 3, complete: true },
      { text: 'çé', number: 2, start: 3, end: 8, complete: true },
      { text: '', number: 3, start: 8, end: 9, complete: true },
      { text: 'last', number: 4, start: 9, end: 13, complete: false },
    ]);
    expect((await collect(path, 3)).map((l) => [l.text, l.start])).toEqual([['çé', 3], ['', 8], ['last', 9]]);
  });
});

describe('lastCompleteLine', () => {
  it('finds the last complete line and where it ends, reading only the tail', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    await writeFile(path, 'one\ntwo\nthr');
    expect(await lastCompleteLine(path)).toEqual({ text: 'two', completeEnd: 8, size: 11 });
    await writeFile(path, 'one\n');
    expect(await lastCompleteLine(path)).toEqual({ text: 'one', completeEnd: 4, size: 4 });
    await writeFile(path, '');
    expect(await lastCompleteLine(path)).toEqual({ text: undefined, completeEnd: 0, size: 0 });
    await writeFile(path, 'partial');
    expect(await lastCompleteLine(path)).toEqual({ text: undefined, completeEnd: 0, size: 7 });
    await writeFile(path, 'x'.repeat(100) + '\n');
    await expect(lastCompleteLine(path, 50)).rejects.toThrow(/longer than 50 bytes/);
  });
});

describe('linesBackward', () => {
  it('yields the complete lines from the last to the first, with offsets, skipping an incomplete last line, across chunks', async () => {
    const path = join(await tempDir(), 'f');
    await writeFile(path, 'first\nçé\n\nlast\npartial');
    const out: [string, number, number][] = [];
    for await (const l of linesBackward(path, 3)) out.push([l.text, l.start, l.end]);
    expect(out).toEqual([
      ['last', 12, 17],
      ['', 11, 12],
      ['çé', 6, 11],
      ['first', 0, 6],
    ]);
    await writeFile(path, 'no newline at all');
    const none: string[] = [];
    for await (const l of linesBackward(path)) none.push(l.text);
    expect(none).toEqual([]);
  });
});
