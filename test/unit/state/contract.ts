// The behaviour every SharedState implementation must have (memory.ts and redis.ts run it).
import { describe, expect, it } from 'vitest';
import { GENESIS } from '../../../src/audit/event.ts';
import { idBeforeTime } from '../../../src/state/stream-ids.ts';
import type { EventSpan, FleetEvent, SharedState } from '../../../src/state/types.ts';

const line = (seq: number, hash: string, prev: string): string => JSON.stringify({ seq, prev, hash });

/** An event line as the files hold it (a quoted "seq": inside a value is not its seq). */
export const event = (seq: number): string => `{"action":"blocked","qname":"q\\"seq\\":99","seq":${seq},"hash":"h"}`;

/** A span of consecutive events. */
export function span(first: number, last: number): EventSpan {
  const lines: string[] = [];
  for (let seq = first; seq <= last; seq++) lines.push(`${event(seq)}\n`);
  return { first, last, lines: Buffer.from(lines.join('')) };
}
const h = (c: string): string => c.repeat(64);

export function sharedStateContract(name: string, make: () => Promise<SharedState>): void {
  describe(`${name}: the shared-state contract`, () => {
    it('appends to the change log only where it ends (compare and append)', async () => {
      const state = await make();
      expect(await state.changesHead()).toEqual({ seq: 0, hash: GENESIS });
      expect(await state.appendChanges({ seq: 0, hash: GENESIS }, [line(1, h('a'), GENESIS), line(2, h('b'), h('a'))])).toBe(true);
      expect(await state.changesHead()).toEqual({ seq: 2, hash: h('b') });
      // A replica that has not seen seq 2 is told where the log ends, and nothing is written.
      expect(await state.appendChanges({ seq: 1, hash: h('a') }, [line(2, h('c'), h('a'))])).toEqual({ seq: 2, hash: h('b') });
      expect(await state.appendChanges({ seq: 2, hash: h('x') }, [line(3, h('c'), h('x'))])).toEqual({ seq: 2, hash: h('b') });
      expect(await state.changesSince(1)).toEqual([line(2, h('b'), h('a'))]);
      expect(await state.changesSince(2)).toEqual([]);
      await state.close();
    });

    it('delivers published events to subscribers', async () => {
      const state = await make();
      const seen: FleetEvent[] = [];
      const unsubscribe = state.subscribe((e) => {
        if (e.type !== 'resync') seen.push(e);
      });
      // A subscription may take a moment to be in place.
      for (let i = 0; i < 50 && seen.length === 0; i++) {
        await state.publish({ type: 'changes', seq: i, from: 'x' });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(seen[0]).toMatchObject({ type: 'changes', from: 'x' });
      unsubscribe();
      await state.close();
    });

    it('keeps heartbeats by instance', async () => {
      const state = await make();
      await state.putReplica('a', '{"n":1}');
      await state.putReplica('b', '{"n":2}');
      await state.putReplica('a', '{"n":3}');
      expect(await state.replicas()).toEqual({ a: '{"n":3}', b: '{"n":2}' });
      await state.removeReplicas(['a']);
      expect(await state.replicas()).toEqual({ b: '{"n":2}' });
      await state.close();
    });

    it('gives a lease to one holder at a time, until released or expired', async () => {
      const state = await make();
      expect(await state.acquireLease('sources:x', 'a', 10_000)).toBe(true);
      expect(await state.acquireLease('sources:x', 'b', 10_000)).toBe(false);
      expect(await state.acquireLease('sources:x', 'a', 10_000)).toBe(true);
      expect(await state.leaseHolder('sources:x')).toBe('a');
      await state.releaseLease('sources:x', 'b');
      expect(await state.leaseHolder('sources:x')).toBe('a');
      await state.releaseLease('sources:x', 'a');
      expect(await state.leaseHolder('sources:x')).toBeUndefined();
      expect(await state.acquireLease('sources:x', 'b', 100)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await state.acquireLease('sources:x', 'a', 10_000)).toBe(true);
      await state.close();
    });

    it('keeps a shared source copy', async () => {
      const state = await make();
      expect(await state.getSource('p')).toBeUndefined();
      const body = Buffer.from([0, 1, 2, 255, 254]);
      await state.putSource('p', { meta: '{"sha256":"x"}', body });
      expect(await state.sourceMeta('p')).toBe('{"sha256":"x"}');
      expect(await state.getSource('p')).toEqual({ meta: '{"sha256":"x"}', body });
      // Only the meta changes; without a copy nothing is made.
      expect(await state.putSourceMeta('p', '{"sha256":"x","fetchedAt":"now"}')).toBe(true);
      expect(await state.getSource('p')).toEqual({ meta: '{"sha256":"x","fetchedAt":"now"}', body });
      expect(await state.putSourceMeta('q', '{}')).toBe(false);
      expect(await state.sourceMeta('q')).toBeUndefined();
      await state.close();
    });

    it('takes spans of block-log events exactly once and in order per instance', async () => {
      const state = await make();
      expect(await state.shippedSeq('a')).toBeUndefined();
      expect(await state.shipEvents('a', span(1, 3))).toEqual({ ok: true, seq: 3, count: 3 });
      expect(await state.shipEvents('b', span(7, 7))).toEqual({ ok: true, seq: 7, count: 1 });
      // A span sent again (a lost reply), or one that skips ahead, is refused with the position.
      expect(await state.shipEvents('a', span(2, 4))).toEqual({ ok: false, shipped: 3 });
      expect(await state.shipEvents('a', span(5, 5))).toEqual({ ok: false, shipped: 3 });
      expect(await state.shipEvents('a', span(4, 5))).toEqual({ ok: true, seq: 5, count: 2 });
      // A gap is taken only when declared (the events between are gone from the files), and never backwards.
      expect(await state.shipEvents('a', span(5, 6), true)).toEqual({ ok: false, shipped: 5 });
      expect(await state.shipEvents('a', span(9, 10), true)).toEqual({ ok: true, seq: 10, count: 2 });
      expect(await state.shippedSeq('a')).toBe(10);
      const all = await state.readStream('', 100);
      expect(all.map((x) => `${x.instance}:${x.seq}`)).toEqual(['a:1', 'a:2', 'a:3', 'b:7', 'a:4', 'a:5', 'a:9', 'a:10']);
      expect(all[0]?.line).toBe(event(1));
      expect(all[0]?.id).toMatch(/^\d+-\d+\/0$/);
      // Paging from inside an entry and across entries.
      expect((await state.readStream((all[1] as { id: string }).id, 3)).map((x) => `${x.instance}:${x.seq}`).slice(0, 3)).toEqual(['a:3', 'b:7', 'a:4']);
      expect(await state.readStream((all[7] as { id: string }).id, 10)).toEqual([]);
      // From a time: everything that arrived since.
      expect((await state.readStream(idBeforeTime(Date.now() - 60_000), 100)).map((x) => x.seq)).toEqual([1, 2, 3, 7, 4, 5, 9, 10]);
      expect(await state.readStream(idBeforeTime(Date.now() + 60_000), 100)).toEqual([]);
      expect(await state.streamLength()).toBe(8);
      await state.close();
    });
  });
}
