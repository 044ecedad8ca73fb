import { describe, expect, it } from 'vitest';
import { DecisionRingReader, DecisionRingWriter, MAX_RING_BYTES, MIN_RING_BYTES, createDecisionRing, ringBytesFor } from '../../../src/audit/decision-ring.ts';
import type { Decision } from '../../../src/audit/types.ts';
import { decision } from './helpers.ts';

function ring(bytes = 64 * 1024): { writer: DecisionRingWriter; reader: DecisionRingReader; control: Int32Array } {
  const memory = createDecisionRing(bytes);
  return { writer: new DecisionRingWriter(memory), reader: new DecisionRingReader(memory), control: new Int32Array(memory.control) };
}

function takeAll(reader: DecisionRingReader, held = 0): Decision[] {
  const out: Decision[] = [];
  reader.drain((d) => out.push(d), (n) => held + n);
  return out;
}

/** Every field's every value, and strings Latin-1 cannot hold. */
const VARIED: Decision[] = [
  decision(0),
  decision(1, { pseudonymize: true, client: '2001:db8::1', action: 'logged', response: 'answer', transport: 'doh', qtype: 65 }),
  decision(2, { response: 'null', transport: 'tcp', qtype: 65535 }),
  decision(3, { response: 'refused', transport: 'dot', segment: '', rule: '', listVersion: '' }),
  decision(4, { transport: undefined }),
  decision(5, { qname: 'bücher.example', rule: 'cname:ü.example' }),
  decision(6, { qname: '例え.jp', segment: 'gäste', list: 'liste-ß' }),
  decision(7, { qname: 'lone\ud800surrogate.example', client: '10.0.0.1' }),
  decision(8, { qname: 'a\u0000b\u00ff.example', ts: 1.5e12 + 0.25 }),
];

