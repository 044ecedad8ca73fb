import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkCheckpointSignature } from '../../../src/audit/checkpoint.ts';
import { GENESIS, eventHash } from '../../../src/audit/event.ts';
import { publicKeyFromRaw } from '../../../src/audit/keys.ts';
import { ChainFile, chainLine, chainProblem } from '../../../src/fleet/chain-file.ts';
import { KEY, silent, tempDir } from '../audit/helpers.ts';

async function open(dir: string, seen?: (r: Record<string, unknown>) => void): Promise<ChainFile> {
  return ChainFile.open({ dir, kind: 'changes', instance: 'a/1', signingKey: KEY, fsync: false, logger: silent }, seen);
}

describe('ChainFile', () => {
  it('chains records like the block log: canonical JSON, hash last, seq and prev', async () => {
    const { line, hash, record } = chainLine({ b: 'x', a: 1 }, 1, GENESIS);
    expect(line).toBe(`{"a":1,"b":"x","prev":"${GENESIS}","seq":1,"hash":"${hash}"}`);
    expect(eventHash(JSON.parse(line) as Record<string, unknown>)).toBe(hash);
    expect(record).toEqual({ a: 1, b: 'x', seq: 1, prev: GENESIS, hash });
    expect(chainProblem(record, { seq: 0, hash: GENESIS })).toBeUndefined();
    expect(chainProblem({ ...record, b: 'y' }, { seq: 0, hash: GENESIS })).toContain('content does not match its hash');
    expect(chainProblem(record, { seq: 1, hash: hash })).toContain('seq 1 where seq 2 was expected');
    expect(chainProblem(chainLine({}, 2, 'f'.repeat(64)).record, { seq: 1, hash })).toContain('prev does not match the hash of seq 1');
  });

  it('appends, checkpoints with a signature, and reopens where it ended', async () => {
    const dir = await tempDir();
    const file = await open(dir);
    expect(file.path).toMatch(/changes-a_1\.jsonl$/);
    await file.appendNew({ n: 1 });
    const two = await file.appendNew({ n: 2 });
    const cp = await file.checkpoint('interval');
    expect(cp).toMatchObject({ kind: 'head', seq: 2, hash: two.hash, file: 'changes-a_1.jsonl', instance: 'a/1' });
    expect(checkCheckpointSignature(cp as object, publicKeyFromRaw(cp?.key as string))).toBeUndefined();
    expect(await file.checkpoint('interval')).toBeUndefined(); // the head did not move
    const seen: Record<string, unknown>[] = [];
    const again = await open(dir, (r) => seen.push(r));
    expect(again.head).toEqual({ seq: 2, hash: two.hash });
    expect(seen.map((r) => r.n)).toEqual([1, 2]);
    // Records chained elsewhere (the shared log) must continue the head.
    const three = chainLine({ n: 3 }, 3, two.hash).line;
    await expect(again.appendChained([chainLine({ n: 4 }, 4, two.hash).line])).rejects.toThrow('does not continue the chain');
    await again.appendChained([three]);
    expect(again.head.seq).toBe(3);
    expect((await readFile(again.path, 'utf8')).split('\n').at(-2)).toBe(three);
  });

  it('removes an interrupted last line; refuses a damaged record, naming file:line', async () => {
    const dir = await tempDir();
    const file = await open(dir);
    await file.appendNew({ n: 1 });
    await appendFile(file.path, '{"n":2,"pr');
    expect((await open(dir)).head.seq).toBe(1);
    expect(await readFile(file.path, 'utf8')).not.toContain('"n":2');
    await file.appendNew({ n: 2 });
    const text = await readFile(file.path, 'utf8');
    await writeFile(file.path, text.replace('"n":1', '"n":9'));
    await expect(open(dir)).rejects.toThrow(/DNSWARD_ERR_AUDIT_CHAIN|changes-a_1\.jsonl:1: seq 1: content does not match its hash/);
  });
});
