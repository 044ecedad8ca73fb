import { generateKeyPairSync } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSignature, loadCheckpoints } from '../../../src/audit/verify-checkpoints.ts';
import { KEY, tempDir, writeLog } from './helpers.ts';

const CPS = 'audit-a.checkpoints.jsonl';

describe('loadCheckpoints', () => {
  it('indexes head and prune checkpoints, their keys, and the runs that shut down cleanly', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    await writeLog(dir, 2, { now: () => Date.UTC(2026, 10, 28, 13) });
    const cps = await loadCheckpoints(join(dir, CPS), 'a', undefined);
    expect(cps).toMatchObject({ exists: true, count: 2, problem: undefined });
    expect([...cps.heads.keys()]).toEqual([3, 5]);
    expect(cps.maxHead?.cp.seq).toBe(5);
    expect([...cps.shutdownRuns]).toEqual(['2026-11-28T12:00:00.000Z', '2026-11-28T13:00:00.000Z']);
    expect(cps.keys.size).toBe(1);
  });

  it('reports the first bad line: not JSON, not a checkpoint, another instance, bad signature, incomplete', async () => {
    const dir = await tempDir();
    await writeLog(dir, 1);
    const good = (await readFile(join(dir, CPS), 'utf8')).trim();
    const cases: [string, string][] = [
      ['{oops\n', 'checkpoint is not valid JSON'],
      ['{"type":"checkpoint"}\n', 'not a checkpoint record'],
      [good.replace('"instance":"a"', '"instance":"b"') + '\n', 'belongs to instance "b"'],
      [good.replace('"seq":1', '"seq":2') + '\n', 'checkpoint has a bad signature'],
      ['{"type":', 'incomplete last checkpoint line'],
    ];
    for (const [line, message] of cases) {
      await writeFile(join(dir, CPS), good + '\n');
      await appendFile(join(dir, CPS), line);
      const cps = await loadCheckpoints(join(dir, CPS), 'a', undefined);
      expect(cps.problem, message).toMatchObject({ file: CPS, line: 2, message: expect.stringContaining(message) });
    }
  });

  it('checks against the pinned keys when given; a missing file is not a problem here', async () => {
    const dir = await tempDir();
    await writeLog(dir, 1);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect((await loadCheckpoints(join(dir, CPS), 'a', [other])).problem?.message).toBe('checkpoint is not signed by the pinned public key');
    expect((await loadCheckpoints(join(dir, CPS), 'a', [other, KEY])).problem).toBeUndefined();
    expect(await loadCheckpoints(join(dir, 'missing.jsonl'), 'a', undefined)).toMatchObject({ exists: false, count: 0 });
    expect(await loadCheckpoints(undefined, 'a', undefined)).toMatchObject({ exists: false, count: 0 });
  });
});

describe('checkSignature', () => {
  it('names a malformed key', () => {
    expect(checkSignature({ key: '!', sig: 'x' }, undefined)).toBe('names a malformed public key');
  });
});
