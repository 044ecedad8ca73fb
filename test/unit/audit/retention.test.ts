import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointLog } from '../../../src/audit/checkpoint-log.ts';
import { rawPublicKey } from '../../../src/audit/keys.ts';
import { pruneExpired } from '../../../src/audit/retention.ts';
import { KEY, decision, silent, tempDir, writeLog } from './helpers.ts';

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1, 12);

async function setup(days: number): Promise<{ dir: string; cps: CheckpointLog }> {
  const dir = await tempDir();
  await writeLog(dir, days, { now: () => START + days * DAY }, (i) => decision(i, { ts: START + i * DAY }));
  const cps = new CheckpointLog({ dir, instance: 'a', signingKey: KEY, publicKeyRaw: rawPublicKey(KEY), runStarted: 'r', fsync: false, now: () => START + days * DAY });
  return { dir, cps };
}

const eventFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();

describe('pruneExpired', () => {
  it('deletes files dated more than retention_days ago after a signed prune checkpoint naming the last deleted event', async () => {
    const { dir, cps } = await setup(10);
    const removed = await pruneExpired({ dir, instance: 'a', retentionDays: 5, now: START + 10 * DAY, keep: new Set(), checkpoints: cps, dropped: 2, log: silent });
    // now = 11-11: files before 11-06 go.
    expect(removed).toEqual(['audit-a-2026-11-01-000.jsonl', 'audit-a-2026-11-02-000.jsonl', 'audit-a-2026-11-03-000.jsonl', 'audit-a-2026-11-04-000.jsonl', 'audit-a-2026-11-05-000.jsonl']);
    expect((await eventFiles(dir))[0]).toBe('audit-a-2026-11-06-000.jsonl');
    const lines = (await readFile(cps.path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The shutdown checkpoint of seq 10 stays; the prune checkpoint of seq 5 is there.
    expect(lines.map((c) => [c.kind, c.seq])).toEqual([[ 'head', 10 ], [ 'prune', 5 ]]);
    expect(lines[1]).toMatchObject({ reason: 'retention', file: 'audit-a-2026-11-05-000.jsonl', dropped: 2 });
  });

  it('never deletes a file it is told to keep, and does nothing with retention 0 or nothing expired', async () => {
    const { dir, cps } = await setup(4);
    const before = await eventFiles(dir);
    expect(await pruneExpired({ dir, instance: 'a', retentionDays: 0, now: START + 400 * DAY, keep: new Set(), checkpoints: cps, dropped: 0, log: silent })).toEqual([]);
    expect(await pruneExpired({ dir, instance: 'a', retentionDays: 30, now: START + 4 * DAY, keep: new Set(), checkpoints: cps, dropped: 0, log: silent })).toEqual([]);
    const removed = await pruneExpired({ dir, instance: 'a', retentionDays: 1, now: START + 400 * DAY, keep: new Set([before.at(-1)!]), checkpoints: cps, dropped: 0, log: silent });
    expect(removed).toEqual(before.slice(0, -1));
    expect(await eventFiles(dir)).toEqual(before.slice(-1));
  });

  it('deletes expired empty files without a prune checkpoint', async () => {
    const { dir, cps } = await setup(1);
    await writeFile(join(dir, 'audit-a-2026-10-01-000.jsonl'), '');
    const before = await readFile(cps.path, 'utf8');
    expect(await pruneExpired({ dir, instance: 'a', retentionDays: 20, now: START + DAY, keep: new Set(), checkpoints: cps, dropped: 0, log: silent })).toEqual(['audit-a-2026-10-01-000.jsonl']);
    expect(await readFile(cps.path, 'utf8')).toBe(before);
  });
});
