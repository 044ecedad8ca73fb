import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkCheckpointSignature } from '../../../src/audit/checkpoint.ts';
import { CheckpointLog } from '../../../src/audit/checkpoint-log.ts';
import { GENESIS } from '../../../src/audit/event.ts';
import { publicKeyFromRaw, rawPublicKey } from '../../../src/audit/keys.ts';
import { KEY, tempDir } from './helpers.ts';

async function log(dir: string): Promise<CheckpointLog> {
  return new CheckpointLog({ dir, instance: 'a/b', signingKey: KEY, publicKeyRaw: rawPublicKey(KEY), runStarted: '2026-11-28T11:00:00.000Z', fsync: true, now: () => Date.UTC(2026, 10, 28, 12) });
}

const head = (seq: number) => ({ kind: 'head' as const, reason: 'interval' as const, seq, hash: GENESIS, file: 'f', dropped: 0 });

describe('CheckpointLog', () => {
  it('appends signed checkpoints to audit-<instance>.checkpoints.jsonl and reads back the last', async () => {
    const dir = await tempDir();
    const cps = await log(dir);
    expect(cps.path.endsWith('audit-a_b.checkpoints.jsonl')).toBe(true);
    expect(await cps.last()).toBeUndefined();
    await cps.append(head(1));
    await cps.append({ ...head(2), dropped: 3 });
    const last = await cps.last();
    expect(last).toMatchObject({ seq: 2, dropped: 3, instance: 'a/b', ts: '2026-11-28T12:00:00.000Z', run_started: '2026-11-28T11:00:00.000Z' });
    expect(checkCheckpointSignature(last!, publicKeyFromRaw(last!.key))).toBeUndefined();
    expect(cps.appended).toBe(2);
    expect((await readFile(cps.path, 'utf8')).split('\n')).toHaveLength(3);
  });

  it('last() is undefined when the last line is not a checkpoint', async () => {
    const dir = await tempDir();
    const cps = await log(dir);
    await cps.append(head(1));
    await appendFile(cps.path, 'garbage\n');
    expect(await cps.last()).toBeUndefined();
  });

  it('dropThrough() keeps the prune checkpoint of that seq, later ones, and unreadable lines', async () => {
    const dir = await tempDir();
    const cps = await log(dir);
    await cps.append(head(5));
    await cps.append(head(10));
    await cps.append({ ...head(10), kind: 'prune', reason: 'retention' });
    await cps.append(head(12));
    await appendFile(cps.path, 'not json\n');
    await cps.dropThrough(10);
    const lines = (await readFile(cps.path, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (l.startsWith('{') ? `${(JSON.parse(l) as { kind: string }).kind}:${(JSON.parse(l) as { seq: number }).seq}` : l))).toEqual(['prune:10', 'head:12', 'not json']);
    await writeFile(cps.path, '');
    expect(await cps.last()).toBeUndefined();
  });
});