describe('decision ring', () => {
  it('gives back every decision as written, in order, with every field value and any string', () => {
    const { writer, reader } = ring();
    for (const d of VARIED) expect(writer.write(d)).toBe(true);
    expect(writer.waiting).toBe(VARIED.length);
    const taken = takeAll(reader);
    expect(taken).toEqual(VARIED);
    expect(taken[4]).not.toHaveProperty('transport');
    expect(writer.waiting).toBe(0);
    expect(takeAll(reader)).toEqual([]);
  });

  it('wraps at the end of the ring and across the byte counters’ 2^32, losing and reordering nothing', () => {
    const { writer, reader, control } = ring(1024);
    // Both counters just below 2^32: positions wrap within the first few records.
    control[0] = -300;
    control[1] = -300;
    let next = 0;
    const seen: Decision[] = [];
    for (let round = 0; round < 200; round++) {
      const batch = 1 + (round % 5);
      for (let k = 0; k < batch; k++) expect(writer.write(decision(next++, { qname: `n${'x'.repeat(round % 37)}.example` }))).toBe(true);
      seen.push(...takeAll(reader));
    }
    expect(seen.map((d) => d.ts)).toEqual(Array.from({ length: next }, (_, i) => decision(i).ts));
    expect(seen.at(-1)!.qname).toBe(`n${'x'.repeat(199 % 37)}.example`);
    expect(control[0]! >>> 0).toBeLessThan(2 ** 31);
  });

  it('fills to refusal across the wrap while unread records wait, and gives back every one of them', () => {
    const { writer, reader } = ring(4096);
    let next = 0;
    const seen: number[] = [];
    for (let round = 0; round < 60; round++) {
      // Drain only some: the writer then meets unread records at the ring's end and start.
      while (writer.write(decision(next, { qname: `r${next}${'y'.repeat(next % 29)}.example` }))) next++;
      const keep = round % 3;
      const taken: Decision[] = [];
      reader.drain((d) => taken.push(d), (n) => n);
      seen.push(...taken.map((d) => Number(/^r(\d+)/.exec(d.qname)![1])));
      for (let k = 0; k < keep; k++) {
        expect(writer.write(decision(next, { qname: `r${next}.example` }))).toBe(true);
        next++;
      }
    }
    seen.push(...takeAll(reader).map((d) => Number(/^r(\d+)/.exec(d.qname)![1])));
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('refuses a decision it has no room for, writing nothing, and takes them again once drained', () => {
    const { writer, reader } = ring(1024);
    let accepted = 0;
    while (writer.write(decision(accepted))) accepted++;
    expect(accepted).toBeGreaterThan(3);
    expect(writer.waiting).toBe(accepted);
    const taken = takeAll(reader);
    expect(taken.map((d) => d.qname)).toEqual(Array.from({ length: accepted }, (_, i) => `host${i}.tiktok.com`));
    expect(writer.write(decision(999))).toBe(true);
    expect(takeAll(reader).map((d) => d.qname)).toEqual(['host999.tiktok.com']);
    // Larger than the whole ring, with the ring empty: refused, nothing written.
    expect(writer.write({ ...decision(1000), rule: 'x'.repeat(4096) })).toBe(false);
    expect(writer.waiting).toBe(0);
    expect(takeAll(reader)).toEqual([]);
  });

  it('throws on a value outside the Decision type and publishes nothing', () => {
    const { writer, reader } = ring();
    expect(() => writer.write({ ...decision(0), action: 'allowed' as Decision['action'] })).toThrow(/unknown action/);
    expect(() => writer.write({ ...decision(0), transport: 'quic' as Decision['transport'] })).toThrow(/transport/);
    expect(() => writer.write({ ...decision(0), qtype: 65536 })).toThrow(/qtype/);
    expect(() => writer.write({ ...decision(0), qtype: 1.5 })).toThrow(/qtype/);
    // A field that is not a string (an untyped caller): refused, never written over unread records.
    expect(() => writer.write({ ...decision(0), qname: 42 as unknown as string })).toThrow(/not a string/);
    expect(writer.waiting).toBe(0);
    expect(takeAll(reader)).toEqual([]);
  });

  it('says what the consumer holds before the decisions leave the ring, so the producer always counts them', () => {
    const { writer, reader } = ring();
    for (let i = 0; i < 5; i++) writer.write(decision(i));
    let seenDuringUse: { waiting: number; held: number } | undefined;
    let waitingWhenAsked: number | undefined;
    reader.drain(
      () => (seenDuringUse ??= { waiting: writer.waiting, held: writer.held }),
      (n) => {
        // Asked before the decisions leave the ring: they are still counted there.
        waitingWhenAsked = writer.waiting;
        return 10 + n;
      },
    );
    expect(waitingWhenAsked).toBe(5);
    expect(seenDuringUse).toEqual({ waiting: 0, held: 15 });
    reader.setHeld(3);
    expect(writer.held).toBe(3);
    writer.setDropped(2 ** 40);
    expect(reader.dropped).toBe(2 ** 40);
  });

  it('wakes a waiting consumer on the first write after it slept, and at once when something waits', async () => {
    const { writer, reader } = ring();
    let wakes = 0;
    reader.whenWritten(() => wakes++);
    await new Promise((r) => setTimeout(r, 10));
    expect(wakes).toBe(0);
    writer.write(decision(0));
    await new Promise((r) => setTimeout(r, 10));
    expect(wakes).toBe(1);
    // Not drained yet: a consumer that goes back to sleep is told at once.
    reader.whenWritten(() => wakes++);
    expect(wakes).toBe(2);
    takeAll(reader);
    reader.whenWritten(() => wakes++);
    reader.interrupt();
    await new Promise((r) => setTimeout(r, 10));
    expect(wakes).toBe(3);
  });

  it('is woken after every quiet spell, even when a writer acts late on the flag of an earlier sleep', async () => {
    const { writer, reader, control } = ring();
    const woken = (): Promise<boolean> =>
      new Promise((resolve) => {
        // Well under the wait's 1 s cap: a wake that only the cap delivers fails this.
        const timer = setTimeout(() => resolve(false), 200);
        reader.whenWritten(() => (clearTimeout(timer), resolve(true)));
      });
    // The generation near the int32 limit: odd and even must survive the wrap.
    (reader as unknown as { generation: number }).generation = 0x7ffffffd;
    let previous: number | undefined;
    for (let spell = 0; spell < 4; spell++) {
      const wake = woken();
      const now = Atomics.load(control, 2);
      expect(now & 1).toBe(1);
      if (previous !== undefined) {
        // A writer that read the previous sleep's flag and was preempted acts now: the consumer sleeps on.
        writer.wakeConsumer(previous);
        expect(Atomics.load(control, 2)).toBe(now);
      }
      writer.write(decision(spell));
      expect(await wake).toBe(true);
      expect(Atomics.load(control, 2) & 1).toBe(0);
      expect(takeAll(reader).map((d) => d.qname)).toEqual([`host${spell}.tiktok.com`]);
      previous = now;
    }
  });

  it('sizes the ring at 256 bytes a max_buffered decision, within its bounds', () => {
    expect(ringBytesFor(1000)).toBe(256 * 1024);
    expect(ringBytesFor(1)).toBe(MIN_RING_BYTES);
    expect(ringBytesFor(200_000)).toBe(MAX_RING_BYTES);
    expect(() => createDecisionRing(3000)).toThrow(RangeError);
  });
});
