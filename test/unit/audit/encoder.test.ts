import { describe, expect, it } from 'vitest';
import { ChainEncoder } from '../../../src/audit/encoder.ts';
import { GENESIS, eventHash } from '../../../src/audit/event.ts';
import { Outbox } from '../../../src/audit/outbox.ts';
import { FileRotation } from '../../../src/audit/rotation.ts';
import type { Decision } from '../../../src/audit/types.ts';
import { decision } from './helpers.ts';

function encodeAll(enc: ChainEncoder, decisions: Decision[], files: FileRotation, o: Outbox): void {
  for (const d of decisions) enc.encode(d, files, o);
}

function lines(o: Outbox): { file: string; record: Record<string, unknown> }[] {
  return o.chunks.flatMap((c) =>
    c.blocks
      .map((b) => b.buf.toString('utf8', 0, b.used))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ file: c.name, record: JSON.parse(l) as Record<string, unknown> })),
  );
}

describe('ChainEncoder', () => {
  it('turns decisions into schema-1 lines chained from the genesis hash', () => {
    const enc = new ChainEncoder('a', (x) => x, { seq: 0, hash: GENESIS });
    const o = new Outbox();
    encodeAll(enc, [decision(0, { qtype: 65 }), decision(1)], new FileRotation('a', 1 << 20), o);
    const out = lines(o).map((l) => l.record);
    expect(out[0]).toMatchObject({ seq: 1, prev: GENESIS, qtype: 'HTTPS', list_version: '2026.11.28.1-3f2a9c1b', ts: '2026-11-28T10:00:00.000Z', instance: 'a' });
    expect(out[1]).toMatchObject({ seq: 2, prev: out[0]!.hash });
    for (const r of out) expect(r.hash).toBe(eventHash(r));
    expect([enc.seq, enc.prev]).toEqual([2, out[1]!.hash]);
    expect(o.chunks[0]).toMatchObject({ count: 2, lastSeq: 2 });
    expect(o.lastHash(o.chunks[0]!)).toBe(out[1]!.hash);
  });

  it('continues an existing chain', () => {
    const enc = new ChainEncoder('a', (x) => x, { seq: 41, hash: 'f'.repeat(64) });
    const o = new Outbox();
    encodeAll(enc, [decision(0)], new FileRotation('a', 1 << 20), o);
    expect(lines(o)[0]!.record).toMatchObject({ seq: 42, prev: 'f'.repeat(64) });
  });

  it('a decision that cannot be encoded leaves no trace: the next line continues the chain from the last good one', () => {
    const enc = new ChainEncoder('a', (x) => {
      if (x === 'bad') throw new Error('pseudonymiser failed');
      return `anon:${x}`;
    }, { seq: 0, hash: GENESIS });
    const o = new Outbox();
    const files = new FileRotation('a', 1 << 20);
    enc.encode(decision(0), files, o);
    const head = [enc.seq, enc.prev];
    expect(() => enc.encode(decision(1, { client: 'bad', pseudonymize: true }), files, o)).toThrow('pseudonymiser failed');
    expect([enc.seq, enc.prev]).toEqual(head);
    enc.encode(decision(2), files, o);
    const out = lines(o).map((l) => l.record);
    expect(out.map((r) => r.seq)).toEqual([1, 2]);
    expect(out[1]!.prev).toBe(out[0]!.hash);
    for (const r of out) expect(r.hash).toBe(eventHash(r));
    expect(o.events).toBe(2);
  });

  it('pseudonymises only flagged decisions', () => {
    const enc = new ChainEncoder('a', (x) => `anon:${x.length}`, { seq: 0, hash: GENESIS });
    const o = new Outbox();
    encodeAll(enc, [decision(0, { client: '10.20.0.7', pseudonymize: true }), decision(1, { client: '10.10.0.5' })], new FileRotation('a', 1 << 20), o);
    expect(lines(o).map((l) => l.record.client)).toEqual(['anon:9', '10.10.0.5']);
  });

  it('sends each line to the file of its UTC date', () => {
    const enc = new ChainEncoder('a', (x) => x, { seq: 0, hash: GENESIS });
    const o = new Outbox();
    encodeAll(enc, [decision(0, { ts: Date.UTC(2026, 10, 28, 23, 59, 59, 999) }), decision(1, { ts: Date.UTC(2026, 10, 29) })], new FileRotation('a', 1 << 20), o);
    expect(lines(o).map((l) => l.file)).toEqual(['audit-a-2026-11-28-000.jsonl', 'audit-a-2026-11-29-000.jsonl']);
  });

  it('escapes what JSON must escape and still hashes the canonical form (long and odd names)', () => {
    const enc = new ChainEncoder('a', (x) => x, { seq: 0, hash: GENESIS });
    const o = new Outbox();
    const qname = '"\\\u0000\u001b'.repeat(3000);
    encodeAll(enc, [decision(0, { qname })], new FileRotation('a', 1 << 30), o);
    const [r] = lines(o);
    expect(r!.record.qname).toBe(qname);
    expect(r!.record.hash).toBe(eventHash(r!.record));
  });
});
