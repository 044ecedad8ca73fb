// Witnessing: a peer's checkpoint is recorded when its signature holds, at most once per
// interval while the peer moves forward, always when it contradicts what was witnessed.
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../../src/audit/checkpoint.ts';
import { latestCheckpoint, WitnessLog } from '../../../src/fleet/witness.ts';
import { KEY, silent, tempDir, writeLog } from '../audit/helpers.ts';

const PEER_KEY = generateKeyPairSync('ed25519').privateKey;

function cp(seq: number, hash = seq.toString(16).padStart(64, '0'), instance = 'b', key = PEER_KEY) {
  return signCheckpoint({ kind: 'head', reason: 'interval', instance, ts: '2026-12-01T10:00:00.000Z', seq, hash, file: 'f', dropped: 0, run_started: 'r' }, key);
}

describe('WitnessLog', () => {
  it("records peers' checkpoints, not its own, at most once per interval, and reopens where it was", async () => {
    const dir = await tempDir();
    let now = 1_000_000;
    const open = () => WitnessLog.open({ dir, instance: 'a', signingKey: KEY, fsync: false, logger: silent, intervalMs: 60_000, now: () => now });
    const log = await open();
    expect(await log.witness([{ instance: 'a', checkpoint: cp(1, undefined, 'a') }, { instance: 'b', checkpoint: cp(5) }, { instance: 'c', checkpoint: undefined }])).toBe(1);
    expect(await log.witness([{ instance: 'b', checkpoint: cp(5) }])).toBe(0);
    now += 10_000;
    expect(await log.witness([{ instance: 'b', checkpoint: cp(9) }])).toBe(0);
    now += 60_000;
    expect(await log.witness([{ instance: 'b', checkpoint: cp(9) }])).toBe(1);
    expect(log.witnessed()).toEqual({ b: { seq: 9, at: new Date(now).toISOString() } });
    const text = await readFile(join(dir, 'witness-a.jsonl'), 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { peer: string; checkpoint: { seq: number } }).checkpoint.seq)).toEqual([5, 9]);
    const checkpoints = await readFile(join(dir, 'witness-a.checkpoints.jsonl'), 'utf8');
    expect(checkpoints.split('\n').filter(Boolean)).toHaveLength(2);
    const again = await open();
    expect(again.witnessed().b?.seq).toBe(9);
  });

  it('records a contradiction at once and reports it; ignores a checkpoint whose signature fails', async () => {
    const dir = await tempDir();
    const log = await WitnessLog.open({ dir, instance: 'a', signingKey: KEY, fsync: false, logger: silent, intervalMs: 60_000 });
    await log.witness([{ instance: 'b', checkpoint: cp(9) }]);
    const forged = { ...cp(20), seq: 21 };
    expect(await log.witness([{ instance: 'b', checkpoint: forged }])).toBe(0);
    expect(await log.witness([{ instance: 'b', checkpoint: cp(9, 'e'.repeat(64)) }])).toBe(1);
    expect(log.contradictions[0]).toContain('b published seq 9 (eeeeeeeeeeee) after seq 9 (000000000000) was witnessed');
    expect(await log.witness([{ instance: 'b', checkpoint: cp(3) }])).toBe(1);
    expect(log.contradictions).toHaveLength(2);
  });

  it("finds this replica's newest signed head", async () => {
    const dir = await tempDir();
    expect(await latestCheckpoint(dir, 'a')).toBeUndefined();
    await writeLog(dir, 3);
    expect(await latestCheckpoint(dir, 'a')).toMatchObject({ kind: 'head', instance: 'a', seq: 3 });
  });
});
