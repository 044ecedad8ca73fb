import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkCheckpointSignature, isCheckpoint, signCheckpoint, type UnsignedCheckpoint } from '../../../src/audit/checkpoint.ts';
import { GENESIS } from '../../../src/audit/event.ts';
import { publicKeyFromRaw, rawPublicKey } from '../../../src/audit/keys.ts';
import { KEY } from './helpers.ts';

const body: UnsignedCheckpoint = { kind: 'head', reason: 'interval', instance: 'a', ts: '2026-11-28T12:00:00.000Z', seq: 7, hash: GENESIS, file: 'audit-a-2026-11-28-000.jsonl', dropped: 0, run_started: '2026-11-28T11:00:00.000Z' };

describe('checkpoints', () => {
  it('are signed over every other member, naming the raw public key', () => {
    const cp = signCheckpoint(body, KEY);
    expect(cp).toMatchObject({ type: 'checkpoint', schema: 1, ...body, key: rawPublicKey(KEY) });
    expect(isCheckpoint(cp)).toBe(true);
    expect(checkCheckpointSignature(cp, publicKeyFromRaw(cp.key))).toBeUndefined();
  });

  it('fail the check when any member changes, under another key, or without a signature', () => {
    const cp = signCheckpoint(body, KEY);
    for (const edit of [{ seq: 8 }, { hash: 'f'.repeat(64) }, { dropped: 1 }, { extra: 'x' }]) {
      expect(checkCheckpointSignature({ ...cp, ...edit }, publicKeyFromRaw(cp.key))).toMatch(/bad signature/);
    }
    expect(checkCheckpointSignature(cp, generateKeyPairSync('ed25519').publicKey)).toMatch(/bad signature/);
    const { sig: _sig, ...unsigned } = cp;
    expect(checkCheckpointSignature(unsigned, publicKeyFromRaw(cp.key))).toBe('no signature');
    expect(checkCheckpointSignature({ ...cp, sig: '!!' }, publicKeyFromRaw(cp.key))).toBeDefined();
  });

  it('isCheckpoint() accepts only the checkpoint shape', () => {
    const cp = signCheckpoint(body, KEY);
    expect(isCheckpoint(null)).toBe(false);
    expect(isCheckpoint({ ...cp, type: 'event' })).toBe(false);
    expect(isCheckpoint({ ...cp, kind: 'other' })).toBe(false);
    expect(isCheckpoint({ ...cp, seq: 1.5 })).toBe(false);
    expect(isCheckpoint({ ...cp, sig: undefined })).toBe(false);
  });
});
