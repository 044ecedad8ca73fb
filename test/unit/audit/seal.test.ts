import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS } from '../../../src/audit/event.ts';
import { rawPublicKey } from '../../../src/audit/keys.ts';
import { MAX_SEALED_EVENTS, type RecoveredTail, SEAL_PREFIX, checkSealSignature, isSeal, judgeTail, sealLine, signSeal, type UnsignedSeal } from '../../../src/audit/seal.ts';
import { KEY } from './helpers.ts';

const body: UnsignedSeal = { reason: 'batch', instance: 'a', run_started: '2026-11-28T11:00:00.000Z', ts: '2026-11-28T12:00:00.000Z', seq: 7, hash: GENESIS, count: 7 };

const tail: RecoveredTail = { after: 'batch', after_run: 'r1', had_checkpoints: true, lines: 3, first_seq: 8, last_seq: 10, chained: true, bad_seals: 0, files: 1, partial_bytes: 0, bytes: 900, moved_to: 'm', sha256: 'x' };

describe('seals', () => {
  it('are signed over every other member and written as one line starting with the seal prefix', () => {
    const seal = signSeal(body, KEY);
    expect(seal).toMatchObject({ type: 'seal', schema: 1, ...body, key: rawPublicKey(KEY) });
    expect(isSeal(seal)).toBe(true);
    expect(checkSealSignature(seal)).toBeUndefined();
    const line = sealLine(seal).toString();
    expect(line.startsWith(SEAL_PREFIX)).toBe(true);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
  });

  it('fail the check when a member changes or under another key; a start seal signs what it set aside', () => {
    const seal = signSeal({ ...body, reason: 'start', count: 0, recovered: tail }, KEY);
    expect(checkSealSignature(seal)).toBeUndefined();
    expect(checkSealSignature({ ...seal, count: 1 })).toMatch(/bad signature/);
    expect(checkSealSignature({ ...seal, recovered: { ...tail, lines: 2 } })).toMatch(/bad signature/);
    expect(checkSealSignature(seal, generateKeyPairSync('ed25519').publicKey)).toMatch(/bad signature/);
    expect(checkSealSignature({ ...seal, key: '!' })).toBe('names a malformed public key');
  });

  it('isSeal() accepts only the seal shape', () => {
    const seal = signSeal(body, KEY);
    expect(isSeal({ ...seal, reason: 'other' })).toBe(false);
    expect(isSeal({ ...seal, count: -1 })).toBe(false);
    expect(isSeal({ ...seal, recovered: { ...tail, lines: 'x' } })).toBe(false);
    expect(isSeal({ ...seal, type: 'checkpoint' })).toBe(false);
  });
});

describe('judgeTail', () => {
  it('accepts what one interrupted write leaves: chained records of one file, after a seal of a run that did not shut down', () => {
    expect(judgeTail(tail)).toEqual({ foreign: false });
    expect(judgeTail({ ...tail, after: 'start' })).toEqual({ foreign: false });
    expect(judgeTail({ ...tail, lines: 0, partial_bytes: 10, chained: false, after: 'shutdown' })).toEqual({ foreign: false });
    expect(judgeTail({ ...tail, lines: MAX_SEALED_EVENTS })).toEqual({ foreign: false });
    // The first write of a new log, cut short: no seal before it, from seq 1, no checkpoint yet.
    expect(judgeTail({ ...tail, after: 'none', after_run: '', had_checkpoints: false, first_seq: 1 })).toEqual({ foreign: false });
  });

  it.each([
    [{ after: 'shutdown' as const }, 'follow the shutdown seal of the run started r1'],
    [{ after: 'none' as const, first_seq: 1 }, 'no signed record precedes them, and the log is not new (it has checkpoints)'],
    [{ after: 'none' as const, had_checkpoints: false }, 'not new (they start at seq 8)'],
    [{ chained: false }, 'do not continue the chain'],
    [{ bad_seals: 1, chained: false }, 'look like seals but do not verify'],
    [{ files: 2 }, 'spread over 2 files'],
    [{ lines: MAX_SEALED_EVENTS + 1 }, 'more than one write holds'],
  ])('calls foreign: %o', (change, why) => {
    const verdict = judgeTail({ ...tail, ...change });
    expect(verdict.foreign).toBe(true);
    expect(verdict.foreign && verdict.why).toContain(why);
  });

  it('calls foreign what follows a run the checkpoints file says ended cleanly', () => {
    expect(judgeTail(tail, new Set(['r1']))).toMatchObject({ foreign: true, why: expect.stringContaining('records a clean shutdown') });
  });
});
